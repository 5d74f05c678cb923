"""Converters: elementwise, broadcast and scalar arithmetic, comparisons, unary math.

MXNet's ``broadcast_*`` ops broadcast like numpy between equal-rank inputs, which ONNX's
multidirectional broadcasting covers. Comparisons and logical ops return the input dtype
(1/0) in MXNet, so their boolean ONNX result is cast back.
"""
import math

import numpy as np

from ..attrs import attr_float
from ..registry import converter
from ._emit import Emitter

_BINARY = {
    "Add": ("elemwise_add", "_plus", "_Plus", "_add", "_grad_add", "broadcast_add", "broadcast_plus"),
    "Sub": ("elemwise_sub", "_minus", "_Minus", "_sub", "broadcast_sub", "broadcast_minus"),
    "Mul": ("elemwise_mul", "_mul", "_Mul", "broadcast_mul"),
    "Div": ("elemwise_div", "_div", "_Div", "broadcast_div"),
    "Pow": ("_power", "_Power", "broadcast_power"),
    "Max": ("_maximum", "_Maximum", "broadcast_maximum"),
    "Min": ("_minimum", "_Minimum", "broadcast_minimum"),
}

# scalar op -> (ONNX op, scalar goes first)
_SCALAR = {
    "_plus_scalar": ("Add", False), "_PlusScalar": ("Add", False),
    "_minus_scalar": ("Sub", False), "_MinusScalar": ("Sub", False),
    "_rminus_scalar": ("Sub", True), "_RMinusScalar": ("Sub", True),
    "_mul_scalar": ("Mul", False), "_MulScalar": ("Mul", False),
    "_div_scalar": ("Div", False), "_DivScalar": ("Div", False),
    "_rdiv_scalar": ("Div", True), "_RDivScalar": ("Div", True),
    "_power_scalar": ("Pow", False), "_PowerScalar": ("Pow", False),
    "_rpower_scalar": ("Pow", True), "_RPowerScalar": ("Pow", True),
    "_maximum_scalar": ("Max", False), "_MaximumScalar": ("Max", False),
    "_minimum_scalar": ("Min", False), "_MinimumScalar": ("Min", False),
}

# comparison -> (ONNX op, negate result)
_COMPARE = {
    "Equal": (("_equal", "_Equal", "broadcast_equal"), ("_equal_scalar", "_EqualScalar")),
    "NotEqual": (("_not_equal", "_Not_Equal", "broadcast_not_equal"),
                 ("_not_equal_scalar", "_NotEqualScalar")),
    "Greater": (("_greater", "_Greater", "broadcast_greater"), ("_greater_scalar", "_GreaterScalar")),
    "GreaterOrEqual": (("_greater_equal", "_Greater_Equal", "broadcast_greater_equal"),
                       ("_greater_equal_scalar", "_GreaterEqualScalar")),
    "Less": (("_lesser", "_Lesser", "broadcast_lesser"), ("_lesser_scalar", "_LesserScalar")),
    "LessOrEqual": (("_lesser_equal", "_Lesser_Equal", "broadcast_lesser_equal"),
                    ("_lesser_equal_scalar", "_LesserEqualScalar")),
}

_LOGICAL = {
    "And": (("_logical_and", "_Logical_And", "broadcast_logical_and"),
            ("_logical_and_scalar", "_LogicalAndScalar")),
    "Or": (("_logical_or", "_Logical_Or", "broadcast_logical_or"),
           ("_logical_or_scalar", "_LogicalOrScalar")),
    "Xor": (("_logical_xor", "_Logical_Xor", "broadcast_logical_xor"),
            ("_logical_xor_scalar", "_LogicalXorScalar")),
}

# unary ops with a direct ONNX equivalent
_UNARY = {
    "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs", "negative": "Neg",
    "reciprocal": "Reciprocal", "sin": "Sin", "cos": "Cos", "tan": "Tan", "arcsin": "Asin",
    "arccos": "Acos", "arctan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "tanh": "Tanh",
    "arcsinh": "Asinh", "arccosh": "Acosh", "arctanh": "Atanh", "sigmoid": "Sigmoid",
    "relu": "Relu", "floor": "Floor", "ceil": "Ceil", "sign": "Sign", "erf": "Erf",
"softsign": "Softsign",
}


