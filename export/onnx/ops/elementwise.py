"""Converters: elementwise, broadcast and scalar arithmetic, comparisons, logical ops, unary
math, Cast and clip.

MXNet's ``broadcast_*`` ops broadcast like numpy between equal-rank inputs, which ONNX's
multidirectional broadcasting covers. Comparisons and logical ops return the input dtype
(1/0) in MXNet, so their boolean ONNX result is cast back.
"""
import math

import numpy as np

from ..attrs import attr_float
from ..registry import converter
from ._emit import Emitter

def _arith(onnx_op):
    return lambda e, node, a, b: e(onnx_op, [a, b], out=node.outputs[0])


def _compare(onnx_op):
    """Boolean ONNX comparison, cast to MXNet's output dtype."""
    def build(e, node, a, b):
        result = e("Not", [e("Equal", [a, b])]) if onnx_op == "NotEqual" else e(onnx_op, [a, b])
        e.cast(result, node.out_dtypes[0], out=node.outputs[0])
    return build


def _logical(onnx_op):
    """MXNet's logical ops treat any non-zero as true and return the input dtype."""
    def build(e, node, a, b):
        result = e(onnx_op, [e.cast(a, np.bool_), e.cast(b, np.bool_)])
        e.cast(result, node.out_dtypes[0], out=node.outputs[0])
    return build


def _python_mod(e, node, a, b):
    """MXNet's mod: the sign follows the divisor (Python's %), and x mod 0 = 0."""
    zero = e.const(0.0, hint="zero")
    if np.issubdtype(np.dtype(node.in_dtypes[0]), np.integer):
        rem = e("Mod", [a, b], fmod=0)  # ONNX integer Mod is already Python-style
    else:
        r = e("Mod", [a, b], fmod=1)  # C fmod: sign of the dividend
        wrong_sign = e("And", [e("Not", [e("Equal", [r, zero])]),
                               e("Xor", [e("Less", [r, zero]), e("Less", [b, zero])])])
        rem = e("Where", [wrong_sign, e("Add", [r, b]), r])
    e("Where", [e("Equal", [b, zero]), zero, rem], out=node.outputs[0])


def _hypot(e, node, a, b):
    e("Sqrt", [e("Add", [e("Mul", [a, a]), e("Mul", [b, b])])], out=node.outputs[0])


# build(e, node, a, b) -> (tensor-tensor names, tensor-scalar names, scalar-tensor names)
_FAMILIES = [
    (_arith("Add"), ("elemwise_add", "_plus", "_Plus", "_add", "_grad_add", "broadcast_add",
                     "broadcast_plus"), ("_plus_scalar", "_PlusScalar"), ()),
    (_arith("Sub"), ("elemwise_sub", "_minus", "_Minus", "_sub", "broadcast_sub", "broadcast_minus"),
     ("_minus_scalar", "_MinusScalar"), ("_rminus_scalar", "_RMinusScalar")),
    (_arith("Mul"), ("elemwise_mul", "_mul", "_Mul", "broadcast_mul"), ("_mul_scalar", "_MulScalar"), ()),
    (_arith("Div"), ("elemwise_div", "_div", "_Div", "broadcast_div"), ("_div_scalar", "_DivScalar"),
     ("_rdiv_scalar", "_RDivScalar")),
    (_arith("Pow"), ("_power", "_Power", "broadcast_power"), ("_power_scalar", "_PowerScalar"),
     ("_rpower_scalar", "_RPowerScalar")),
    (_arith("Max"), ("_maximum", "_Maximum", "broadcast_maximum"),
     ("_maximum_scalar", "_MaximumScalar"), ()),
    (_arith("Min"), ("_minimum", "_Minimum", "broadcast_minimum"),
     ("_minimum_scalar", "_MinimumScalar"), ()),
    (_python_mod, ("_mod", "_Mod", "broadcast_mod"), ("_mod_scalar", "_ModScalar"),
     ("_rmod_scalar", "_RModScalar")),
    (_hypot, ("_hypot", "_Hypot", "broadcast_hypot"), ("_hypot_scalar", "_HypotScalar"), ()),
    (_compare("Equal"), ("_equal", "_Equal", "broadcast_equal"), ("_equal_scalar", "_EqualScalar"), ()),
    (_compare("NotEqual"), ("_not_equal", "_Not_Equal", "broadcast_not_equal"),
     ("_not_equal_scalar", "_NotEqualScalar"), ()),
    (_compare("Greater"), ("_greater", "_Greater", "broadcast_greater"),
     ("_greater_scalar", "_GreaterScalar"), ()),
    (_compare("GreaterOrEqual"), ("_greater_equal", "_Greater_Equal", "broadcast_greater_equal"),
     ("_greater_equal_scalar", "_GreaterEqualScalar"), ()),
    (_compare("Less"), ("_lesser", "_Lesser", "broadcast_lesser"), ("_lesser_scalar", "_LesserScalar"), ()),
    (_compare("LessOrEqual"), ("_lesser_equal", "_Lesser_Equal", "broadcast_lesser_equal"),
     ("_lesser_equal_scalar", "_LesserEqualScalar"), ()),
    (_logical("And"), ("_logical_and", "_Logical_And", "broadcast_logical_and"),
     ("_logical_and_scalar", "_LogicalAndScalar"), ()),
    (_logical("Or"), ("_logical_or", "_Logical_Or", "broadcast_logical_or"),
     ("_logical_or_scalar", "_LogicalOrScalar"), ()),
    (_logical("Xor"), ("_logical_xor", "_Logical_Xor", "broadcast_logical_xor"),
     ("_logical_xor_scalar", "_LogicalXorScalar"), ()),
]


