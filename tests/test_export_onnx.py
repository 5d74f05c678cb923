"""export_onnx / export_symbol / export_model: file properties and the nn converters' corner cases."""
import json

import mxnet as mx
import numpy as np
import onnx
import pytest
from mxnet.gluon import nn

import export
from export import verify
from export.onnx import MAX_OPSET, api, export_model, get_operator_support, writer


def bn_net():
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, in_channels=2), nn.BatchNorm(in_channels=4), nn.Activation("relu"),
                nn.Dropout(0.3), nn.MaxPool2D(2, 2), nn.Flatten(), nn.Dense(5, in_units=4 * 3 * 3))
    net.initialize(mx.init.Xavier())
    rng = np.random.RandomState(0)
    bn = net[1]
    for p, v in ((bn.running_mean, rng.normal(0, 0.5, 4)), (bn.running_var, rng.uniform(0.5, 2, 4)),
                 (bn.gamma, rng.uniform(0.5, 1.5, 4)), (bn.beta, rng.normal(0, 0.5, 4))):
        p.set_data(mx.nd.array(v))
    return net


def run(path, *inputs):
    return verify.onnx_backend(str(path))([np.asarray(x, np.float32) for x in inputs])


def check(block, path, shapes, batch=3, **kwargs):
    """Export ``block``, run ORT at ``batch``, compare with the block; return the ONNX model."""
    rng = np.random.RandomState(0)
    export.export_onnx(block, path, input_shape=shapes[0] if len(shapes) == 1 else shapes, **kwargs)
    xs = [rng.uniform(-1, 1, (batch,) + tuple(s[1:])).astype(np.float32) for s in shapes]
    want = block(*[mx.nd.array(x) for x in xs])
    want = [w.asnumpy() for w in (want if isinstance(want, (list, tuple)) else [want])]
    got = run(path, *xs)
    assert verify.max_error(want, got) <= verify.tolerance(want)
    return onnx.load(str(path))


# -- file properties -----------------------------------------------------------------------
def test_deterministic_bytes_and_no_temp_files(tmp_path):
    net = bn_net()
    export.export_onnx(net, tmp_path / "a.onnx", input_shape=(1, 2, 8, 8))
    export.export_onnx(net, tmp_path / "b.onnx", input_shape=(1, 2, 8, 8))
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "b.onnx"]


@pytest.mark.parametrize("opset", [13, 17, MAX_OPSET])
def test_opset_ir_weights_dynamic_batch(tmp_path, opset):
    model = check(bn_net(), tmp_path / "m.onnx", [(1, 2, 8, 8)], opset=opset)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [opset]
    assert model.ir_version == onnx.helper.find_min_ir_version_for([model.opset_import[0]])
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["data"]  # weights are initializers only
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    assert dims(model.graph.input[0]) == ["batch", 2, 8, 8]
    assert dims(model.graph.output[0]) == ["batch", 5]


def test_static_batch(tmp_path):
    model = check(bn_net(), tmp_path / "m.onnx", [(3, 2, 8, 8)], dynamic_batch=False)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 3


def test_optimize_folds_batchnorm_and_drops_identities(tmp_path):
    net = bn_net()
    ops = {}
    for optimize in (True, False):
        model = check(net, tmp_path / f"{optimize}.onnx", [(1, 2, 8, 8)], optimize=optimize)
        ops[optimize] = [n.op_type for n in model.graph.node]
    assert "BatchNormalization" in ops[False] and "Identity" in ops[False]
    assert "BatchNormalization" not in ops[True] and "Identity" not in ops[True]


def test_outputs_keep_symbol_order_and_names(tmp_path):
    data = mx.sym.var("data")
    z = mx.sym.relu(data, name="zeta")
    a = mx.sym.sigmoid(data, name="alpha")
    sym = mx.sym.Group([z, a, z])
    model_path = tmp_path / "m.onnx"
    export.export_onnx((sym, {}), model_path, input_shape=(1, 4))
    names = [o.name for o in onnx.load(str(model_path)).graph.output]
    assert names[:2] == ["zeta_output", "alpha_output"] and len(set(names)) == 3
    x = np.random.RandomState(0).uniform(-1, 1, (2, 4)).astype(np.float32)
    outs = run(model_path, x)
    np.testing.assert_allclose(outs[0], np.maximum(x, 0))
    np.testing.assert_allclose(outs[2], np.maximum(x, 0))


