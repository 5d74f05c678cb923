"""Turn what the user hands us (a HybridBlock, a symbol prefix on disk, or a ``(Symbol, params)``
pair) into one complete ``Source``: the symbol, its params as numpy arrays, its run-time inputs
(names, shapes, dtypes), the dynamic axes asked for and the metadata it implies.

Zoo models are recognised by duck typing (``net.zoo_name``/``net.zoo_config``), never by import.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import numpy as np
from mxnet.gluon import HybridBlock

from . import blocks
from .block_inputs import block_defaults
from .errors import InvalidInputError
from .inputs import InputSpec, resolve_inputs
from .metadata import model_metadata
from .model_files import read_source


@dataclass
class Source:
    """Everything an export needs, resolved once by :func:`resolve`; nothing after it re-derives
    names, shapes, dtypes or dynamic axes."""
    symbol: Any
    params: Dict[str, np.ndarray]
    name: Optional[str] = None
    config: Any = None                       # a zoo ModelConfig (duck-typed) or None
    files: Dict[str, str] = field(default_factory=dict)  # role -> path it was read from
    manifest: Optional[dict] = None          # the manifest beside a prefix, when it describes it
    inputs: Optional[InputSpec] = None       # run-time inputs: names, shapes, dtypes
    dynamic_axes: Optional[dict] = None      # torch.onnx-style axes asked for (None: dynamic_batch decides)
    metadata: Dict[str, Any] = field(default_factory=dict)  # the ONNX metadata_props it implies


def resolve(source, input_shape=None, input_dtype=None, epoch=None, seed=0, dynamic_batch=True,
            dynamic_axes=None, opset=None):
    """``source`` -> a complete :class:`Source` (see ``export_onnx`` for the arguments): a block is
    prepared and traced once with its zoo config's defaults; files are read; then the run-time
    inputs are resolved (:func:`export.inputs.resolve_inputs`) and the metadata composed."""
    if isinstance(source, HybridBlock):
        input_shape, input_dtype, dynamic_axes = block_defaults(source, input_shape, input_dtype,
                                                                dynamic_batch, dynamic_axes)
        if not input_shape:
            raise InvalidInputError("input_shape is required for a HybridBlock without a zoo_config, "
                                    "e.g. input_shape=(1, 3, 224, 224) (batch axis included)")
        sym, params = blocks.trace(source, list(input_shape.values()), list(input_dtype.values()), seed=seed)
        src = Source(sym, params, getattr(source, "zoo_name", None), getattr(source, "zoo_config", None))
    else:
        sym, params, files, manifest = read_source(source, epoch)
        src = Source(sym, params, files=files, manifest=manifest)
    if input_shape is None and src.manifest:  # a prefix exported by export_symbol: its manifest
        input_shape = [tuple(d or 1 for d in i["shape"]) for i in src.manifest.get("inputs", [])]
    if input_shape is None:
        raise InvalidInputError("input_shape is required (batch axis included), e.g. (1, 3, 224, 224)")
    src.inputs = resolve_inputs(src.symbol, src.params, input_shape, np.float32 if input_dtype is None else input_dtype,
                                forward_order=True)
    src.dynamic_axes = dynamic_axes
    src.metadata = model_metadata(src, src.inputs.shapes, opset)
    return src
