"""Converter registry: one small function per MXNet op, keyed by op name and minimum opset.

A converter has the signature ``convert(node: OpNode) -> list[onnx.NodeProto]`` and is
registered with ``@converter("Convolution", opset=13)``. Registering the same op again with a
higher ``opset`` adds the version used from that opset on (tf2onnx's ``version_13`` idea), so
one op's evolution across opsets sits in one place.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Tuple

import numpy as np

MIN_OPSET = 13

_CONVERTERS: Dict[str, Dict[int, Callable]] = {}


def converter(*op_names, opset=MIN_OPSET):
    """Register the decorated function for each MXNet op name, from ``opset`` on."""
    def wrap(fn):
        for op in op_names:
            _CONVERTERS.setdefault(op, {})[opset] = fn
        return fn
    return wrap


def alias(name, target):
    """Register ``name`` as another name of ``target``: both share one table of converters
    (a version registered for either later applies to both)."""
    _CONVERTERS[name] = _CONVERTERS[target]


def lookup(op, opset):
    """The converter for ``op`` at ``opset``, or None."""
    versions = _CONVERTERS.get(op, {})
    usable = [v for v in versions if v <= opset]
    return versions[max(usable)] if usable else None


def supported_ops():
    """``{op name: sorted list of opsets where its converter changes}``."""
    return {op: sorted(v) for op, v in sorted(_CONVERTERS.items())}


@dataclass
class OpNode:
    """Everything a converter may read about one MXNet node, plus the graph it emits into.

    ``inputs``/``outputs`` are ONNX value names (outputs already chosen by the graph builder;
    the converter must produce exactly these). Shapes and dtypes come from one
    ``infer_shape``/``infer_type`` pass at the export shapes.

    Dynamic axes: ``in_dims[i]`` / ``out_dims[i]`` hold, per axis of input/output ``i``, None
    for a static axis or the :class:`~export.onnx.dims.SymDim` its run-time size follows (a
    named dim such as ``batch``, ``seq`` or an image ``height``; a product of dims; or some
    other function of them). A converter must not bake the export size of a dynamic axis into
    a constant: read it at run time (``Shape``) or use ``Emitter.reshape`` /
    ``Emitter.shape_tensor`` / ``Emitter.dim_size``, which build shapes from these dims.
    ``in_dynamic_axes[i]`` / ``out_dynamic_axes[i]`` list the dynamic axes (``in_batch_axes`` /
    ``out_batch_axes`` are their former names).
    """

    name: str
    op: str
    attrs: Dict[str, str]
    inputs: List[str]
    outputs: List[str]
    in_shapes: List[Tuple[int, ...]]
    in_dtypes: List[np.dtype]
    out_shapes: List[Tuple[int, ...]]
    out_dtypes: List[np.dtype]
    opset: int
    graph: "object"  # export.onnx.graph.GraphBuilder
    in_dims: List[tuple] = field(default_factory=list)
    out_dims: List[tuple] = field(default_factory=list)

    @property
    def in_dynamic_axes(self):
        return [_dynamic(d) for d in self.in_dims]

    @property
    def out_dynamic_axes(self):
        return [_dynamic(d) for d in self.out_dims]

    in_batch_axes = in_dynamic_axes
    out_batch_axes = out_dynamic_axes


def _dynamic(dims):
    return tuple(i for i, d in enumerate(dims) if d is not None)
