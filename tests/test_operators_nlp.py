"""Per-operator tests of the ops GluonNLP's transformers and language models emit, each
attribute value, static and with dynamic batch and sequence axes (one file run at several
sizes), at both ends of the opset range; in the style of test_operators.py."""
import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import pytest

from op_harness import OPSETS, check_dynamic

RNG = np.random.RandomState(11)
BT = {"data": {0: "batch", 1: "seq"}}   # batch-major (N, T, ...)
TB = {"data": {0: "seq", 1: "batch"}}   # time-major (T, N, ...)
SIZES = [dict(n=2, t=5), dict(n=3, t=4), dict(n=1, t=7)]
STATIC = [dict(n=2, t=5)]


@pytest.fixture(autouse=True)
def _reseed():
    RNG.seed(11)


def randn(*shape):
    return RNG.randn(*shape).astype(np.float32)


def lengths(n, t, dtype=np.float32):
    """Valid lengths per row from 0 to ``t`` (beyond ``t`` MXNet's softmax reads past the row)."""
    values = RNG.randint(0, t + 1, n)
    values[0] = max(1, values[0])
    return values.astype(dtype)


def both(dynamic):
    """(sizes, dynamic axes) for the static and the dynamic variant of a case."""
    return {"static": (STATIC, {}), "dynamic": (SIZES, dynamic)}


# -- softmax with valid lengths -----------------------------------------------------------
SOFTMAX_LENGTH = [dict(axis=-1), dict(axis=-1, temperature=2.5), dict(axis=1), dict(axis=-1, dtype="float64")]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("attrs", SOFTMAX_LENGTH, ids=[str(a) for a in SOFTMAX_LENGTH])
@pytest.mark.parametrize("length_dtype", [np.int32, np.int64])
def test_softmax_use_length(attrs, length_dtype, mode, opset, tmp_path):
    """(N, T, T) scores, lengths (N, T) over the other axes: positions >= length are 0, a row
    of length 0 is all 0."""
    sym = mx.sym.softmax(mx.sym.var("data"), mx.sym.var("length"), use_length=True, name="sm", **attrs)

    def make(n, t):
        return {"data": randn(n, t, t) * 2, "length": np.stack([lengths(t, t, length_dtype) for _ in range(n)])}
    sizes, dyn = both({"data": {0: "batch", 1: "seq", 2: "seq"}, "length": {0: "batch", 1: "seq"}})[mode]
    check_dynamic(sym, make, sizes, dyn, opset=opset, tmp_path=tmp_path)


# -- fused attention (time-major) ----------------------------------------------------------
HEADS, HEAD_DIM = 2, 3


def _selfatt(qkv):
    scores = mx.sym.contrib.interleaved_matmul_selfatt_qk(qkv, heads=HEADS)
    return mx.sym.Group([scores, mx.sym.contrib.interleaved_matmul_selfatt_valatt(
        qkv, mx.sym.softmax(scores, axis=-1), heads=HEADS)])


def _encdec(q, kv):
    scores = mx.sym.contrib.interleaved_matmul_encdec_qk(q, kv, heads=HEADS)
    return mx.sym.Group([scores, mx.sym.contrib.interleaved_matmul_encdec_valatt(
        kv, mx.sym.softmax(scores, axis=-1), heads=HEADS)])


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_interleaved_selfatt(mode, opset, tmp_path):
    sym = _selfatt(mx.sym.var("data"))
    sizes, dyn = both(TB)[mode]
    check_dynamic(sym, lambda n, t: {"data": randn(t, n, HEADS * 3 * HEAD_DIM)}, sizes, dyn,
                  opset=opset, tmp_path=tmp_path, name="selfatt")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_interleaved_encdec(mode, opset, tmp_path):
    """Queries and memory of different, independently dynamic lengths."""
    sym = _encdec(mx.sym.var("data"), mx.sym.var("mem"))

    def make(n, t):
        return {"data": randn(t, n, HEADS * HEAD_DIM), "mem": randn(t + 2, n, HEADS * 2 * HEAD_DIM)}
    sizes, dyn = both({"data": {0: "tgt", 1: "batch"}, "mem": {0: "src", 1: "batch"}})[mode]
    check_dynamic(sym, make, sizes, dyn, opset=opset, tmp_path=tmp_path, name="encdec")


