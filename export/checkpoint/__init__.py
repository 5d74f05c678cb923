"""Your own MXNet checkpoint as one :class:`~.model.Checkpoint`, which ``export.export_checkpoint``
(``export/artifacts/checkpoint.py``) makes a verified artifact folder of.

``CheckpointInput`` describes one input (name, shape, dtype, value range, dynamic axes);
``parse_input`` reads the ``NAME:SHAPE[:DTYPE]`` text of ``--input``. Modules: ``specs`` (the input
data type), ``graph`` (what a symbol says about its inputs), ``model`` (a checkpoint as the
artifact code takes it), ``load`` (files, a Symbol or a Gluon net -> a Checkpoint).
"""
from .load import load_checkpoint
from .specs import CheckpointInput, parse_input

__all__ = ["CheckpointInput", "load_checkpoint", "parse_input"]
