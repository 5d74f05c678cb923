"""Converters: the numpy interface's reductions (sum/prod/max/min/mean/all/any, argmax/argmin,
std/var, norm).

numpy's ``axis``: None reduces every axis (to a 0-d result, not MXNet's legacy (1,)); ``()``
reduces none. ``dtype`` casts before reducing (``np.mean(int32)`` is float32). ``initial``
(which MXNet 1.9.1 parses but refuses to run) takes numpy's meaning: a starting value folded
into the result.
"""
import numpy as np

from ..attrs import attr_bool, attr_float, attr_int, attr_tuple
from ..registry import converter
from ._emit import Emitter, normalize_axis, unsupported
from ._numpy import is_int

_REDUCE = {  # numpy op -> (ONNX op, how ``initial`` joins the result)
    "_np_sum": ("ReduceSum", "Add"), "_np_prod": ("ReduceProd", "Mul"),
    "_np_max": ("ReduceMax", "Max"), "_np_min": ("ReduceMin", "Min"),
    "_npi_mean": ("ReduceMean", None),
}


def np_axes(node, key="axis"):
    """numpy's axes: None = all (returned as None), ``()`` = none ([])."""
    value = node.attrs.get(key, "None")
    if value in ("None", None):
        return None
    ndim = len(node.in_shapes[0])
    return sorted({normalize_axis(a, ndim) for a in attr_tuple(node.attrs, key)})


def _reduce(e, onnx_op, x, axes, keepdims, out=None):
    if axes == []:
        return e("Identity", [x], out=out)
    return e.reduce(onnx_op, x, axes, keepdims, out=out)


def _compute_dtype(node):
    """ONNX reductions have no bool kernels: bool sums run in int64."""
    dtype = np.dtype(node.out_dtypes[0])
    return np.dtype(np.int64) if dtype == np.bool_ else dtype


def _numpy_reduce(onnx_op, join):
    def convert(node):
        e = Emitter(node)
        dtype = _compute_dtype(node)
        x = node.inputs[0] if np.dtype(node.in_dtypes[0]) == dtype else e.cast(node.inputs[0], dtype)
        keep = attr_bool(node.attrs, "keepdims")
        initial = attr_float(node.attrs, "initial")
        last = dtype == np.dtype(node.out_dtypes[0]) and (initial is None or join is None)
        y = _reduce(e, onnx_op, x, np_axes(node), keep, out=node.outputs[0] if last else None)
        if initial is not None and join is not None:
            y = e(join, [y, e.const(initial, dtype, "initial")],
                  out=node.outputs[0] if dtype == np.dtype(node.out_dtypes[0]) else None)
        if not last and dtype != np.dtype(node.out_dtypes[0]):
            e.cast(y, node.out_dtypes[0], out=node.outputs[0])
        return e.nodes
    convert.__doc__ = f"numpy reduction with {onnx_op}"
    return convert


for _name, (_op, _join) in _REDUCE.items():
    for _opset in (13, 18):
        converter(_name, opset=_opset)(_numpy_reduce(_op, _join))


def _truth(onnx_op):
    """all/any: ReduceMin/ReduceMax of the truth values (as int32: no bool reductions)."""
    def convert(node):
        e = Emitter(node)
        truth = e.cast(e.cast(node.inputs[0], np.bool_), np.int32)
        y = _reduce(e, onnx_op, truth, np_axes(node), attr_bool(node.attrs, "keepdims"))
        e.cast(y, np.bool_, out=node.outputs[0])
        return e.nodes
    return convert


for _opset in (13, 18):
    converter("_np_all", opset=_opset)(_truth("ReduceMin"))
    converter("_np_any", opset=_opset)(_truth("ReduceMax"))


def _arg(onnx_op):
    """argmax/argmin: int64 indices; axis=None searches the flattened array."""
    def convert(node):
        e = Emitter(node)
        x, axis = node.inputs[0], attr_int(node.attrs, "axis")
        keepdims = attr_bool(node.attrs, "keepdims")
        if axis is None:
            index = e(onnx_op, [e("Reshape", [x, e.int64([-1])])], axis=0, keepdims=0)
            y = e.reshape(index, shape=node.out_shapes[0], dims=(None,) * len(node.out_shapes[0]))
        else:
            axis = normalize_axis(axis, len(node.in_shapes[0]))
            y = e(onnx_op, [x], axis=axis, keepdims=int(keepdims))
        e.cast(y, node.out_dtypes[0], out=node.outputs[0])
        return e.nodes
    return convert


converter("_npi_argmax")(_arg("ArgMax"))
converter("_npi_argmin")(_arg("ArgMin"))


def _moment(root):
    """var (std with ``root``): mean squared deviation over ``axis``, divided by N - ddof."""
    def convert(node):
        e = Emitter(node)
        dtype = np.dtype(node.out_dtypes[0])
        x = node.inputs[0] if np.dtype(node.in_dtypes[0]) == dtype else e.cast(node.inputs[0], dtype)
        axes = np_axes(node)
        shape = node.in_shapes[0]
        count = int(np.prod([shape[a] for a in (axes if axes is not None else range(len(shape)))]))
        if node.in_dims and any(d is not None and (axes is None or i in axes)
                                for i, d in enumerate(node.in_dims[0])):
            raise unsupported(node, "a variance over a dynamic axis", "reduce static axes only")
        ddof = attr_int(node.attrs, "ddof", 0)
        centred = e("Sub", [x, _reduce(e, "ReduceMean", x, axes, True)])
        total = _reduce(e, "ReduceSum", e("Mul", [centred, centred]), axes, attr_bool(node.attrs, "keepdims"))
        var = e("Div", [total, e.const(float(count - ddof), dtype, "count")],
                out=None if root else node.outputs[0])
        if root:
            e("Sqrt", [var], out=node.outputs[0])
        return e.nodes
    return convert


for _opset in (13, 18):
    converter("_npi_var", opset=_opset)(_moment(False))
    converter("_npi_std", opset=_opset)(_moment(True))


def _norm(node):
    """MXNet's front end leaves ``_npi_norm`` three kinds (``flag``): -2, all the elements'
    2-norm (ord None); 1, the Frobenius norm over two axes; -1, a vector norm over one axis
    (ord 1, 2 or another p as (sum |x|^p)^(1/p)). Matrix 2-norm and nuclear norm are refused."""
    flag, ord_ = attr_int(node.attrs, "flag", -2), attr_float(node.attrs, "ord", 2.0)
    if flag not in (-2, -1, 1):
        raise unsupported(node, "a matrix 2-norm or nuclear norm (singular values)", "use ord='fro'")
    e = Emitter(node)
    x, axes, keep = node.inputs[0], np_axes(node), attr_bool(node.attrs, "keepdims")
    if flag != -1 or ord_ == 2.0:
        _reduce(e, "ReduceL2", x, axes, keep, out=node.outputs[0])
    elif ord_ == 1.0:
        _reduce(e, "ReduceL1", x, axes, keep, out=node.outputs[0])
    else:
        p = e.const(ord_, hint="ord")
        total = _reduce(e, "ReduceSum", e("Pow", [e("Abs", [x]), p]), axes, keep)
        e("Pow", [total, e("Reciprocal", [p])], out=node.outputs[0])
    return e.nodes


for _opset in (13, 18):
    converter("_npi_norm", opset=_opset)(_norm)
