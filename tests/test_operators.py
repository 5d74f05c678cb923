"""Per-operator converter tests (in the style of MXNet's onnx test_operators.py).

Each case is a one-op HybridBlock (``Lambda``) or Symbol, exported with ``export_onnx``, run in
ONNX Runtime at the export batch and a second batch (same dynamic-batch file) and compared with
MXNet at both supported ends of the opset range. Ops with weights are tested with the weights
as Gluon Parameters (initializers) and as ONNX graph inputs.
"""
import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import onnx
import pytest
from mxnet.gluon import nn
from mxnet.gluon import rnn as gluon_rnn

from op_harness import OPSETS, Lambda, check_block, check_symbol

RNG = np.random.RandomState(42)
SHAPE = (2, 3, 4, 5)


@pytest.fixture(autouse=True)
def _reseed():
    """Each test draws the same inputs whichever tests run before it."""
    RNG.seed(42)


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
    if "equal" in op or "greater" in op or "lesser" in op:
        a, b = np.round(a), np.round(b)  # ties make comparisons non-trivial
    if "logical" in op:
        a, b = a * ints(2, *a.shape), b * ints(2, *b.shape)  # about half zeros (false)
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
    path = check_symbol(sym, {"data": randn() * 3}, opset=opset, tmp_path=tmp_path)
    if kind == "gelu":  # composed before opset 20, ONNX's Gelu from 20
        assert any(n.op_type == "Gelu" for n in onnx.load(str(path)).graph.node) == (opset >= 20)


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


# -- shape ops ---------------------------------------------------------------------------------
RESHAPE = [dict(shape=(0, -1)), dict(shape=(-1, 20)), dict(shape=(0, -2)), dict(shape=(-3, -2)),
           dict(shape=(0, 0, -3)), dict(shape=(0, -4, 1, 3, 0, 0)), dict(shape=(0, 3, -4, 2, -1, 5)),
           dict(shape=(-1, 5), reverse=True), dict(shape=(0, 0, 0, 5, 1)), dict(shape=(2, -1))]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", RESHAPE, ids=[str(a) for a in RESHAPE])
def test_reshape(attrs, opset, tmp_path):
    sym = mx.sym.Reshape(mx.sym.var("data"), name="reshape", **attrs)
    batch_free = attrs["shape"] == (2, -1)  # the batch is baked in by the user
    check_symbol(sym, {"data": randn()}, opset=opset, tmp_path=tmp_path,
                 batched=() if batch_free else ("data",))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", RESHAPE[:8], ids=[str(a) for a in RESHAPE[:8]])
def test_reshape_exported_at_batch_one(attrs, opset, tmp_path):
    """A batch-1 export (the zoo default) must still run at batch 3: no 1 baked in."""
    sym = mx.sym.Reshape(mx.sym.var("data"), name="reshape", **attrs)
    check_symbol(sym, {"data": randn(1, 3, 4, 5)}, opset=opset, tmp_path=tmp_path)


SHAPE_OPS = [
    ("transpose", dict(axes=(0, 2, 3, 1))), ("transpose", dict()), ("swapaxes", dict(dim1=1, dim2=3)),
    ("expand_dims", dict(axis=1)), ("expand_dims", dict(axis=-1)),
    ("slice", dict(begin=(None, 1), end=(None, 3))),
    ("slice", dict(begin=(0, 2, None), end=(None, None, 0), step=(1, -1, -2))),
    ("slice", dict(begin=(None, None, None, 4), end=(None, None, None, None), step=(None, None, None, -2))),
    ("slice", dict(begin=(0, -2, 1), end=(None, None, -1))),
    ("slice_axis", dict(axis=2, begin=1, end=None)), ("slice_axis", dict(axis=-1, begin=-3, end=-1)),
    ("pad", dict(mode="constant", pad_width=(0, 0, 0, 0, 1, 2, 2, 1), constant_value=0.5)),
    ("pad", dict(mode="edge", pad_width=(0, 0, 0, 0, 1, 2, 2, 1))),
    ("pad", dict(mode="reflect", pad_width=(0, 0, 0, 0, 2, 1, 1, 2))),
    ("flip", dict(axis=1)), ("reverse", dict(axis=(2, 3))),
    ("tile", dict(reps=(1, 2, 1, 3))), ("tile", dict(reps=(2, 2))), ("tile", dict(reps=(2, 1, 1, 1, 2))),
    ("repeat", dict(repeats=2, axis=1)), ("repeat", dict(repeats=3, axis=-1)), ("repeat", dict(repeats=2)),
    ("broadcast_axis", dict(axis=(1, 3), size=(4, 2))), ("broadcast_to", dict(shape=(0, 5, 0, 3))),
    ("depth_to_space", dict(block_size=2)), ("space_to_depth", dict(block_size=2)),
    ("shape_array", dict()), ("size_array", dict()), ("zeros_like", dict()), ("ones_like", dict()),
    ("squeeze", dict(axis=2)), ("squeeze", dict()),
]
SHAPE_INPUT = {"broadcast_axis": (2, 1, 4, 1), "broadcast_to": (2, 1, 4, 1), "depth_to_space": (2, 8, 2, 3),
               "space_to_depth": (2, 2, 4, 6), "squeeze": (2, 3, 1, 5, 1)}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op,attrs", SHAPE_OPS, ids=[f"{o}-{a}" for o, a in SHAPE_OPS])
