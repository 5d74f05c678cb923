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


# -- activations -------------------------------------------------------------------------------
LEAKY = [("leaky", dict(act_type="leaky", slope=0.1)), ("elu", dict(act_type="elu", slope=0.7)),
         ("selu", dict(act_type="selu")), ("gelu", dict(act_type="gelu")),
         ("rrelu", dict(act_type="rrelu", lower_bound=0.1, upper_bound=0.3))]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("kind,attrs", LEAKY, ids=[k for k, _ in LEAKY])
def test_leaky_relu(kind, attrs, opset, tmp_path):
    sym = mx.sym.LeakyReLU(mx.sym.var("data"), name=kind, **attrs)
    if kind == "rrelu":
        sym = sym[0]  # the second output is rrelu's training-time random mask
    check_symbol(sym, {"data": randn() * 3}, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3)], ids=["4d", "2d"])
def test_prelu_parameter(shape, opset, tmp_path):
    block = nn.PReLU(alpha_initializer=mx.init.Uniform(0.5), in_channels=shape[1])
    block.initialize()
    block.alpha.set_data(mx.nd.array(RNG.uniform(0.05, 0.6, shape[1])))
    check_block(block, [randn(*shape)], opset, tmp_path, "prelu")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("channels", [3, 1], ids=["per_channel", "shared"])
def test_prelu_weight_input(channels, opset, tmp_path):
    sym = mx.sym.LeakyReLU(mx.sym.var("data"), mx.sym.var("gamma"), act_type="prelu", name="prelu")
    gamma = RNG.uniform(0.05, 0.6, channels).astype(np.float32)
    check_symbol(sym, {"data": randn(), "gamma": gamma}, opset=opset, tmp_path=tmp_path)


SOFTMAX = [("softmax", dict()), ("softmax", dict(axis=1)), ("softmax", dict(axis=-2, temperature=2.5)),
           ("log_softmax", dict()), ("log_softmax", dict(axis=0, temperature=0.5)),
           ("softmin", dict(axis=2)), ("softmax", dict(dtype="float64"))]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op,attrs", SOFTMAX, ids=[f"{o}-{a}" for o, a in SOFTMAX])
def test_softmax(op, attrs, opset, tmp_path):
    sym = getattr(mx.sym, op)(mx.sym.var("data"), name=op, **attrs)
    check_symbol(sym, {"data": randn() * 2}, opset=opset, tmp_path=tmp_path,
                 batched=() if attrs.get("axis") == 0 else ("data",))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["instance", "channel"])
def test_softmax_activation(mode, opset, tmp_path):
    sym = mx.sym.SoftmaxActivation(mx.sym.var("data"), mode=mode, name="softmax_act")
    check_symbol(sym, {"data": randn()}, opset=opset, tmp_path=tmp_path)


# -- normalization -----------------------------------------------------------------------------
def _set_random(block):
    for param in block.collect_params().values():
        param.set_data(mx.nd.array(RNG.uniform(0.5, 1.5, param.shape)))