def test_metadata_from_duck_typed_zoo_config(tmp_path):
    class Config:
        input_shape, classes, mean, std = (2, 8, 8), 5, (0.5, 0.5), (0.2, 0.2)
        labels, dataset = tuple("abcde"), "toy"
    net = bn_net()
    net.zoo_name, net.zoo_config = "toynet", Config()
    export.export_onnx(net, tmp_path / "m.onnx")  # shape from zoo_config
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert props["model"] == "toynet" and props["input_layout"] == "NCHW"
    assert json.loads(props["mean"]) == [0.5, 0.5] and json.loads(props["classes"]) == 5
    assert json.loads(props["labels"]) == list("abcde")


# -- the mx.onnx drop-in ---------------------------------------------------------------------
def test_export_model_drop_in(tmp_path):
    net = bn_net()
    paths = export.export_symbol(net, str(tmp_path / "m"), input_shape=(1, 2, 8, 8))
    sym = mx.sym.load(paths["symbol"])
    params = mx.nd.load(paths["params"])  # "arg:"/"aux:" prefixed, as MXNet saves them
    x = np.random.RandomState(0).uniform(size=(4, 2, 8, 8)).astype(np.float32)
    want = net(mx.nd.array(x)).asnumpy()
    for i, (s, p) in enumerate([(paths["symbol"], paths["params"]), (sym, params)]):
        out = str(tmp_path / f"{i}.onnx")
        assert export_model(s, p, [(4, 2, 8, 8)], np.float32, out) == out
        assert verify.max_error([want], run(out, x)) <= verify.tolerance([want])
    out = str(tmp_path / "dyn.onnx")
    export_model(sym, params, input_shape=[(1, 2, 8, 8)], onnx_file_path=out, dynamic=True,
                 dynamic_input_shapes=[(None, 2, 8, 8)])
    assert verify.max_error([want], run(out, x)) <= verify.tolerance([want])


def test_external_data_above_threshold(tmp_path, monkeypatch):
    """Models over protobuf's 2 GB limit go to <file>.data; a low threshold exercises the path."""
    monkeypatch.setattr(writer, "EXTERNAL_DATA_THRESHOLD", 1024)
    path = tmp_path / "m.onnx"
    check(bn_net(), path, [(1, 2, 8, 8)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.onnx.data"]
    assert path.stat().st_size < 4096


def test_operator_support_table():
    table = get_operator_support()
    for op in ("Convolution", "FullyConnected", "Pooling", "BatchNorm", "Activation", "Concat"):
        assert table[op] == [13]
    assert "Convolution" in get_operator_support(13)


# -- nn converters: attribute variants that change the emitted ONNX ----------------------------
def one_op(fn, *param_shapes):
    """A HybridBlock applying ``fn(F, x, *params)`` with Gluon Parameters of the given shapes."""
    class Op(mx.gluon.HybridBlock):
        def __init__(self):
            super().__init__(prefix="op_")
            with self.name_scope():
                for i, s in enumerate(param_shapes):
                    setattr(self, f"w{i}", self.params.get(f"w{i}", shape=s))

        def hybrid_forward(self, F, x, **params):
            return fn(F, x, *[params[f"w{i}"] for i in range(len(param_shapes))])
    block = Op()
    block.initialize(mx.init.Uniform(1.0))
    return block


CONV_CASES = {
    "1d": ((1, 4, 9), dict(kernel=(3,), num_filter=6, pad=(1,)), (6, 4, 3)),
    "2d_group_dilate_stride": ((1, 4, 9, 9), dict(kernel=(3, 3), num_filter=6, num_group=2,
                                                  dilate=(2, 1), stride=(2, 1), pad=(1, 2)), (6, 2, 3, 3)),
    "3d_no_bias": ((1, 2, 5, 6, 6), dict(kernel=(2, 3, 3), num_filter=3, no_bias=True), (3, 2, 2, 3, 3)),
}


OPSETS = (13, MAX_OPSET)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_convolution(case, opset, tmp_path):
    shape, attrs, wshape = CONV_CASES[case]
    bias = () if attrs.get("no_bias") else ((attrs["num_filter"],),)
    block = one_op(lambda F, x, w, *b: F.Convolution(x, w, *b, **attrs), wshape, *bias)
    check(block, tmp_path / "m.onnx", [shape], opset=opset)


@pytest.mark.parametrize("flatten,no_bias,shape", [(True, False, (1, 3, 4)), (False, False, (1, 3, 4)),
                                                   (False, True, (1, 4)), (True, True, (1, 4))])
def test_fully_connected(flatten, no_bias, shape, tmp_path):
    k = int(np.prod(shape[1:])) if flatten else shape[-1]
    params = [(5, k)] + ([] if no_bias else [(5,)])
    block = one_op(lambda F, x, *p: F.FullyConnected(x, *p, num_hidden=5, flatten=flatten,
                                                     no_bias=no_bias), *params)
    check(block, tmp_path / "m.onnx", [shape])


def test_weights_as_graph_inputs(tmp_path):
    data, weight = mx.sym.var("data"), mx.sym.var("weight")
    sym = mx.sym.FullyConnected(data, weight, num_hidden=3, no_bias=True, flatten=False)
    export.export_onnx((sym, {}), tmp_path / "m.onnx", input_shape={"data": (2, 4), "weight": (3, 4)},
                       dynamic_batch=False)
    x, w = np.random.RandomState(0).uniform(size=(2, 4)), np.random.RandomState(1).uniform(size=(3, 4))
    np.testing.assert_allclose(run(tmp_path / "m.onnx", x, w)[0], x @ w.T, rtol=1e-5)


POOL_CASES = {
    # MXNet 'full' with padding keeps windows starting in the padding: 5x5 k2 s2 p1 -> 4x4
    "max_full_pad": dict(kernel=(2, 2), stride=(2, 2), pad=(1, 1), pool_type="max", pooling_convention="full"),
    "avg_full_pad_count_pad": dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
                                   pooling_convention="full", count_include_pad=True),
    "avg_full_pad_no_count_pad": dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
                                      pooling_convention="full", count_include_pad=False),
    "avg_valid_pad": dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type="avg"),
    "sum_valid": dict(kernel=(2, 2), stride=(2, 2), pool_type="sum"),
    "lp_valid": dict(kernel=(2, 2), stride=(1, 1), pool_type="lp", p_value=2),
    "max_global": dict(kernel=(1, 1), pool_type="max", global_pool=True),
    "avg_global": dict(kernel=(1, 1), pool_type="avg", global_pool=True),
    "sum_global": dict(kernel=(1, 1), pool_type="sum", global_pool=True),
    "max_1d_full": dict(kernel=(2,), stride=(2,), pad=(1,), pool_type="max", pooling_convention="full"),
    "avg_3d_full": dict(kernel=(2, 2, 2), stride=(2, 2, 2), pad=(1, 1, 1), pool_type="avg",
                        pooling_convention="full"),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling(case, opset, tmp_path):
    attrs = POOL_CASES[case]
    shape = {1: (1, 3, 7), 2: (1, 3, 5, 5), 3: (1, 2, 5, 5, 5)}[len(attrs["kernel"])]
    block = one_op(lambda F, x: F.Pooling(x, **attrs))
    model = check(block, tmp_path / "m.onnx", [shape], opset=opset)
    if case == "max_full_pad":
        out = model.graph.output[0].type.tensor_type.shape.dim
        assert [d.dim_value for d in out][2:] == [4, 4]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("fix_gamma,axis", [(True, 1), (False, 1), (False, -1), (False, 2)])