def test_shape_op(op, attrs, opset, tmp_path):
    x = randn(*SHAPE_INPUT.get(op, SHAPE))
    sym = getattr(mx.sym, op)(mx.sym.var("data"), name=op, **attrs)
    whole = op == "repeat" and "axis" not in attrs or op == "size_array"
    constant = op in ("zeros_like", "ones_like")
    check_symbol(sym, {"data": x}, opset=opset, tmp_path=tmp_path, allow_constant=constant,
                 batched=() if whole else ("data",))


@pytest.mark.parametrize("opset", OPSETS)
def test_shape_ops_follow_the_batch(opset, tmp_path):
    """shape_array / size_array report the run-time batch, not the export batch."""
    x = mx.sym.var("data")
    sym = mx.sym.Group([mx.sym.shape_array(x), mx.sym.size_array(x)])
    check_symbol(sym, {"data": randn()}, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", [dict(num_outputs=3, axis=1), dict(num_outputs=4, axis=-1, squeeze_axis=True)])
def test_split(attrs, opset, tmp_path):
    sym = mx.sym.split(mx.sym.var("data"), name="split", **attrs)
    check_symbol(sym, {"data": randn(2, 3, 4, 4)}, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
def test_split_v2_sections(opset, tmp_path):
    check_block(Lambda(lambda F, x: F.split_v2(x, (1, 3), axis=3)), [randn()], opset, tmp_path, "split_v2")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("axis", [0, 2, -1])
def test_stack(axis, opset, tmp_path):
    sym = mx.sym.stack(mx.sym.var("data"), mx.sym.var("rhs"), axis=axis, name="stack")
    check_symbol(sym, {"data": randn(), "rhs": randn()}, opset=opset, tmp_path=tmp_path,
                 batched=("data", "rhs") if axis != 0 else ())


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op,attrs", [("reshape_like", {}), ("broadcast_like", {}),
                                      ("slice_like", dict(axes=(2, 3))), ("slice_like", {})])
def test_like_ops(op, attrs, opset, tmp_path):
    x, like = {"reshape_like": (randn(), randn(2, 60)), "broadcast_like": (randn(2, 1, 4, 1), randn()),
               "slice_like": (randn(), randn(2, 3, 3, 2))}[op]
    sym = getattr(mx.sym, op)(mx.sym.var("data"), mx.sym.var("rhs"), name=op, **attrs)
    check_symbol(sym, {"data": x, "rhs": like}, opset=opset, tmp_path=tmp_path, batched=("data", "rhs"))


# -- misc --------------------------------------------------------------------------------------
DECONV = [dict(kernel=(3, 3), num_filter=4), dict(kernel=(4, 4), stride=(2, 2), pad=(1, 1), num_filter=4),
          dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), adj=(1, 1), num_filter=6, num_group=3),
          dict(kernel=(3, 3), dilate=(2, 2), num_filter=2, no_bias=True),
          dict(kernel=(3, 3), stride=(2, 2), target_shape=(10, 12), num_filter=4),
          dict(kernel=(4, 4), stride=(3, 3), target_shape=(13, 15), num_filter=4),
          dict(kernel=(3,), stride=(2,), pad=(1,), num_filter=4),
          dict(kernel=(2, 3, 3), stride=(1, 2, 2), pad=(0, 1, 1), num_filter=4)]