# -- small contrib ops ---------------------------------------------------------------------
CONTRIB = {
    "div_sqrt_dim": lambda x: mx.sym.contrib.div_sqrt_dim(x),
    "arange_like_axis": lambda x: mx.sym.broadcast_add(
        x, mx.sym.reshape(mx.sym.contrib.arange_like(x, axis=1, start=0.5, step=0.25), shape=(1, -1, 1))),
    "arange_like_repeat": lambda x: x * mx.sym.contrib.arange_like(x, repeat=3, start=-1.0, step=0.5),
    "arange_like_whole": lambda x: x * mx.sym.contrib.arange_like(x),
    "arange_infer_range": lambda x: mx.sym.elemwise_add(
        mx.sym.reshape(x, shape=(-1,)), mx.sym.arange(start=1, step=2, repeat=2, infer_range=True)),
    "arange": lambda x: mx.sym.broadcast_add(x, mx.sym.arange(1, 9, step=1.5, repeat=2).reshape((1, 1, -1))),
    "erf": lambda x: mx.sym.erf(x),
    "gelu": lambda x: mx.sym.LeakyReLU(x, act_type="gelu"),
    "broadcast_axis": lambda x: mx.sym.broadcast_axis(mx.sym.expand_dims(x, axis=2), axis=2, size=3),
    "where_zeros_like": lambda x: mx.sym.where(x > 0, x, mx.sym.zeros_like(x) - 1),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("op", list(CONTRIB))
def test_contrib_ops(op, mode, opset, tmp_path):
    sym = CONTRIB[op](mx.sym.var("data"))
    width = 5 if op == "div_sqrt_dim" else (12 if op == "arange" else 4)
    dyn = {"data": {0: "batch", 1: "seq", 2: "width"}} if op == "div_sqrt_dim" else BT
    if op == "arange":  # its output is static: the other axes vary
        dyn = BT
    sizes, dyn = both(dyn)[mode]
    make = (lambda n, t: {"data": randn(n, t, width if op != "div_sqrt_dim" else t + 1)})
    check_dynamic(sym, make, sizes, dyn, opset=opset, tmp_path=tmp_path, name=op)


# -- sequence ops --------------------------------------------------------------------------
SEQUENCE = [("SequenceMask", 0, True), ("SequenceMask", 1, True), ("SequenceMask", 0, False),
            ("SequenceLast", 0, True), ("SequenceLast", 1, True), ("SequenceLast", 0, False),
            ("SequenceReverse", 0, True), ("SequenceReverse", 0, False)]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("op,axis,use_length", SEQUENCE, ids=[f"{o}-axis{a}-{u}" for o, a, u in SEQUENCE])
def test_sequence_ops(op, axis, use_length, mode, opset, tmp_path):
    """Time on ``axis``, batch on the other; float lengths are truncated (2.5 keeps 2 steps)."""
    inputs = [mx.sym.var("data")] + ([mx.sym.var("length")] if use_length else [])
    attrs = dict(value=-2.0) if op == "SequenceMask" else {}
    sym = getattr(mx.sym, op)(*inputs, use_sequence_length=use_length, axis=axis, name=op.lower(), **attrs)

    def make(n, t):
        feeds = {"data": randn(*((t, n, 3) if axis == 0 else (n, t, 3)))}
        if use_length:
            feeds["length"] = np.clip(lengths(n, t) + 0.5, 1, t)  # non-integer, >= 1
        return feeds
    dyn = {"data": {axis: "seq", 1 - axis: "batch"}, "length": {0: "batch"}}
    if not use_length:
        dyn.pop("length")
    sizes, dyn = both(dyn)[mode]
    check_dynamic(sym, make, sizes, dyn, opset=opset, tmp_path=tmp_path)


# -- like ops ------------------------------------------------------------------------------
LIKE = [("broadcast_like", dict()), ("broadcast_like", dict(lhs_axes=(0,), rhs_axes=(0,))),
        ("broadcast_like", dict(lhs_axes=(-2,), rhs_axes=(1,))),
        ("slice_like", dict()), ("slice_like", dict(axes=(0, -1))), ("slice_like", dict(axes=(1,)))]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("op,attrs", LIKE, ids=[f"{o}-{a}" for o, a in LIKE])
def test_like_ops(op, attrs, mode, opset, tmp_path):
    """The target sizes come from ``like`` at run time, whichever of its axes vary."""
    sym = getattr(mx.sym, op)(mx.sym.var("data"), mx.sym.var("like"), name=op, **attrs)

    def make(n, t):
        if op == "slice_like":
            return {"data": randn(n + 2, t + 3, 6), "like": randn(n, t, 4)}
        lhs = {(): (1, t, 1), (0,): (1, t, 4), (-2,): (n, 1, 4)}[tuple(attrs.get("lhs_axes", ()))]
        return {"data": randn(*lhs), "like": randn(n, t, 4)}
    dyn = {"like": {0: "batch", 1: "seq"}}
    if op == "slice_like":
        dyn["data"] = {0: "rows", 1: "cols"}
    elif attrs.get("lhs_axes") == (0,):
        dyn["data"] = {1: "seq"}
    elif attrs.get("lhs_axes"):
        dyn["data"] = {0: "batch"}
    else:
        dyn["data"] = {1: "seq"}
    sizes, dyn = both(dyn)[mode]
    check_dynamic(sym, make, sizes, dyn, opset=opset, tmp_path=tmp_path)


# -- LayerNorm, Embedding ------------------------------------------------------------------
LAYER_NORM = [dict(axis=-1), dict(axis=1), dict(axis=0), dict(axis=-1, output_mean_var=True),
              dict(axis=1, output_mean_var=True)]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("as_input", [False, True], ids=["params", "inputs"])
@pytest.mark.parametrize("attrs", LAYER_NORM, ids=[str(a) for a in LAYER_NORM])
def test_layer_norm_any_axis(attrs, as_input, mode, opset, tmp_path):
    """Normalized over one axis (of size 4 here; the others vary), gamma/beta as initializers
    or graph inputs."""
    axis = attrs["axis"]
    sym = mx.sym.LayerNorm(mx.sym.var("data"), mx.sym.var("gamma"), mx.sym.var("beta"), eps=1e-4,
                           name="layer_norm", **attrs)
    weights = {"gamma": RNG.uniform(0.5, 1.5, 4).astype(np.float32), "beta": randn(4)}

    def make(n, t):
        shape = {-1: (n, t, 4), 1: (n, 4, t), 0: (4, n, t)}[axis]
        return dict(data=randn(*shape) * 2 + 1, **(weights if as_input else {}))
    dyn = {"data": {-1: {0: "batch", 1: "seq"}, 1: {0: "batch", 2: "seq"}, 0: {1: "batch", 2: "seq"}}[axis]}
    sizes, dyn = both(dyn)[mode]
    check_dynamic(sym, make, sizes, dyn, params=None if as_input else weights, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_embedding_float_ids(mode, opset, tmp_path):
    """Float ids are truncated and clipped to [0, input_dim) as MXNet does (2.7 -> 2, -1 -> 0)."""
    sym = mx.sym.Embedding(mx.sym.var("data"), mx.sym.var("weight"), input_dim=10, output_dim=3, name="embed")
    weight = randn(10, 3)

    def make(n, t):
        return {"data": RNG.uniform(-2, 12, (n, t)).astype(np.float32)}
    sizes, dyn = both(BT)[mode]
    check_dynamic(sym, make, sizes, dyn, params={"weight": weight}, opset=opset, tmp_path=tmp_path)


# -- RNN with begin states as inputs -------------------------------------------------------
@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("rnn_mode", ["lstm", "gru", "rnn_tanh"])
def test_rnn_begin_states_as_inputs(rnn_mode, mode, opset, tmp_path):
    """The fused RNN op fed begin states (as a language model's caller does), its flat params
    from _rnn_param_concat of per-layer weights; time and batch both dynamic."""
    hidden, layers, width = 4, 2, 3
    gates = {"lstm": 4, "gru": 3, "rnn_tanh": 1}[rnn_mode]
    weights, pieces = {}, []
    for kind in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"):
        for layer in range(layers):
            name = f"l{layer}_{kind}"
            cols = (width if layer == 0 else hidden) if kind == "i2h_weight" else hidden
            shape = (gates * hidden, cols) if kind.endswith("weight") else (gates * hidden,)
            weights[name] = RNG.uniform(-0.6, 0.6, shape).astype(np.float32)
            pieces.append(mx.sym.reshape(mx.sym.var(name), shape=(-1,)))
    flat = mx.sym._internal._rnn_param_concat(*pieces, dim=0, num_args=len(pieces))
    states = [mx.sym.var("state")] + ([mx.sym.var("cell")] if rnn_mode == "lstm" else [])
    sym = mx.sym.RNN(mx.sym.var("data"), flat, *states, state_size=hidden, num_layers=layers,
                     mode=rnn_mode, state_outputs=True, name="rnn")

    def make(n, t):
        feeds = {"data": randn(t, n, width), "state": randn(layers, n, hidden)}
        if rnn_mode == "lstm":
            feeds["cell"] = randn(layers, n, hidden)
        return feeds
    dyn = {"data": {0: "seq", 1: "batch"}, "state": {1: "batch"}, "cell": {1: "batch"}}
    if rnn_mode != "lstm":
        dyn.pop("cell")
    sizes, dyn = both(dyn)[mode]
    check_dynamic(sym, make, sizes, dyn, params=weights, opset=opset, tmp_path=tmp_path)
