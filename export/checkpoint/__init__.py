"""Your own MXNet checkpoint -> a verified artifact folder: :func:`export_checkpoint`.

``CheckpointInput`` describes one input (name, shape, dtype, value range, dynamic axes); ``parse_input``
reads the ``NAME:SHAPE[:DTYPE]`` text of ``--input``. Modules: ``specs`` (the input data type),
``graph`` (what a symbol says about its inputs), ``model`` (a checkpoint as the artifact code takes
it), ``api`` (the entry point).
"""
from .api import export_checkpoint, load_checkpoint
from .specs import CheckpointInput, parse_input

__all__ = ["CheckpointInput", "export_checkpoint", "load_checkpoint", "parse_input"]
