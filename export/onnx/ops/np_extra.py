"""Converters: the numpy interface's remaining numeric routines with a static-shape ONNX form:
``average``, ``percentile``, ``polyval``, ``ediff1d``, ``diag_indices_from``, and the diagonal
family (``diagonal``, ``trace``, ``diag``, ``diagflat``: gathers at static flat indices).
"""
import numpy as np

from ..attrs import attr_bool, attr_float, attr_int, attr_str
from ..registry import converter
from ._emit import Emitter, normalize_axis, unsupported
from .creation import _constant
from .np_reduce import np_axes
from .np_shape import _to_output
from .shape import INT64_MAX, _slice


@converter("_npi_diag_indices_from")
def diag_indices_from(node):
    shape = node.in_shapes[0]
    return _constant(node, np.stack(np.diag_indices(shape[0], len(shape))))


@converter("_npi_polyval")
def polyval(node):
    """Horner's rule over the (static) coefficients ``p``: ((p0 x + p1) x + p2) ..."""
    e = Emitter(node)
    p, x = node.inputs
    count = node.in_shapes[0][0]
    coef = lambda i: e("Gather", [p, e.int64(i, "index")], axis=0)  # noqa: E731 (0-d)
    y = coef(0)
    for i in range(1, count):
        y = e("Add", [e("Mul", [y, x]), coef(i)])
    if count == 1:  # a constant polynomial: the coefficient at every x
        y = e("Expand", [y, e("Shape", [x])])
    e("Identity", [y], out=node.outputs[0])
    return e.nodes


@converter("_npi_ediff1d")
def ediff1d(node):
    """Differences of the flattened input, with ``to_begin``/``to_end`` (inputs or scalars)."""
    e = Emitter(node)
    flat = e("Reshape", [node.inputs[0], e.int64([-1])])
    parts = [e("Sub", [_slice(e, flat, [1], [INT64_MAX], [0], [1], None),
                       _slice(e, flat, [0], [-1], [0], [1], None)])]
    extra = iter(node.inputs[1:])
    for key, front in (("to_begin", True), ("to_end", False)):
        if attr_bool(node.attrs, f"{key}_arr_given"):
            part = e("Reshape", [next(extra), e.int64([-1])])
        elif attr_float(node.attrs, f"{key}_scalar") is not None:
            part = e.const([attr_float(node.attrs, f"{key}_scalar")], hint=key)
        else:
            continue
        parts.insert(0, part) if front else parts.append(part)
    e("Concat", parts, out=node.outputs[0], axis=0)
    return e.nodes


@converter("_npi_average")
def average(node):
    """sum(a * w) / sum(w) over ``axis`` (w 1-D along the axis, or a's shape); unweighted:
    the mean. With ``returned``, the second output is the sum of weights."""
    e = Emitter(node)
    a, axes = node.inputs[0], np_axes(node)
    shape = node.in_shapes[0]
    if len(node.inputs) == 1:
        avg = e.reduce("ReduceMean", a, axes, keepdims=False, out=node.outputs[0])
        count = float(np.prod([shape[i] for i in (axes if axes is not None else range(len(shape)))]))
        weight_sum = e("Expand", [e.const(count, hint="count"), e("Shape", [avg])])
    else:
        w = node.inputs[1]
        if len(node.in_shapes[1]) == 1 and len(shape) > 1:
            w = e("Reshape", [w, e.int64([-1 if i == axes[0] else 1 for i in range(len(shape))])])
        weight_sum = e.reduce("ReduceSum", e("Expand", [w, e("Shape", [a])]), axes, keepdims=False)
        total = e.reduce("ReduceSum", e("Mul", [a, w]), axes, keepdims=False)
        e("Div", [total, weight_sum], out=node.outputs[0])
    if len(node.outputs) > 1:
        e("Identity", [weight_sum], out=node.outputs[1])
    return e.nodes


_PICK = {"lower": "floor", "higher": "ceil", "nearest": "round", "midpoint": "mid", "linear": "linear"}