def test_batchnorm(fix_gamma, axis, opset, tmp_path):
    shape = (1, 3, 4, 5)
    c = shape[axis]
    rng = np.random.RandomState(0)
    stats = [rng.uniform(0.5, 1.5, c), rng.normal(0, 0.5, c), rng.normal(0, 0.5, c), rng.uniform(0.5, 2, c)]
    data = mx.sym.var("data")
    names = ["gamma", "beta", "mean", "var"]
    sym = mx.sym.BatchNorm(data, *[mx.sym.var(n) for n in names], fix_gamma=fix_gamma, axis=axis,
                           eps=1e-3, use_global_stats=True, name="bn")
    params = {n: mx.nd.array(v) for n, v in zip(names, stats)}
    for optimize in (True, False):
        export.export_onnx((sym, params), tmp_path / "m.onnx", input_shape=shape, optimize=optimize,
                           opset=opset)
        x = rng.uniform(-1, 1, (2,) + shape[1:]).astype(np.float32)
        gamma = np.ones(c) if fix_gamma else stats[0]
        bshape = [1] * 4
        bshape[axis] = c
        r = lambda v: np.reshape(v, bshape)
        want = (x - r(stats[2])) / np.sqrt(r(stats[3]) + 1e-3) * r(gamma) + r(stats[1])
        np.testing.assert_allclose(run(tmp_path / "m.onnx", x)[0], want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "softrelu", "softsign"])
def test_activation(act, tmp_path):
    check(one_op(lambda F, x: F.Activation(x, act_type=act)), tmp_path / "m.onnx", [(1, 3, 4)])


def test_concat_flatten_identity_ops(tmp_path):
    def fn(F, x):
        y = F.concat(F.BlockGrad(x), F.identity(x), F.stop_gradient(x) * 2, dim=-1)
        return F.Flatten(F.Dropout(F.identity(y), p=0.5))
    for optimize in (True, False):
        check(one_op(fn), tmp_path / "m.onnx", [(1, 2, 3)], optimize=optimize)


