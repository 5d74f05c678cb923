"""Per-operator converter tests (in the style of MXNet's onnx test_operators.py).

Each case is a one-op HybridBlock (``Lambda``) or Symbol, exported with ``export_onnx``, run in
ONNX Runtime at the export batch and a second batch (same dynamic-batch file) and compared with
MXNet at both supported ends of the opset range. Ops with weights are tested with the weights
as Gluon Parameters (initializers) and as ONNX graph inputs.
"""
import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

from op_harness import OPSETS, Lambda, check_block, check_symbol

RNG = np.random.RandomState(42)
SHAPE = (2, 3, 4, 5)


def randn(*shape):
    return RNG.randn(*(shape or SHAPE)).astype(np.float32)


def uniform(low, high, *shape):
    return RNG.uniform(low, high, size=shape or SHAPE).astype(np.float32)


def ints(high, *shape, low=0):
    return RNG.randint(low, high, size=shape or SHAPE).astype(np.float32)


def rounding_input():
    """Values including exact halves (where round/rint/fix differ) and negatives."""
    return np.array([[-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.0, 8388609.0],
                     [-2.7, -0.2, 0.3, 1.7, 3.49, -3.51, 4.0, -8388609.0]], np.float32)


# (id, F-function, inputs)
UNARY = [(name, lambda F, x, n=name: getattr(F, n)(x), make)
         for name, make in [
             ("exp", randn), ("log", lambda: uniform(0.1, 3)), ("sqrt", lambda: uniform(0.1, 3)),
             ("rsqrt", lambda: uniform(0.1, 3)), ("square", randn), ("abs", randn),
             ("negative", randn), ("reciprocal", lambda: uniform(0.5, 3)), ("sin", randn),
             ("cos", randn), ("tan", lambda: uniform(-1.2, 1.2)), ("arcsin", lambda: uniform(-0.9, 0.9)),
             ("arccos", lambda: uniform(-0.9, 0.9)), ("arctan", randn), ("sinh", randn), ("cosh", randn),
             ("tanh", randn), ("arcsinh", randn), ("arccosh", lambda: uniform(1.1, 3)),
             ("arctanh", lambda: uniform(-0.9, 0.9)), ("sigmoid", randn), ("relu", randn),
             ("floor", lambda: randn() * 3), ("ceil", lambda: randn() * 3), ("sign", randn),
             ("erf", randn), ("softsign", randn), ("log1p", lambda: uniform(-0.5, 3)),
             ("expm1", randn), ("log2", lambda: uniform(0.1, 3)), ("log10", lambda: uniform(0.1, 3)),
             ("degrees", randn), ("radians", randn), ("cbrt", randn), ("rcbrt", lambda: uniform(0.5, 3)),
             ("round", rounding_input), ("rint", rounding_input), ("fix", rounding_input),
             ("trunc", rounding_input), ("logical_not", lambda: ints(2)), ("hard_sigmoid", lambda: randn() * 4),
         ]]

BINARY = ["elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "broadcast_add",
          "broadcast_sub", "broadcast_mul", "broadcast_div", "broadcast_maximum", "broadcast_minimum",
          "broadcast_power", "broadcast_mod", "broadcast_hypot", "broadcast_equal",
          "broadcast_not_equal", "broadcast_greater", "broadcast_greater_equal", "broadcast_lesser",
          "broadcast_lesser_equal", "broadcast_logical_and", "broadcast_logical_or",
          "broadcast_logical_xor"]

SCALAR = ["_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar", "_div_scalar",
          "_rdiv_scalar", "_power_scalar", "_rpower_scalar", "_maximum_scalar", "_minimum_scalar",
          "_mod_scalar", "_rmod_scalar", "_hypot_scalar", "_equal_scalar", "_not_equal_scalar",
          "_greater_scalar", "_greater_equal_scalar", "_lesser_scalar", "_lesser_equal_scalar",
          "_logical_and_scalar", "_logical_or_scalar", "_logical_xor_scalar"]


def _binary_inputs(op):
    if op.startswith("broadcast_"):  # broadcast a (2,1,4,1) operand
        a, b = randn(), randn(2, 1, 4, 1)
    else:
        a, b = randn(), randn()
    if op in ("broadcast_power",):
        a = np.abs(a) + 0.1
    if "equal" in op or "greater" in op or "lesser" in op or "logical" in op:
        a, b = np.round(a), np.round(b)  # ties and zeros make comparisons non-trivial
    return a, b


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn,make", UNARY, ids=[c[0] for c in UNARY])
def test_unary(name, fn, make, opset, tmp_path):
    check_block(Lambda(fn), [make()], opset, tmp_path, name)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op", BINARY)
def test_binary(op, opset, tmp_path):
    a, b = _binary_inputs(op)
    sym = getattr(mx.sym, op)(mx.sym.var("data"), mx.sym.var("rhs"), name=op)
    check_symbol(sym, {"data": a, "rhs": b}, opset=opset, tmp_path=tmp_path, batched=("data", "rhs"))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op", SCALAR)
@pytest.mark.parametrize("scalar", [1.5, -0.75])
def test_scalar(op, scalar, opset, tmp_path):
    x = randn()
    if op in ("_power_scalar",):
        x = np.abs(x) + 0.1
    if "logical" in op or "equal" in op:
        x = np.round(x * 4) / 4  # hit the scalar exactly sometimes
    if op == "_rpower_scalar":
        scalar = abs(scalar)
    sym = getattr(mx.sym._internal, op)(mx.sym.var("data"), scalar=scalar, name=op.strip("_"))
    # x or (nonzero scalar) is always true: constant by definition
    check_symbol(sym, {"data": x}, opset=opset, tmp_path=tmp_path,
                 allow_constant=op == "_logical_or_scalar")


@pytest.mark.parametrize("opset", OPSETS)
def test_add_n(opset, tmp_path):
    check_block(Lambda(lambda F, a, b, c: F.add_n(a, b, c)), [randn(), randn(), randn()], opset,
                tmp_path, "add_n")


@pytest.mark.parametrize("opset", OPSETS)
def test_mod_corner_cases(opset, tmp_path):
    """Python-style sign (follows the divisor) and x mod 0 = 0, as MXNet defines them."""
    a = np.array([[5.5, -5.5, 5.5, -5.5, 3.0, -3.0, 0.0, 2.0]], np.float32)
    b = np.array([[2.0, 2.0, -2.0, -2.0, 1.5, 1.5, 2.0, 0.0]], np.float32)
    sym = mx.sym.broadcast_mod(mx.sym.var("data"), mx.sym.var("rhs"), name="mod_corners")
    check_symbol(sym, {"data": a, "rhs": b}, opset=opset, tmp_path=tmp_path, batched=("data", "rhs"))