@pytest.mark.parametrize("opset", OPSETS)
def test_instance_norm(opset, tmp_path):
    block = nn.InstanceNorm(in_channels=3, epsilon=1e-3)
    block.initialize()
    _set_random(block)
    check_block(block, [randn() * 2 + 1], opset, tmp_path, "instance_norm")
    sym = mx.sym.InstanceNorm(mx.sym.var("data"), mx.sym.var("gamma"), mx.sym.var("beta"),
                              eps=1e-4, name="instance_norm")
    check_symbol(sym, {"data": randn(), "gamma": uniform(0.5, 1.5, 3), "beta": randn(3)},
                 opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("axis", [-1, 1])
def test_layer_norm_parameter(axis, opset, tmp_path):
    block = nn.LayerNorm(axis=axis, in_channels=SHAPE[axis], epsilon=1e-5)
    block.initialize()
    _set_random(block)
    check_block(block, [randn() * 2 + 1], opset, tmp_path, "layer_norm")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("axis,stats", [(-1, False), (2, False), (-1, True)])
def test_layer_norm_weight_input(axis, stats, opset, tmp_path):
    sym = mx.sym.LayerNorm(mx.sym.var("data"), mx.sym.var("gamma"), mx.sym.var("beta"), axis=axis,
                           eps=1e-4, output_mean_var=stats, name="layer_norm")
    c = SHAPE[axis]
    check_symbol(sym, {"data": randn(), "gamma": uniform(0.5, 1.5, c), "beta": randn(c)},
                 opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
def test_group_norm(opset, tmp_path):
    sym = mx.sym.GroupNorm(mx.sym.var("data"), mx.sym.var("gamma"), mx.sym.var("beta"),
                           num_groups=2, eps=1e-4, name="group_norm")
    x = randn(2, 4, 3, 5)
    check_symbol(sym, {"data": x, "gamma": uniform(0.5, 1.5, 2), "beta": randn(2)},
                 opset=opset, tmp_path=tmp_path)
    block = nn.GroupNorm(num_groups=2)
    block.initialize()
    block(mx.nd.array(x))  # resolve the deferred parameter shapes
    _set_random(block)
    check_block(block, [x], opset, tmp_path, "group_norm")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["instance", "channel", "spatial"])
def test_l2_normalization(mode, opset, tmp_path):
    sym = mx.sym.L2Normalization(mx.sym.var("data"), mode=mode, name="l2norm")
    check_symbol(sym, {"data": randn()}, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
def test_lrn(opset, tmp_path):
    sym = mx.sym.LRN(mx.sym.var("data"), nsize=3, alpha=0.1, beta=0.6, knorm=1.5, name="lrn")
    check_symbol(sym, {"data": randn(2, 6, 4, 4) * 2}, opset=opset, tmp_path=tmp_path)


# -- reductions --------------------------------------------------------------------------------
REDUCE = [dict(), dict(axis=1), dict(axis=(1, 3), keepdims=True), dict(axis=-1),
          dict(axis=1, exclude=True), dict(keepdims=True), dict(axis=(0, 1, 2, 3))]


REDUCE_CASES = [(op, attrs) for op in ("sum", "mean", "max", "min", "prod", "nansum", "nanprod", "norm")
                for attrs in REDUCE if not (op == "norm" and "exclude" in attrs)]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op,attrs", REDUCE_CASES, ids=[f"{o}-{a}" for o, a in REDUCE_CASES])
def test_reduce(op, attrs, opset, tmp_path):
    x = uniform(0.5, 1.5) if op in ("prod", "nanprod") else randn()
    if op.startswith("nan"):
        x[0, 1, 2, 3] = x[1, 0, 0, 0] = np.nan
    sym = getattr(mx.sym, op)(mx.sym.var("data"), name=op, **attrs)
    over_batch = "axis" not in attrs or 0 in np.atleast_1d(attrs["axis"]) or attrs.get("exclude")
    check_symbol(sym, {"data": x}, opset=opset, tmp_path=tmp_path,
                 batched=() if over_batch else ("data",))


@pytest.mark.parametrize("opset", OPSETS)
def test_norm_l1(opset, tmp_path):
    sym = mx.sym.norm(mx.sym.var("data"), ord=1, axis=2, keepdims=True, name="norm_l1")
    check_symbol(sym, {"data": randn()}, opset=opset, tmp_path=tmp_path)


ARG = [("argmax", dict(axis=1)), ("argmin", dict(axis=-1, keepdims=True)), ("argmax", dict()),
       ("argmax_channel", dict())]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op,attrs", ARG, ids=[f"{o}-{a}" for o, a in ARG])
def test_arg_reduce(op, attrs, opset, tmp_path):
    sym = getattr(mx.sym, op)(mx.sym.var("data"), name=op, **attrs)
    x = randn(2, 7) if op == "argmax_channel" else randn()
    check_symbol(sym, {"data": x}, opset=opset, tmp_path=tmp_path,
                 batched=() if not attrs else ("data",))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", [dict(axes=(2, 3)), dict(axes=(1,), keepdims=True)])
def test_moments(attrs, opset, tmp_path):
    sym = mx.sym.moments(mx.sym.var("data"), name="moments", **attrs)
    check_symbol(sym, {"data": randn()}, opset=opset, tmp_path=tmp_path)