def test_export_model_drops_training_label(tmp_path):
    """A Module-style symbol with SoftmaxOutput takes one in_shape, as with mx.onnx."""
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=4, name="fc")
    sym = mx.sym.SoftmaxOutput(fc, name="softmax")
    rng = np.random.RandomState(0)
    params = {"arg:fc_weight": mx.nd.array(rng.normal(size=(4, 3))), "arg:fc_bias": mx.nd.zeros(4)}
    out = str(tmp_path / "m.onnx")
    export_model(sym, params, [(2, 3)], np.float32, out)
    assert [i.name for i in onnx.load(out).graph.input] == ["data"]
    x = rng.uniform(size=(2, 3)).astype(np.float32)
    logits = x @ params["arg:fc_weight"].asnumpy().T
    want = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(run(out, x)[0], want, rtol=1e-5)


# -- tools/export.py --dynamic-axes ----------------------------------------------------------
def test_export_tool_dynamic_height_and_width(tmp_path, capsys):
    from _tools import load_tool
    tool = load_tool("export")
    out = tmp_path / "art"
    assert tool.main(["--model", "resnet18", "--input-size", "32", "--out", str(out), "--format", "onnx",
                      "--dynamic-axes", "data:0=batch,2=height,3=width"]) == 0
    manifest = json.loads((out / "resnet18" / "manifest.json").read_text())
    assert manifest["inputs"][0]["shape"] == [None, 1, None, None] and "fixed_axes" not in manifest
    session = __import__("onnxruntime").InferenceSession(str(out / "resnet18" / "model.onnx"),
                                                         providers=["CPUExecutionProvider"])
    assert session.run(None, {"data": np.zeros((2, 1, 40, 48), np.float32)})[0].shape == (2, 10)
    # LeNet's dense layer is sized by height: exported fixed, warned, in the manifest
    with pytest.warns(UserWarning, match="'height'.*cannot vary"):
        assert tool.main(["--model", "lenet", "--out", str(out), "--format", "onnx",
                          "--dynamic-axes", "data:0=batch,2=height"]) == 0
    manifest = json.loads((out / "lenet" / "manifest.json").read_text())
    assert manifest["inputs"][0]["shape"] == [None, 1, 28, 28]
    assert [f["dim"] for f in manifest["fixed_axes"]] == ["height"]


@pytest.mark.parametrize("spec", ["data", "data:zero=batch", ":0=batch"])
def test_export_tool_bad_dynamic_axes_is_a_usage_error(spec, capsys):
    from _tools import load_tool
    with pytest.raises(SystemExit) as exit_:
        load_tool("export").parse_args(["--dynamic-axes", spec])
    assert exit_.value.code == 2 and "--dynamic-axes takes" in capsys.readouterr().err


def test_optimize_folds_batchnorm_into_a_dense_layer(tmp_path):
    net = nn.HybridSequential(prefix="fc_")
    with net.name_scope():
        net.add(nn.Dense(6, in_units=5, use_bias=False), nn.BatchNorm(in_channels=6), nn.Activation("sigmoid"),
                nn.Dense(6, in_units=6), nn.BatchNorm(in_channels=6, scale=False))
    net.initialize(mx.init.Xavier())
    rng = np.random.RandomState(1)
    for bn in (net[1], net[4]):
        for p, v in ((bn.running_mean, rng.normal(0, 0.5, 6)), (bn.running_var, rng.uniform(0.5, 2, 6)),
                     (bn.gamma, rng.uniform(0.5, 1.5, 6)), (bn.beta, rng.normal(0, 0.5, 6))):
            p.set_data(mx.nd.array(v))
    model = check(net, tmp_path / "m.onnx", [(1, 5)])
    ops = [n.op_type for n in model.graph.node]
    assert "BatchNormalization" not in ops and ops.count("Gemm") == 2  # both folded, numerics checked


def test_block_with_vector_params_without_initializer_exports(tmp_path):
    """A gamma/beta or other vector with no init of its own (GluonCV's SSD expansion BatchNorms)
    gets a name-appropriate init, not the net's Xavier (which needs >= 2-D)."""
    class Scaled(mx.gluon.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(prefix="scaled_", **kwargs)
            self.gamma = self.params.get("gamma", shape=(3,), init=None)
            self.shift = self.params.get("shift", shape=(3,), init=None)
            self.weight = self.params.get("weight", shape=(3, 3), init=None)

        def hybrid_forward(self, F, x, gamma, shift, weight):
            return F.broadcast_add(F.broadcast_mul(F.dot(x, weight), gamma), shift)

    net = Scaled()
    export.export_onnx(net, tmp_path / "s.onnx", input_shape=(2, 3))
    assert (net.gamma.data().asnumpy() == 1).all()  # a scale starts at one
    assert net.weight.data().asnumpy().std() > 0