def _deconv_inputs(attrs):
    n = len(attrs["kernel"])
    x = randn(*((2, 3) + (5, 6, 4)[:n]))
    groups = attrs.get("num_group", 1)
    weight = randn(3, attrs["num_filter"] // groups, *attrs["kernel"]) * 0.3
    return x, weight, randn(attrs["num_filter"])


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", DECONV, ids=[str(a) for a in DECONV])
def test_deconvolution(attrs, opset, tmp_path):
    x, weight, bias = _deconv_inputs(attrs)
    attrs = dict(attrs, no_bias=attrs.get("no_bias", False))
    # MXNet's own float32 (MKLDNN) kernel fails on the padding target_shape implies: its
    # float64 kernel gives the reference there
    compute_dtype = np.float64 if "target_shape" in attrs else None
    inputs = [mx.sym.var("data"), mx.sym.var("weight")] + ([] if attrs["no_bias"] else [mx.sym.var("bias")])
    sym = mx.sym.Deconvolution(*inputs, name="deconv", **attrs)
    params = {"weight": weight} if attrs["no_bias"] else {"weight": weight, "bias": bias}
    check_symbol(sym, {"data": x}, params=params, opset=opset, tmp_path=tmp_path,  # initializers
                 compute_dtype=compute_dtype)
    check_symbol(sym, {"data": x, **params}, opset=opset, tmp_path=tmp_path,  # graph inputs
                 compute_dtype=compute_dtype)


@pytest.mark.parametrize("opset", OPSETS)
def test_conv_transpose_block(opset, tmp_path):
    block = nn.Conv2DTranspose(4, 3, strides=2, padding=1, output_padding=1, in_channels=3)
    block.initialize(mx.init.Normal(0.3))
    block.bias.set_data(mx.nd.array(randn(4)))
    check_block(block, [randn()], opset, tmp_path, "conv2d_transpose")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", [dict(scale=2, sample_type="nearest"), dict(scale=3, sample_type="nearest")])
def test_upsampling_nearest(attrs, opset, tmp_path):
    sym = mx.sym.UpSampling(mx.sym.var("data"), name="upsample", num_args=1, **attrs)
    check_symbol(sym, {"data": randn()}, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["concat", "sum"])
def test_upsampling_nearest_multi_input(mode, opset, tmp_path):
    sym = mx.sym.UpSampling(mx.sym.var("data"), mx.sym.var("rhs"), scale=2, sample_type="nearest",
                            num_args=2, multi_input_mode=mode, name="upsample")
    check_symbol(sym, {"data": randn(2, 3, 4, 5), "rhs": randn(2, 3, 8, 10)}, opset=opset,
                 tmp_path=tmp_path, batched=("data", "rhs"))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("scale", [2, 3])
def test_upsampling_bilinear(scale, opset, tmp_path):
    sym = mx.sym.UpSampling(mx.sym.var("data"), mx.sym.var("weight"), scale=scale, num_filter=3,
                            sample_type="bilinear", num_args=2, name="upsample")
    k = 2 * scale - scale % 2
    weight = randn(3, 1, k, k)
    check_symbol(sym, {"data": randn()}, params={"weight": weight}, opset=opset, tmp_path=tmp_path)
    check_symbol(sym, {"data": randn(), "weight": weight}, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("size", [1, (2, 5), (3, 2)], ids=["global", "divisible", "uneven"])
def test_adaptive_avg_pooling(size, opset, tmp_path):
    block = Lambda(lambda F, x: F.contrib.AdaptiveAvgPooling2D(x, output_size=size))
    check_block(block, [randn(2, 3, 6, 5)], opset, tmp_path, "adaptive_avg_pool")


@pytest.mark.parametrize("opset", OPSETS)
def test_embedding(opset, tmp_path):
    block = nn.Embedding(10, 4)
    block.initialize(mx.init.Normal(1.0))
    check_block(block, [ints(13, 2, 7, low=-3)], opset, tmp_path, "embedding")  # MXNet clips
    sym = mx.sym.Embedding(mx.sym.var("data"), mx.sym.var("weight"), input_dim=10, output_dim=4,
                           name="embedding")
    check_symbol(sym, {"data": ints(10, 2, 7), "weight": randn(10, 4)}, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", [dict(axis=0, mode="clip"), dict(axis=1, mode="wrap"), dict(axis=-1)])
def test_take(attrs, opset, tmp_path):
    sym = mx.sym.take(mx.sym.var("weight"), mx.sym.var("data"), name="take", **attrs)
    check_symbol(sym, {"data": ints(9, 2, 3, low=-3), "weight": randn(5, 4, 6)}, opset=opset,
                 tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
def test_one_hot(opset, tmp_path):
    sym = mx.sym.one_hot(mx.sym.var("data"), depth=5, on_value=2.0, off_value=-1.0, name="one_hot")
    indices = np.array([[-2, -1, 0], [3, 4, 6]], np.float32)  # outside [0, 5): all off
    check_symbol(sym, {"data": indices}, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("dtype", ["int32", "float64", "float16", "uint8"])
def test_cast(dtype, opset, tmp_path):
    check_block(Lambda(lambda F, x: F.cast(x, dtype=dtype)), [uniform(0, 9.9)], opset, tmp_path, "cast")


@pytest.mark.parametrize("opset", OPSETS)
def test_clip(opset, tmp_path):
    check_block(Lambda(lambda F, x: F.clip(x, -0.5, 0.8)), [randn()], opset, tmp_path, "clip")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("cond_shape", [SHAPE, (2,)], ids=["same", "rows"])
def test_where(cond_shape, opset, tmp_path):
    block = Lambda(lambda F, c, x, y: F.where(c, x, y))
    check_block(block, [ints(2, *cond_shape), randn(), randn()], opset, tmp_path, "where")


DOT = [((2, 4), (4, 3), {}), ((2, 4), (3, 4), dict(transpose_b=True)), ((4, 2), (4, 3), dict(transpose_a=True)),
       ((2, 3, 4), (4, 5), {}), ((2, 4), (4, 3, 2), {})]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("a,b,attrs", DOT, ids=[str(c) for c in DOT])
def test_dot(a, b, attrs, opset, tmp_path):
    sym = mx.sym.dot(mx.sym.var("data"), mx.sym.var("rhs"), name="dot", **attrs)
    batched = () if attrs.get("transpose_a") else ("data",)
    check_symbol(sym, {"data": randn(*a), "rhs": randn(*b)}, opset=opset, tmp_path=tmp_path, batched=batched)


@pytest.mark.parametrize("opset", OPSETS)
def test_dot_vectors(opset, tmp_path):
    sym = mx.sym.dot(mx.sym.var("data"), mx.sym.var("rhs"), name="dot")
    check_symbol(sym, {"data": randn(6), "rhs": randn(6)}, opset=opset, tmp_path=tmp_path, batched=())


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", [{}, dict(transpose_a=True), dict(transpose_b=True)])
def test_batch_dot(attrs, opset, tmp_path):
    a = (2, 4, 3) if attrs.get("transpose_a") else (2, 3, 4)
    b = (2, 5, 4) if attrs.get("transpose_b") else (2, 4, 5)
    sym = mx.sym.batch_dot(mx.sym.var("data"), mx.sym.var("rhs"), name="batch_dot", **attrs)
    check_symbol(sym, {"data": randn(*a), "rhs": randn(*b)}, opset=opset, tmp_path=tmp_path,
                 batched=("data", "rhs"))


# -- indexing, sorting, creation, linear algebra -----------------------------------------------
def distinct(*shape):
    """Random values without ties (sort orders are then unambiguous)."""
    return (RNG.permutation(int(np.prod(shape))).reshape(shape) * 0.37 - 3).astype(np.float32)


TOPK = [dict(k=2), dict(k=3, axis=1, ret_typ="value"), dict(k=2, ret_typ="both", is_ascend=True),
        dict(k=2, axis=2, ret_typ="mask"), dict(k=3, axis=None, ret_typ="value"),
        dict(k=2, dtype="int32")]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", TOPK, ids=[str(a) for a in TOPK])
def test_topk(attrs, opset, tmp_path):
    sym = mx.sym.topk(mx.sym.var("data"), name="topk", **attrs)
    check_symbol(sym, {"data": distinct(*SHAPE)}, opset=opset, tmp_path=tmp_path,
                 batched=() if "axis" in attrs and attrs["axis"] is None else ("data",))


SORT = [("sort", {}), ("sort", dict(axis=1, is_ascend=False)), ("argsort", {}),
        ("argsort", dict(axis=0, is_ascend=False)), ("sort", dict(axis=None))]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op,attrs", SORT, ids=[f"{o}-{a}" for o, a in SORT])
def test_sort(op, attrs, opset, tmp_path):
    sym = getattr(mx.sym, op)(mx.sym.var("data"), name=op, **attrs)
    check_symbol(sym, {"data": distinct(*SHAPE)}, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", [dict(axis=-1), dict(axis=1, keepdims=True, mode="wrap")])
def test_pick(attrs, opset, tmp_path):
    index = ints(8, 2, 1, 4, low=-2) if attrs.get("keepdims") else ints(7, 2, 3, 4, low=-1)
    data = randn(2, 3, 4, 5) if not attrs.get("keepdims") else randn(2, 5, 4)
    sym = mx.sym.pick(mx.sym.var("data"), mx.sym.var("index"), name="pick", **attrs)
    check_symbol(sym, {"data": data, "index": index}, opset=opset, tmp_path=tmp_path,
                 batched=("data", "index"))


@pytest.mark.parametrize("opset", OPSETS)
def test_gather_nd(opset, tmp_path):
    indices = np.stack([ints(3, 4, 2), ints(4, 4, 2)]).astype(np.float32)  # (M=2, 4, 2)
    sym = mx.sym.gather_nd(mx.sym.var("data"), mx.sym.var("indices"), name="gather_nd")
    check_symbol(sym, {"data": randn(3, 4, 5), "indices": indices}, opset=opset, tmp_path=tmp_path,
                 batched=())


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("axis", [0, 1])
def test_sequence_mask(axis, opset, tmp_path):
    shape = (5, 2, 3) if axis == 0 else (2, 5, 3)
    sym = mx.sym.SequenceMask(mx.sym.var("data"), mx.sym.var("length"), use_sequence_length=True,
                              value=-1.5, axis=axis, name="sequence_mask")
    # axis 0: time is the dynamic axis 0, so the second run checks a longer sequence
    check_symbol(sym, {"data": randn(*shape), "length": np.array([2, 5], np.float32)}, opset=opset,
                 tmp_path=tmp_path, batched=("data", "length") if axis == 1 else ("data",))


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op,axis,lengths", [("SequenceLast", 0, False), ("SequenceLast", 0, True),
                                             ("SequenceLast", 1, True), ("SequenceReverse", 0, False),
                                             ("SequenceReverse", 0, True)])
def test_sequence_last_reverse(op, axis, lengths, opset, tmp_path):
    shape = (5, 2, 3) if axis == 0 else (2, 5, 3)
    inputs = [mx.sym.var("data")] + ([mx.sym.var("length")] if lengths else [])
    sym = getattr(mx.sym, op)(*inputs, use_sequence_length=lengths, axis=axis, name=op.lower())
    feeds = {"data": randn(*shape)}
    if lengths:
        feeds["length"] = np.array([2, 5], np.float32)
    check_symbol(sym, feeds, opset=opset, tmp_path=tmp_path,
                 batched=("data", "length") if axis == 1 else ())


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", [dict(axis=1), dict(axis=3, dtype="float64"), dict()])
def test_cumsum(attrs, opset, tmp_path):
    check_block(Lambda(lambda F, x: F.cumsum(x, **attrs)), [randn()], opset, tmp_path, "cumsum")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", [dict(h_w=(3, 2), center_crop=True), dict(h_w=(2, 3), offset=(1, 2))])
def test_crop(attrs, opset, tmp_path):
    sym = mx.sym.Crop(mx.sym.var("data"), num_args=1, name="crop", **attrs)
    check_symbol(sym, {"data": randn(2, 3, 6, 7)}, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op", ["MakeLoss", "make_loss", "SVMOutput", "IdentityAttachKLSparseReg"])
def test_identity_heads(op, opset, tmp_path):
    """Identity at inference; a label stays an (unused) input, an aux state an initializer."""
    sym = getattr(mx.sym, op)(mx.sym.var("data"), name=op.lower())
    feeds = {"data": randn(2, 6)}
    if op == "SVMOutput":
        feeds["label"] = ints(6, 2)
        sym = mx.sym.SVMOutput(mx.sym.var("data"), mx.sym.var("label"), name="svm")
    params = {n: np.zeros(s, np.float32) for n, s in zip(sym.list_auxiliary_states(),
                                                       sym.infer_shape(data=(2, 6))[2])}
    check_symbol(sym, feeds, params=params, opset=opset, tmp_path=tmp_path, batched=("data", "label"))


CONTRIB_MATH = [("gradientmultiplier", lambda F, x: F.contrib.gradientmultiplier(x, scalar=3.0), randn),
                ("round_ste", lambda F, x: F.contrib.round_ste(x), rounding_input),
                ("sign_ste", lambda F, x: F.contrib.sign_ste(x), randn),
                ("quadratic", lambda F, x: F.contrib.quadratic(x, a=0.5, b=-2.0, c=1.5), randn)]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn,make", CONTRIB_MATH, ids=[c[0] for c in CONTRIB_MATH])
def test_contrib_math(name, fn, make, opset, tmp_path):
    check_block(Lambda(fn), [make()], opset, tmp_path, name)


CREATE = [("zeros", lambda F, x: F.broadcast_add(x, F.zeros((4, 5)))),
          ("ones", lambda F, x: F.broadcast_mul(x, F.ones((1, 5), dtype="float32") * 2)),
          ("full", lambda F, x: F.broadcast_sub(x, F.full((4, 1), 0.5))),
          ("arange", lambda F, x: F.broadcast_add(x, F.arange(0.5, 3.0, step=0.5, repeat=2).reshape((2, 5)))),
          ("arange_like_axis", lambda F, x: F.broadcast_add(x, F.contrib.arange_like(x, start=0.1, step=0.3, axis=-1))),
          ("arange_like", lambda F, x: F.contrib.arange_like(x, start=-1.0, step=0.25) * x),
          ("zeros_ones_like", lambda F, x: F.zeros_like(x) + F.ones_like(x) * x),
          ("eye", lambda F, x: F.broadcast_add(x, F.eye(4, 5, k=1))),
          ("linspace", lambda F, x: F.broadcast_mul(x, F.linspace(-1, 2, 5, endpoint=False)))]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn", CREATE, ids=[c[0] for c in CREATE])
def test_creation(name, fn, opset, tmp_path):
    check_block(Lambda(fn), [randn(2, 3, 4, 5)[:, :, :, :] if name != "arange" else randn(2, 3, 2, 5)],
                opset, tmp_path, name)


@pytest.mark.parametrize("opset", OPSETS)
def test_arange_like_follows_batch(opset, tmp_path):
    check_block(Lambda(lambda F, x: F.contrib.arange_like(x, axis=0)), [randn()], opset, tmp_path, "arange_like0")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", [dict(), dict(transpose_a=True, alpha=0.5), dict(transpose_b=True, alpha=2.0)])
def test_linalg_gemm2(attrs, opset, tmp_path):
    a = (2, 4, 3) if attrs.get("transpose_a") else (2, 3, 4)
    b = (2, 5, 4) if attrs.get("transpose_b") else (2, 4, 5)
    sym = mx.sym.linalg.gemm2(mx.sym.var("data"), mx.sym.var("rhs"), name="gemm2", **attrs)
    check_symbol(sym, {"data": randn(*a), "rhs": randn(*b)}, opset=opset, tmp_path=tmp_path,
                 batched=("data", "rhs"))


@pytest.mark.parametrize("opset", OPSETS)
def test_linalg_gemm(opset, tmp_path):
    sym = mx.sym.linalg.gemm(mx.sym.var("data"), mx.sym.var("rhs"), mx.sym.var("c"), alpha=0.7,
                             beta=-1.3, transpose_b=True, name="gemm")
    check_symbol(sym, {"data": randn(2, 3, 4), "rhs": randn(2, 5, 4), "c": randn(2, 3, 5)},
                 opset=opset, tmp_path=tmp_path, batched=("data", "rhs", "c"))


@pytest.mark.parametrize("opset", OPSETS)
def test_div_sqrt_dim(opset, tmp_path):
    check_block(Lambda(lambda F, x: F.contrib.div_sqrt_dim(x)), [randn()], opset, tmp_path, "div_sqrt_dim")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("scalar", [1.0, 2.5])
def test_smooth_l1(scalar, opset, tmp_path):
    check_block(Lambda(lambda F, x: F.smooth_l1(x, scalar=scalar)), [randn() * 2], opset, tmp_path, "smooth_l1")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", [dict(height=7, width=9), dict(height=3, width=2, align_corners=False),
                                   dict(scale_height=2.0, scale_width=1.5, mode="odd_scale")])
def test_bilinear_resize(attrs, opset, tmp_path):
    block = Lambda(lambda F, x: F.contrib.BilinearResize2D(x, **attrs))
    check_block(block, [randn(2, 3, 4, 5)], opset, tmp_path, "bilinear_resize")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op", ["LinearRegressionOutput", "MAERegressionOutput", "LogisticRegressionOutput",
                                "SoftmaxOutput"])
def test_training_heads(op, opset, tmp_path):
    """Output layers of Module-era nets: their inference value; the label stays an unused input."""
    sym = getattr(mx.sym, op)(mx.sym.var("data"), mx.sym.var("label"), name=op.lower())
    label = ints(4, 2) if op == "SoftmaxOutput" else randn(2, 4)
    check_symbol(sym, {"data": randn(2, 4), "label": label}, opset=opset, tmp_path=tmp_path,
                 batched=("data", "label"))


SOFTMAX_OUTPUT = [dict(), dict(multi_output=True), dict(preserve_shape=True)]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("attrs", SOFTMAX_OUTPUT, ids=[str(a) for a in SOFTMAX_OUTPUT])
def test_softmax_output_4d(attrs, opset, tmp_path):
    """By default SoftmaxOutput flattens all but the batch axis (MXNet's reference and GPU
    kernels); MXNet's float32 MKLDNN kernel softmaxes the last axis instead, so the reference
    is computed in float64, which does not take the MKLDNN path."""
    sym = mx.sym.SoftmaxOutput(mx.sym.var("data"), mx.sym.var("label"), name="softmax_output", **attrs)
    label_shape = (2, 4, 5) if attrs.get("multi_output") else (2, 3, 4)
    check_symbol(sym, {"data": randn() * 2, "label": ints(3, *label_shape)}, opset=opset,
                 tmp_path=tmp_path, batched=("data", "label"),
                 compute_dtype=None if attrs else np.float64)


# -- errors ------------------------------------------------------------------------------------
def test_unsupported_op_names_op_node_opset_and_writes_nothing(tmp_path):
    from export.onnx import UnsupportedOperatorError
    from export import export_onnx
    sym = mx.sym.gammaln(mx.sym.relu(mx.sym.var("data")), name="my_gammaln")
    path = tmp_path / "out.onnx"
    with pytest.raises(UnsupportedOperatorError) as err:
        export_onnx((sym, {}), path, input_shape=(2, 3), opset=OPSETS[0])
    message = str(err.value)
    for part in ("gammaln", "my_gammaln", str(OPSETS[0]), "get_operator_support"):
        assert part in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sym,what", [
    (mx.sym.take(mx.sym.var("data"), mx.sym.var("rhs"), axis=0, name="take"), "dynamic axis"),
    (mx.sym.dot(mx.sym.var("data"), mx.sym.var("rhs"), transpose_a=True, name="dot"), "transpose_a"),
], ids=["take_dynamic_axis", "dot_nd_transpose"])  # squeeze over a batch of 1: test_dynamic_input_shapes.py
def test_unsupported_variant_is_one_clear_error(sym, what, tmp_path):
    from export import export_onnx
    shapes = {"data": (2, 3), "rhs": (2, 4, 5)}
    shapes = {n: shapes[n] for n in sym.list_arguments()}
    with pytest.raises((NotImplementedError, ValueError)) as err:
        export_onnx((sym, {}), tmp_path / "out.onnx", input_shape=shapes)
    assert what in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_operator_support_table_lists_the_changes_at_18():
    from export.onnx import get_operator_support
    table = get_operator_support()
    assert table["sum"] == [13, 18] and table["mean"] == [13, 18]
    assert table["LayerNorm"] == [13, 17]
    assert {"Deconvolution", "LeakyReLU", "Reshape", "Pad", "Embedding", "softmax"} <= set(table)