def _scalar(node, e):
    return e.const(attr_float(node.attrs, "scalar", 0.0), hint="scalar")


def _binary(onnx_op):
    def convert(node):
        e = Emitter(node)
        e(onnx_op, node.inputs[:2], out=node.outputs[0])
        return e.nodes
    return convert


def _scalar_op(onnx_op, scalar_first):
    def convert(node):
        e = Emitter(node)
        s = _scalar(node, e)
        ins = [s, node.inputs[0]] if scalar_first else [node.inputs[0], s]
        e(onnx_op, ins, out=node.outputs[0])
        return e.nodes
    return convert


def _bool_result(e, node, onnx_op, a, b):
    """``onnx_op(a, b)`` (boolean) cast to MXNet's output dtype."""
    if onnx_op == "NotEqual":
        result = e("Not", [e("Equal", [a, b])])
    else:
        result = e(onnx_op, [a, b])
    return e.cast(result, node.out_dtypes[0], out=node.outputs[0])


def _compare(onnx_op, with_scalar):
    def convert(node):
        e = Emitter(node)
        b = _scalar(node, e) if with_scalar else node.inputs[1]
        _bool_result(e, node, onnx_op, node.inputs[0], b)
        return e.nodes
    return convert


def _logical(onnx_op, with_scalar):
    def convert(node):
        e = Emitter(node)
        a = e.cast(node.inputs[0], np.bool_)
        b = e.cast(_scalar(node, e) if with_scalar else node.inputs[1], np.bool_)
        e.cast(e(onnx_op, [a, b]), node.out_dtypes[0], out=node.outputs[0])
        return e.nodes
    return convert


def _unary(onnx_op):
    def convert(node):
        e = Emitter(node)
        e(onnx_op, node.inputs[:1], out=node.outputs[0])
        return e.nodes
    return convert


for _op, _names in _BINARY.items():
    converter(*_names)(_binary(_op))
for _name, (_op, _first) in _SCALAR.items():
    converter(_name)(_scalar_op(_op, _first))
for _op, (_names, _scalar_names) in _COMPARE.items():
    converter(*_names)(_compare(_op, False))
    converter(*_scalar_names)(_compare(_op, True))
for _op, (_names, _scalar_names) in _LOGICAL.items():
    converter(*_names)(_logical(_op, False))
    converter(*_scalar_names)(_logical(_op, True))
for _name, _op in _UNARY.items():
    converter(_name)(_unary(_op))


@converter("add_n", "ElementWiseSum", "_sparse_add_n")
def add_n(node):
    e = Emitter(node)
    e("Sum", node.inputs, out=node.outputs[0])
    return e.nodes


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


@converter("_mod", "_Mod", "broadcast_mod")
def mod(node):
    e = Emitter(node)
    _python_mod(e, node, node.inputs[0], node.inputs[1])
    return e.nodes


@converter("_mod_scalar", "_ModScalar")
def mod_scalar(node):
    e = Emitter(node)
    _python_mod(e, node, node.inputs[0], _scalar(node, e))
    return e.nodes


@converter("_rmod_scalar", "_RModScalar")
def rmod_scalar(node):
    e = Emitter(node)
    a = e("Expand", [_scalar(node, e), e("Shape", [node.inputs[0]])])
    _python_mod(e, node, a, node.inputs[0])
    return e.nodes


def _hypot(e, node, a, b):
    e("Sqrt", [e("Add", [e("Mul", [a, a]), e("Mul", [b, b])])], out=node.outputs[0])


@converter("_hypot", "_Hypot", "broadcast_hypot")
def hypot(node):
    e = Emitter(node)
    _hypot(e, node, node.inputs[0], node.inputs[1])
    return e.nodes


@converter("_hypot_scalar", "_HypotScalar")
def hypot_scalar(node):
    e = Emitter(node)
    _hypot(e, node, node.inputs[0], _scalar(node, e))
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