def _operands(build, kind):
    """A converter applying ``build`` to (x, y), (x, scalar) or (scalar, x)."""
    def convert(node):
        e = Emitter(node)
        x = node.inputs[0]
        if kind == "tensor":
            a, b = x, node.inputs[1]
        else:
            scalar = e.const(attr_float(node.attrs, "scalar", 0.0), hint="scalar")
            a, b = (x, scalar) if kind == "scalar" else (scalar, x)
        build(e, node, a, b)
        return e.nodes
    return convert


for _build, *_groups in _FAMILIES:
    for _kind, _names in zip(("tensor", "scalar", "rscalar"), _groups):
        if _names:
            converter(*_names)(_operands(_build, _kind))


# unary ops with a direct ONNX equivalent
_UNARY = {
    "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs", "negative": "Neg",
    "reciprocal": "Reciprocal", "sin": "Sin", "cos": "Cos", "tan": "Tan", "arcsin": "Asin",
    "arccos": "Acos", "arctan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "tanh": "Tanh",
    "arcsinh": "Asinh", "arccosh": "Acosh", "arctanh": "Atanh", "sigmoid": "Sigmoid",
    "relu": "Relu", "floor": "Floor", "ceil": "Ceil", "sign": "Sign", "_contrib_sign_ste": "Sign",
    "erf": "Erf",
    "softsign": "Softsign",
}


def _unary(onnx_op):
    def convert(node):
        e = Emitter(node)
        e(onnx_op, node.inputs[:1], out=node.outputs[0])
        return e.nodes
    return convert


for _name, _op in _UNARY.items():
    converter(_name)(_unary(_op))


@converter("add_n", "ElementWiseSum", "_sparse_add_n")
def add_n(node):
    e = Emitter(node)
    e("Sum", node.inputs, out=node.outputs[0])
    return e.nodes


def _composed(build):
    """Register-ready converter from ``build(e, x) -> None`` writing ``e.node.outputs[0]``."""
    def convert(node):
        e = Emitter(node)
        build(e, node.inputs[0], node.outputs[0])
        return e.nodes
    return convert


def _scaled(factor):
    return lambda e, x, out: e("Mul", [x, e.const(factor, hint="factor")], out=out)


def _signed(magnitude):
    """sign(x) * magnitude(|x|): round half away from zero, truncation, real cube root."""
    return lambda e, x, out: e("Mul", [e("Sign", [x]), magnitude(e, e("Abs", [x]))], out=out)


def _cbrt_abs(e, ax):
    return e("Pow", [ax, e.const(1.0 / 3.0, hint="third")])


def _round_half_up(e, ax):
    """floor(ax) + (frac >= 0.5), exact for every float (unlike floor(ax + 0.5))."""
    low = e("Floor", [ax])
    frac_ge_half = e("GreaterOrEqual", [e("Sub", [ax, low]), e.const(0.5, hint="half")])
    return e("Add", [low, e.cast(frac_ge_half, e.node.in_dtypes[0])])


def _rint(e, x, out):
    """MXNet's rint picks the floor on ties (-2.5 -> -3, 2.5 -> 2): not ONNX's half-to-even."""
    low, high = e("Floor", [x]), e("Ceil", [x])
    nearer_low = e("LessOrEqual", [e("Sub", [x, low]), e("Sub", [high, x])])
    return e("Where", [nearer_low, low, high], out=out)


