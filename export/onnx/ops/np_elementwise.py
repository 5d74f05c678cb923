"""Converters: the numpy interface's elementwise ops (``_npi_add``, ``_npi_true_divide_scalar``,
``_npx_relu``, ``_npi_isnan``...), with numpy's dtypes.

Each family is a table of (numpy op, legacy op it computes like, how its dtype is chosen):
``same`` computes in the output dtype (integer scalars are truncated first, as MXNet does:
``int32_array + 1.5`` adds 1), ``float`` computes in float and casts the result back
(``np.exp(int32)`` is int32 in MXNet 1.9.1), ``compare`` computes in the operands' promoted
dtype and returns bool.
"""
import math

import numpy as np

from ..attrs import attr_float, attr_int
from ..registry import converter
from ._emit import Emitter, unsupported
from ._numpy import delegate, float_of, is_int

_BINARY = {
    "_npi_add": ("broadcast_add", "same"), "_npi_subtract": ("broadcast_sub", "same"),
    "_npi_multiply": ("broadcast_mul", "same"), "_npi_true_divide": ("broadcast_div", "same"),
    "_npi_mod": ("broadcast_mod", "same"), "_npi_power": ("broadcast_power", "same"),
    "_npi_hypot": ("broadcast_hypot", "float"),
    "_npi_equal": ("broadcast_equal", "compare"), "_npi_not_equal": ("broadcast_not_equal", "compare"),
    "_npi_greater": ("broadcast_greater", "compare"),
    "_npi_greater_equal": ("broadcast_greater_equal", "compare"),
    "_npi_less": ("broadcast_lesser", "compare"), "_npi_less_equal": ("broadcast_lesser_equal", "compare"),
}
_SCALAR = {
    "_npi_add_scalar": ("_plus_scalar", "same"), "_npi_subtract_scalar": ("_minus_scalar", "same"),
    "_npi_rsubtract_scalar": ("_rminus_scalar", "same"), "_npi_multiply_scalar": ("_mul_scalar", "same"),
    "_npi_true_divide_scalar": ("_div_scalar", "same"), "_npi_rtrue_divide_scalar": ("_rdiv_scalar", "same"),
    "_npi_mod_scalar": ("_mod_scalar", "same"), "_npi_rmod_scalar": ("_rmod_scalar", "same"),
    "_npi_power_scalar": ("_power_scalar", "same"), "_npi_rpower_scalar": ("_rpower_scalar", "same"),
    "_npi_equal_scalar": ("_equal_scalar", "compare"),
    "_npi_not_equal_scalar": ("_not_equal_scalar", "compare"),
    "_npi_greater_scalar": ("_greater_scalar", "compare"),
    "_npi_greater_equal_scalar": ("_greater_equal_scalar", "compare"),
    "_npi_less_scalar": ("_lesser_scalar", "compare"),
    "_npi_less_equal_scalar": ("_lesser_equal_scalar", "compare"),
}
_INT_SAFE = ("abs", "negative", "square", "sign", "relu")  # ONNX computes these on integers
_UNARY = {f"_npi_{n}": n for n in (
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "cbrt", "ceil", "cos", "cosh",
    "degrees", "exp", "expm1", "fix", "floor", "log", "log10", "log1p", "log2", "negative",
    "radians", "reciprocal", "rint", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh", "trunc")}
_UNARY.update({"_npi_absolute": "abs", "_npi_abs": "abs", "_npx_relu": "relu", "_npx_sigmoid": "sigmoid"})


def _dtype(node, kind, legacy=None):
    if kind == "compare":
        return float_of(node.in_dtypes[0]) if len(node.inputs) == 1 else np.result_type(*node.in_dtypes)
    out = node.out_dtypes[0]
    if kind == "float" or (is_int(out) and legacy is not None and legacy not in _INT_SAFE):
        return float_of(out)
    return out


def _numpy_form(legacy, kind):
    def convert(node):
        dtype = _dtype(node, kind, legacy if kind == "unary" else None)
        return delegate(node, legacy, dtype, out_dtype=np.bool_ if kind == "compare" else None)
    convert.__doc__ = f"numpy form of {legacy} ({kind} dtype)"
    return convert


for _table in (_BINARY, _SCALAR):
    for _name, (_legacy, _kind) in _table.items():
        converter(_name)(_numpy_form(_legacy, _kind))
for _name, _legacy in _UNARY.items():
    converter(_name)(_numpy_form(_legacy, "unary"))


@converter("_npi_logical_not")
def logical_not(node):
    return delegate(node, "logical_not", node.in_dtypes[0], out_dtype=np.bool_)


def _computed(node, build, dtype=None):
    """``build(e, *inputs)`` in ``dtype`` (default: the output's float form), cast to the output;
    scalar forms (one input) get the ``scalar`` attribute, ``r*`` forms as the first operand."""
    dtype = np.dtype(dtype or float_of(node.out_dtypes[0]))
    e = Emitter(node)
    xs = [x if np.dtype(t) == dtype else e.cast(x, dtype) for x, t in zip(node.inputs, node.in_dtypes)]
    if "scalar" in node.attrs:
        scalar = e.const(attr_float(node.attrs, "scalar"), dtype, "scalar")
        xs = [scalar, xs[0]] if node.op.startswith("_npi_r") else [xs[0], scalar]
    y = build(e, *xs)
    if np.dtype(node.out_dtypes[0]) == dtype:
        e("Identity", [y], out=node.outputs[0])
    else:
        e.cast(y, node.out_dtypes[0], out=node.outputs[0])
    return e.nodes


def _arctan2(e, y, x):
    """atan(y / x) moved to the quadrant of (x, y); atan2(0, 0) = 0."""
    dtype = float_of(e.node.out_dtypes[0])
    zero, pi = e.const(0.0, dtype, "zero"), e.const(math.pi, dtype, "pi")
    base = e("Atan", [e("Div", [y, x])])
    shift = e("Where", [e("Less", [y, zero]), e("Neg", [pi]), pi])
    base = e("Where", [e("Less", [x, zero]), e("Add", [base, shift]), base])
    both_zero = e("And", [e("Equal", [x, zero]), e("Equal", [y, zero])])
    return e("Where", [both_zero, zero, base])


def _copysign(e, a, b):
    dtype = float_of(e.node.out_dtypes[0])
    negative = e("Less", [b, e.const(0.0, dtype, "zero")])
    magnitude = e("Abs", [a])
    return e("Where", [negative, e("Neg", [magnitude]), magnitude])


def _ldexp(e, a, b):
    dtype = float_of(e.node.out_dtypes[0])
    return e("Mul", [a, e("Pow", [e.const(2.0, dtype, "two"), b])])


for _names, _build in ((("_npi_arctan2", "_npi_arctan2_scalar", "_npi_rarctan2_scalar"), _arctan2),
                       (("_npi_copysign", "_npi_copysign_scalar", "_npi_rcopysign_scalar"), _copysign),
                       (("_npi_ldexp", "_npi_ldexp_scalar", "_npi_rldexp_scalar"), _ldexp)):
    converter(*_names)(lambda node, b=_build: _computed(node, b))


@converter("_npi_around")
def around(node):
    """numpy's round half to even (ONNX Round) at ``decimals`` digits."""
    decimals = attr_int(node.attrs, "decimals", 0)
    if is_int(node.in_dtypes[0]):
        if decimals < 0:
            raise unsupported(node, "rounding integers to negative decimals", "round a float array")
        return _computed(node, lambda e, x: e("Identity", [x]), node.in_dtypes[0])

    def build(e, x):
        if decimals == 0:
            return e("Round", [x])
        scale = e.const(10.0 ** decimals, hint="scale")
        return e("Div", [e("Round", [e("Mul", [x, scale])]), scale])
    return _computed(node, build)


def _inf(positive=1, negative=1):
    return lambda e, x: e("IsInf", [x], detect_positive=positive, detect_negative=negative)


_TESTS = {
    "_npi_isnan": lambda e, x: e("IsNaN", [x]), "_npi_isinf": _inf(),
    "_npi_isposinf": _inf(1, 0), "_npi_isneginf": _inf(0, 1),
    "_npi_isfinite": lambda e, x: e("Not", [e("Or", [e("IsNaN", [x]), _inf()(e, x)])]),
}
for _name, _build in _TESTS.items():
    converter(_name)(lambda node, b=_build: _computed(node, b, float_of(node.in_dtypes[0])))


@converter("_npi_nan_to_num")
def nan_to_num(node):
    """NaN -> ``nan``, +inf -> ``posinf`` (default the dtype's max), -inf -> ``neginf``."""
    dtype = np.dtype(node.out_dtypes[0])
    if is_int(dtype):
        return delegate(node, "identity")
    info = np.finfo(dtype)
    nan, pos, neg = (attr_float(node.attrs, k, d) for k, d in
                     (("nan", 0.0), ("posinf", float(info.max)), ("neginf", float(info.min))))

    def build(e, x):
        x = e("Where", [e("IsNaN", [x]), e.const(nan, dtype, "nan"), x])
        x = e("Where", [_inf(1, 0)(e, x), e.const(pos, dtype, "posinf"), x])
        return e("Where", [_inf(0, 1)(e, x), e.const(neg, dtype, "neginf"), x])
    return _computed(node, build, dtype)


_BITWISE = {"and": ("And", "BitwiseAnd"), "or": ("Or", "BitwiseOr"), "xor": ("Xor", "BitwiseXor")}


def _bitwise(logical, bitwise):
    """bool operands: the logical op; integers: ONNX's Bitwise* (opset 18)."""
    def build(e, a, b):
        dtype = np.dtype(e.node.out_dtypes[0])
        if dtype == np.bool_:
            return e(logical, [a, b])
        if not is_int(dtype) or e.node.opset < 18:
            raise unsupported(e.node, f"bitwise ops on {dtype} at opset {e.node.opset}",
                              "export with opset >= 18 (integer operands)")
        return e(bitwise, [a, b])
    return lambda node: _computed(node, build, node.out_dtypes[0])


for _kind, (_logical, _bit) in _BITWISE.items():
    converter(f"_npi_bitwise_{_kind}", f"_npi_bitwise_{_kind}_scalar")(_bitwise(_logical, _bit))


@converter("_npi_bitwise_not")
def bitwise_not(node):
    dtype = np.dtype(node.out_dtypes[0])
    if dtype != np.bool_ and node.opset < 18:
        raise unsupported(node, f"bitwise_not on {dtype} at opset {node.opset}", "export with opset >= 18")
    return _computed(node, lambda e, x: e("Not" if dtype == np.bool_ else "BitwiseNot", [x]), dtype)