# -- recurrent layers --------------------------------------------------------------------------
RNN_LAYERS = [("lstm", dict(num_layers=2, bidirectional=True)), ("lstm", dict(layout="NTC")),
              ("gru", dict(num_layers=2)), ("gru", dict(bidirectional=True, layout="NTC")),
              ("rnn_tanh", dict(num_layers=2)), ("rnn_relu", dict(bidirectional=True))]


class _BatchMajor(mx.gluon.HybridBlock):
    """Runs a time-major (TNC) layer on batch-major input."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def hybrid_forward(self, F, x):
        return F.swapaxes(self.layer(F.swapaxes(x, 0, 1)), 0, 1)


def _rnn_layer(mode, attrs):
    layer = {"lstm": gluon_rnn.LSTM, "gru": gluon_rnn.GRU, "rnn_tanh": gluon_rnn.RNN,
             "rnn_relu": gluon_rnn.RNN}[mode]
    extra = {"activation": mode[4:]} if mode.startswith("rnn") else {}
    return layer(4, input_size=3, **extra, **attrs)


# MXNet's CPU RNN takes ~0.5 s a call whatever the size, and the converter has no
# opset-dependent part: every variant at the lowest opset, LSTM and GRU at the highest too.
RNN_CASES = [(m, a, OPSETS[0]) for m, a in RNN_LAYERS] + [(m, a, OPSETS[-1]) for m, a in RNN_LAYERS[:3:2]]


@pytest.mark.parametrize("mode,attrs,opset", RNN_CASES, ids=[f"{m}-{a}-{o}" for m, a, o in RNN_CASES])
def test_rnn_layer(mode, attrs, opset, tmp_path):
    """Gluon's layers (params concatenated in the graph, zero begin state) over a dynamic batch."""
    layer = _rnn_layer(mode, attrs)
    layer.initialize(mx.init.Uniform(0.5))
    layout_ntc = attrs.get("layout") == "NTC"
    x = randn(2, 5, 3) if layout_ntc else randn(5, 2, 3)
    if layout_ntc:
        check_block(layer, [x], opset, tmp_path, f"rnn_{mode}")
    else:  # TNC (Gluon's default): fed batch-major so that axis 0 is the batch
        check_block(_BatchMajor(layer), [np.swapaxes(x, 0, 1).copy()], opset, tmp_path, f"rnn_{mode}")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_rnn_op_with_states(mode, opset, tmp_path):
    """The RNN op with params and begin states as graph inputs, every output compared."""
    hidden, layers, dirs, width = 4, 2, 2, 3
    gates = 4 if mode == "lstm" else 3
    size = sum(dirs * (gates * hidden * (in_size + hidden) + 2 * gates * hidden)
               for in_size in [width] + [dirs * hidden] * (layers - 1))
    inputs = [mx.sym.var("data"), mx.sym.var("params"), mx.sym.var("state")]
    feeds = {"data": randn(5, 2, width), "params": uniform(-0.5, 0.5, size),
             "state": randn(layers * dirs, 2, hidden)}
    if mode == "lstm":
        inputs.append(mx.sym.var("cell"))
        feeds["cell"] = randn(layers * dirs, 2, hidden)
    sym = mx.sym.RNN(*inputs, state_size=hidden, num_layers=layers, bidirectional=True, mode=mode,
                     state_outputs=True, name="rnn")
    check_symbol(sym, feeds, opset=opset, tmp_path=tmp_path, batched=())