_COMPOSED = {
    "square": lambda e, x, out: e("Mul", [x, x], out=out),
    "rsqrt": lambda e, x, out: e("Reciprocal", [e("Sqrt", [x])], out=out),
    "log1p": lambda e, x, out: e("Log", [e("Add", [x, e.const(1.0, hint="one")])], out=out),
    "expm1": lambda e, x, out: e("Sub", [e("Exp", [x]), e.const(1.0, hint="one")], out=out),
    "log2": lambda e, x, out: e("Mul", [e("Log", [x]), e.const(1 / math.log(2), hint="inv_ln2")], out=out),
    "log10": lambda e, x, out: e("Mul", [e("Log", [x]), e.const(1 / math.log(10), hint="inv_ln10")],
                                 out=out),
    "degrees": _scaled(180.0 / math.pi),
    "radians": _scaled(math.pi / 180.0),
    "round": _signed(_round_half_up),
    "_contrib_round_ste": _signed(_round_half_up),  # straight-through: round in the forward
    "rint": _rint,
    "fix": _signed(lambda e, ax: e("Floor", [ax])),
    "trunc": _signed(lambda e, ax: e("Floor", [ax])),
    "cbrt": _signed(_cbrt_abs),
    "rcbrt": lambda e, x, out: e("Reciprocal", [_signed(_cbrt_abs)(e, x, None)], out=out),
    "logical_not": lambda e, x, out: e.cast(e("Not", [e.cast(x, np.bool_)]), e.node.out_dtypes[0],
                                            out=out),
}
for _name, _build in _COMPOSED.items():
    converter(_name)(_composed(_build))


@converter("hard_sigmoid")
def hard_sigmoid(node):
    e = Emitter(node)
    e("HardSigmoid", node.inputs[:1], out=node.outputs[0],
      alpha=attr_float(node.attrs, "alpha", 0.2), beta=attr_float(node.attrs, "beta", 0.5))
    return e.nodes


@converter("Cast", "cast", "amp_cast")
def cast(node):
    e = Emitter(node)
    e.cast(node.inputs[0], node.out_dtypes[0], out=node.outputs[0])
    return e.nodes


@converter("clip", "_sparse_clip")
def clip(node):
    e = Emitter(node)
    lo = e.const(attr_float(node.attrs, "a_min"), hint="min")
    hi = e.const(attr_float(node.attrs, "a_max"), hint="max")
    e("Clip", [node.inputs[0], lo, hi], out=node.outputs[0])
    return e.nodes


@converter("smooth_l1")
def smooth_l1(node):
    """0.5 (sigma x)^2 where |x| < 1/sigma^2, else |x| - 0.5/sigma^2."""
    sigma2 = attr_float(node.attrs, "scalar", 1.0) ** 2
    e = Emitter(node)
    x = node.inputs[0]
    ax = e("Abs", [x])
    quadratic = e("Mul", [e("Mul", [x, x]), e.const(0.5 * sigma2, hint="half_sigma2")])
    linear = e("Sub", [ax, e.const(0.5 / sigma2, hint="offset")])
    inside = e("Less", [ax, e.const(1.0 / sigma2, hint="threshold")])
    e("Where", [inside, quadratic, linear], out=node.outputs[0])
    return e.nodes


@converter("_contrib_div_sqrt_dim")
def div_sqrt_dim(node):
    """x / sqrt(size of the last axis) (scaled dot-product attention); the size is read at run
    time when that axis is dynamic."""
    e = Emitter(node)
    dims = node.in_dims[0] if node.in_dims else ()
    if dims and dims[-1] is not None:
        size = e.cast(e("Gather", [e("Shape", [node.inputs[0]]), e.int64([-1], "last")], axis=0),
                      node.in_dtypes[0])
        e("Div", [node.inputs[0], e("Sqrt", [size])], out=node.outputs[0])
        return e.nodes
    scale = e.const(1.0 / math.sqrt(node.in_shapes[0][-1]), hint="inv_sqrt_dim")
    e("Mul", [node.inputs[0], scale], out=node.outputs[0])
    return e.nodes


@converter("_contrib_quadratic")
def quadratic(node):
    """a x^2 + b x + c, as (a x + b) x + c."""
    e = Emitter(node)
    x = node.inputs[0]
    a, b, c = (e.const(attr_float(node.attrs, k, 0.0), hint=k) for k in "abc")
    e("Add", [e("Mul", [e("Add", [e("Mul", [x, a]), b]), x]), c], out=node.outputs[0])
    return e.nodes
