"""Converters: the numpy interface's creation (zeros/ones/full_like/eye/identity/indices,
window functions, logspace), selection (where and its scalar forms) and linear algebra
(matmul, dot, tensordot, einsum).

Ops without inputs are static: their values are computed here with numpy's own functions
(MXNet follows numpy for them) and stored as constants.
"""
import string

import numpy as np

from ..attrs import attr_bool, attr_float, attr_int, attr_str, attr_tuple
from ..registry import converter
from ._emit import Emitter, normalize_axis, onnx_dtype, unsupported
from .creation import _constant


def _static(make):
    def convert(node):
        return _constant(node, make(node, node.attrs))
    return convert


_CONSTANTS = {
    "_npi_zeros": lambda node, a: np.zeros(node.out_shapes[0]),
    "_npi_ones": lambda node, a: np.ones(node.out_shapes[0]),
    "_npi_eye": lambda node, a: np.eye(*node.out_shapes[0], k=attr_int(a, "k", 0)),
    "_npi_identity": lambda node, a: np.eye(*node.out_shapes[0]),
    "_npi_indices": lambda node, a: np.indices(attr_tuple(a, "dimensions")),
    "_npi_hanning": lambda node, a: np.hanning(attr_int(a, "M")),
    "_npi_hamming": lambda node, a: np.hamming(attr_int(a, "M")),
    "_npi_blackman": lambda node, a: np.blackman(attr_int(a, "M")),
    "_npi_logspace": lambda node, a: np.logspace(
        attr_float(a, "start"), attr_float(a, "stop"), attr_int(a, "num", 50),
        endpoint=attr_bool(a, "endpoint", True), base=attr_float(a, "base", 10.0)),
}
for _name, _make in _CONSTANTS.items():
    converter(_name)(_static(_make))


@converter("_npi_full_like")
def full_like(node):
    e = Emitter(node)
    fill = e.const(attr_float(node.attrs, "fill_value", 0.0), node.out_dtypes[0], "fill")
    e("Expand", [fill, e("Shape", node.inputs[:1])], out=node.outputs[0])
    return e.nodes


def _where(node, cond, x, y):
    e = Emitter(node)
    dtype = node.out_dtypes[0]
    values = []
    for value in (x, y):
        if isinstance(value, float):
            values.append(e.const(value, dtype, "scalar"))
        else:
            name, in_dtype = value
            values.append(name if np.dtype(in_dtype) == np.dtype(dtype) else e.cast(name, dtype))
    e("Where", [e.cast(cond, np.bool_)] + values, out=node.outputs[0])
    return e.nodes


@converter("_npi_where", "_npi_where_lscalar", "_npi_where_rscalar", "_npi_where_scalar2")
def where(node):
    """numpy where: broadcasting, any condition dtype; ``lscalar``: x is the scalar,
    ``rscalar``: y, ``scalar2``: both (attributes ``x``, ``y``)."""
    ins = list(zip(node.inputs, node.in_dtypes))
    if node.op == "_npi_where":
        return _where(node, node.inputs[0], ins[1], ins[2])
    scalar = attr_float(node.attrs, "scalar")
    if node.op == "_npi_where_lscalar":
        return _where(node, node.inputs[0], scalar, ins[1])
    if node.op == "_npi_where_rscalar":
        return _where(node, node.inputs[0], ins[1], scalar)
    return _where(node, node.inputs[0], attr_float(node.attrs, "x"), attr_float(node.attrs, "y"))


def _cast_all(e, node):
    dtype = node.out_dtypes[0]
    return [x if np.dtype(t) == np.dtype(dtype) else e.cast(x, dtype)
            for x, t in zip(node.inputs, node.in_dtypes)]


@converter("_npi_matmul")
def matmul(node):
    e = Emitter(node)
    e("MatMul", _cast_all(e, node), out=node.outputs[0])
    return e.nodes


def _einsum(node, equation):
    e = Emitter(node)
    e("Einsum", _cast_all(e, node), out=node.outputs[0], equation=equation)
    return e.nodes


@converter("_np_dot")
def dot(node):
    """numpy dot: a 0-d operand multiplies; ``b`` of rank <= 2 is matmul; otherwise the last
    axis of ``a`` with the second-to-last of ``b`` (an einsum)."""
    ra, rb = (len(s) for s in node.in_shapes)
    if ra == 0 or rb == 0:
        e = Emitter(node)
        e("Mul", _cast_all(e, node), out=node.outputs[0])
        return e.nodes
    if rb <= 2:
        return matmul(node)
    letters = iter(string.ascii_lowercase)
    a = [next(letters) for _ in range(ra)]
    b = [next(letters) for _ in range(rb)]
    b[-2] = a[-1]
    out = a[:-1] + b[:-2] + b[-1:]
    return _einsum(node, f"{''.join(a)},{''.join(b)}->{''.join(out)}")


def _tensordot_equation(ra, rb, a_axes, b_axes):
    letters = iter(string.ascii_lowercase)
    a = [next(letters) for _ in range(ra)]
    b = [next(letters) for _ in range(rb)]
    for i, j in zip(a_axes, b_axes):
        b[j] = a[i]
    out = [c for i, c in enumerate(a) if i not in a_axes] + [c for j, c in enumerate(b) if j not in b_axes]
    return f"{''.join(a)},{''.join(b)}->{''.join(out)}"


@converter("_npi_tensordot", "_npi_tensordot_int_axes")
def tensordot(node):
    """Sum over ``a_axes_summed``/``b_axes_summed`` (or the last/first ``axes`` axes)."""
    ra, rb = (len(s) for s in node.in_shapes)
    if node.op == "_npi_tensordot_int_axes":
        n = attr_int(node.attrs, "axes", 2)
        a_axes, b_axes = list(range(ra - n, ra)), list(range(n))
    else:
        a_axes = [normalize_axis(a, ra) for a in attr_tuple(node.attrs, "a_axes_summed")]
        b_axes = [normalize_axis(b, rb) for b in attr_tuple(node.attrs, "b_axes_summed")]
    return _einsum(node, _tensordot_equation(ra, rb, a_axes, b_axes))


@converter("_npi_einsum")
def einsum(node):
    """ONNX Einsum takes numpy's subscripts (lower-case letters, ``...``); an implicit output
    (no ``->``) is made explicit as numpy defines it: the letters used once, sorted."""
    subscripts = attr_str(node.attrs, "subscripts").replace(" ", "")
    if "->" not in subscripts:
        letters = [c for c in subscripts if c.isalpha()]
        once = sorted(c for c in set(letters) if letters.count(c) == 1)
        subscripts += "->" + ("..." if "..." in subscripts else "") + "".join(once)
    if any(c.isupper() for c in subscripts):
        raise unsupported(node, "upper-case einsum subscripts", "use lower-case letters")
    return _einsum(node, subscripts)


@converter("_linalg_det")
def det(node):
    e = Emitter(node)
    e("Det", node.inputs[:1], out=node.outputs[0])
    return e.nodes