# -- fused attention (GluonNLP) ----------------------------------------------------------------
def _selfatt(F, qkv):
    scores = F.contrib.interleaved_matmul_selfatt_qk(qkv, heads=3)
    return F.contrib.interleaved_matmul_selfatt_valatt(qkv, F.softmax(scores), heads=3)


def _encdec(F, q, kv):
    scores = F.contrib.interleaved_matmul_encdec_qk(q, kv, heads=3)
    return F.contrib.interleaved_matmul_encdec_valatt(kv, F.softmax(scores), heads=3)


# the scores (N * heads, Tq, Tk) cannot be a batch-dynamic input, so valatt is tested after qk
ATTENTION = {"selfatt_qk": lambda F, qkv: F.contrib.interleaved_matmul_selfatt_qk(qkv, heads=3),
             "encdec_qk": lambda F, q, kv: F.contrib.interleaved_matmul_encdec_qk(q, kv, heads=3),
             "selfatt_qk_valatt": _selfatt, "encdec_qk_valatt": _encdec}


class _TimeMajor(mx.gluon.HybridBlock):
    """Feeds batch-major inputs to time-major ops (axis 0 of every input stays the batch)."""

    def __init__(self, fn):
        super().__init__()
        self._fn = fn

    def hybrid_forward(self, F, *xs):
        return self._fn(F, *[F.swapaxes(x, 0, 1) for x in xs])


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", list(ATTENTION))
def test_interleaved_attention(name, opset, tmp_path):
    n, tq, tk, heads, d = 2, 4, 6, 3, 5
    inputs = [randn(n, tq, heads * 3 * d)] if name.startswith("selfatt") else \
        [randn(n, tq, heads * d), randn(n, tk, heads * 2 * d)]
    check_block(_TimeMajor(ATTENTION[name]), inputs, opset, tmp_path, name)
