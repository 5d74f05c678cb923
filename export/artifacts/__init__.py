"""The compiler's top floor: the verified model folder (``package.export_artifact``) and its
Triton layout (``triton``). Files are written through :mod:`export.files`."""
