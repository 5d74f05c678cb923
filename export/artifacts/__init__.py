"""Writing deployable artifacts: the model folder (``package``), its ``manifest``, the Triton
layout (``triton``), staged and atomic writes (``staging``, ``io``) and library ``versions``."""