@converter("_npi_percentile")
def percentile(node):
    """The ``q_scalar``-th percentile along ``axis`` (flattened when None): the sorted values
    (TopK, ascending) at the static position q/100 (n - 1), interpolated as asked."""
    if len(node.inputs) > 1:
        raise unsupported(node, "q given as an array", "pass q as a Python number")
    how = _PICK.get(attr_str(node.attrs, "interpolation", "linear"))
    e = Emitter(node)
    x, axis = node.inputs[0], attr_int(node.attrs, "axis")
    if axis is None:
        x, axis, n = e("Reshape", [x, e.int64([-1])]), 0, int(np.prod(node.in_shapes[0]))
    else:
        axis = normalize_axis(axis, len(node.in_shapes[0]))
        n = node.in_shapes[0][axis]
    values = e.multi("TopK", [x, e.int64([n], "k")], [node.graph.unique(f"{node.name}_sorted"),
                                                     node.graph.unique(f"{node.name}_order")],
                     axis=axis, largest=0, sorted=1)[0]
    pos = attr_float(node.attrs, "q_scalar") / 100.0 * (n - 1)
    lo, hi = int(np.floor(pos)), int(np.ceil(pos))
    pick = lambda i: e("Gather", [values, e.int64(i, "index")], axis=axis)  # noqa: E731
    if how in ("floor", "ceil", "round"):
        index = {"floor": lo, "ceil": hi, "round": int(np.round(pos))}[how]
        y = pick(index)
    else:
        frac = 0.5 if how == "mid" else pos - lo
        low = pick(lo)
        y = e("Add", [low, e("Mul", [e("Sub", [pick(hi), low]), e.const(frac, hint="frac")])])
    if attr_bool(node.attrs, "keepdims"):
        dims = node.out_dims[0] if node.out_dims else None
        e.reshape(y, out=node.outputs[0], shape=node.out_shapes[0], dims=dims)
    else:
        e("Identity", [y], out=node.outputs[0])
    return e.nodes


def _diagonal_index(shape, offset, axis1, axis2):
    """Flat indices (into ``shape`` with axis1, axis2 moved last) of the diagonal: (..., k)."""
    rows, cols = shape[axis1], shape[axis2]
    start_r, start_c = max(-offset, 0), max(offset, 0)
    count = max(0, min(rows - start_r, cols - start_c))
    return (start_r + np.arange(count)) * cols + start_c + np.arange(count)


def _diagonal(e, node, x, offset, axis1, axis2):
    shape = node.in_shapes[0]
    ndim = len(shape)
    axis1, axis2 = normalize_axis(axis1, ndim), normalize_axis(axis2, ndim)
    rest = [a for a in range(ndim) if a not in (axis1, axis2)]
    moved = e("Transpose", [x], perm=rest + [axis1, axis2])
    flat = e("Reshape", [moved, e.int64([0] * len(rest) + [-1])])
    index = _diagonal_index(shape, offset, axis1, axis2)
    return e("Gather", [flat, e.int64(index, "diagonal")], axis=len(rest))


@converter("_np_diagonal")
def diagonal(node):
    e = Emitter(node)
    attrs = node.attrs
    _to_output(e, node, _diagonal(e, node, node.inputs[0], attr_int(attrs, "offset", 0),
                                  attr_int(attrs, "axis1", 0), attr_int(attrs, "axis2", 1)))
    return e.nodes


@converter("_np_trace")
def trace(node):
    e = Emitter(node)
    attrs = node.attrs
    d = _diagonal(e, node, node.inputs[0], attr_int(attrs, "offset", 0),
                  attr_int(attrs, "axis1", 0), attr_int(attrs, "axis2", 1))
    e.reduce("ReduceSum", d, [len(node.in_shapes[0]) - 2], keepdims=False, out=node.outputs[0])
    return e.nodes


@converter("_np_diag", "_np_diagflat")
def diag(node):
    """A 1-D input (flattened, for diagflat) onto diagonal ``k`` of a square matrix; a 2-D
    input to ``diag``: its diagonal ``k``."""
    k = attr_int(node.attrs, "k", 0)
    e = Emitter(node)
    if len(node.in_shapes[0]) == 2 and node.op == "_np_diag":
        e("Identity", [_diagonal(e, node, node.inputs[0], k, 0, 1)], out=node.outputs[0])
        return e.nodes
    n = int(np.prod(node.in_shapes[0]))
    size = n + abs(k)
    index = np.full(size * size, n, np.int64)  # n: the appended zero
    index[_diagonal_index((size, size), k, 0, 1)] = np.arange(n)
    flat = e("Concat", [e("Reshape", [node.inputs[0], e.int64([-1])]), e.const([0], hint="zero")], axis=0)
    values = e("Gather", [flat, e.int64(index, "diag")], axis=0)
    e("Reshape", [values, e.int64([size, size])], out=node.outputs[0])
    return e.nodes
