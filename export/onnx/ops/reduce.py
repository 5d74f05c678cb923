"""Converters: reductions (sum/mean/max/min/prod/nansum/nanprod/norm), arg-reductions, moments,
cumsum.

ONNX moved the ``axes`` of every Reduce* op from an attribute to an input at opset 18
(ReduceSum already at 13): ``Emitter.reduce`` picks the form from the node's opset, and each
converter is registered at 13 and again at 18 so the support table shows the change.
MXNet returns shape (1,) where a reduction over every axis drops all dimensions.
"""
import numpy as np

from ..attrs import attr_axis_tuple, attr_bool, attr_int
from ..registry import converter
from ._emit import Emitter, normalize_axis, unsupported

_REDUCE = {
    "ReduceSum": ("sum", "sum_axis", "_sparse_sum"),
    "ReduceMean": ("mean", "_sparse_mean"),
    "ReduceMax": ("max", "max_axis"),
    "ReduceMin": ("min", "min_axis"),
    "ReduceProd": ("prod",),
}


def reduce_axes(node, key="axis"):
    """The axes MXNet reduces over (``axis`` with ``exclude``), or None for all of them."""
    ndim = len(node.in_shapes[0])
    axes = attr_axis_tuple(node.attrs, key)
    if axes is None:
        return None
    axes = sorted({normalize_axis(a, ndim) for a in axes})
    if attr_bool(node.attrs, "exclude"):
        axes = [a for a in range(ndim) if a not in axes]
    return axes


def reduce_to(e, onnx_op, x, axes, keepdims, out=None):
    """``onnx_op`` over ``axes`` written to ``out``; a reduction that drops every axis gives
    MXNet's shape (1,) instead of ONNX's 0-D."""
    ndim = len(e.node.in_shapes[0])
    if keepdims or (axes is not None and len(axes) < ndim):
        return e.reduce(onnx_op, x, axes, keepdims, out=out)
    scalar = e.reduce(onnx_op, x, axes, keepdims=False)
    return e("Reshape", [scalar, e.int64([1])], out=out)


def _reduce(onnx_op, fill=None):
    """A converter for one MXNet reduction; ``fill`` replaces NaN first (nansum/nanprod)."""
    def convert(node):
        e = Emitter(node)
        x = node.inputs[0]
        if fill is not None:
            x = e("Where", [e("IsNaN", [x]), e.const(fill, hint="fill"), x])
        reduce_to(e, onnx_op, x, reduce_axes(node), attr_bool(node.attrs, "keepdims"),
                  out=node.outputs[0])
        return e.nodes
    return convert


for _op, _names in _REDUCE.items():
    for _opset in (13, 18):
        converter(*_names, opset=_opset)(_reduce(_op))
for _opset in (13, 18):
    converter("nansum", opset=_opset)(_reduce("ReduceSum", fill=0.0))
    converter("nanprod", opset=_opset)(_reduce("ReduceProd", fill=1.0))


def _norm(node):
    ord_ = attr_int(node.attrs, "ord", 2)
    if ord_ not in (1, 2):
        raise unsupported(node, f"ord={ord_}", "use ord=1 or ord=2")
    e = Emitter(node)
    cast = np.dtype(node.out_dtypes[0]) != np.dtype(node.in_dtypes[0])
    out = None if cast else node.outputs[0]
    value = reduce_to(e, "ReduceL1" if ord_ == 1 else "ReduceL2", node.inputs[0],
                      reduce_axes(node), attr_bool(node.attrs, "keepdims"), out=out)
    if cast:
        e.cast(value, node.out_dtypes[0], out=node.outputs[0])
    return e.nodes


for _opset in (13, 18):
    converter("norm", opset=_opset)(_norm)


def _arg(onnx_op):
    """argmax/argmin: MXNet returns float indices; axis=None searches the flattened array."""
    def convert(node):
        e = Emitter(node)
        x = node.inputs[0]
        axis = attr_int(node.attrs, "axis")
        keepdims = attr_bool(node.attrs, "keepdims")
        if axis is None:
            x, axis, keepdims = e("Reshape", [x, e.int64([-1])]), 0, True
        else:
            axis = normalize_axis(axis, len(node.in_shapes[0]))
        index = e(onnx_op, [x], axis=axis, keepdims=int(keepdims))
        e.cast(index, node.out_dtypes[0], out=node.outputs[0])
        return e.nodes
    return convert


converter("argmax")(_arg("ArgMax"))
converter("argmin")(_arg("ArgMin"))


@converter("argmax_channel")
def argmax_channel(node):
    e = Emitter(node)
    index = e("ArgMax", node.inputs[:1], axis=len(node.in_shapes[0]) - 1, keepdims=0)
    e.cast(index, node.out_dtypes[0], out=node.outputs[0])
    return e.nodes


def _moments(node):
    """mean and variance over ``axes``."""
    e = Emitter(node)
    x = node.inputs[0]
    axes = reduce_axes(node, "axes")
    keepdims = attr_bool(node.attrs, "keepdims")
    mean = e.reduce("ReduceMean", x, axes, keepdims=True, out=node.outputs[0] if keepdims else None)
    if not keepdims:
        reduce_to(e, "ReduceMean", x, axes, False, out=node.outputs[0])
    centred = e("Sub", [x, mean])
    reduce_to(e, "ReduceMean", e("Mul", [centred, centred]), axes, keepdims, out=node.outputs[1])
    return e.nodes


for _opset in (13, 18):
    converter("moments", opset=_opset)(_moments)


@converter("_np_cumsum", "cumsum")
def cumsum(node):
    """Running sum along ``axis`` (of the flattened array when None), in the output dtype."""
    e = Emitter(node)
    x = node.inputs[0]
    if node.attrs.get("axis", "None") == "None":
        x, axis = e("Reshape", [x, e.int64([-1])]), 0
    else:
        axis = normalize_axis(attr_int(node.attrs, "axis"), len(node.in_shapes[0]))
    if np.dtype(node.out_dtypes[0]) != np.dtype(node.in_dtypes[0]):
        x = e.cast(x, node.out_dtypes[0])
    e("CumSum", [x, e.int64(axis, "axis")], out=node.outputs[0])
    return e.nodes
