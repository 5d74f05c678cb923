"""Dynamic axes beyond the batch: named dims through export_onnx / export_model, axes that
follow them through reshapes, axes that cannot vary (exported fixed, warned, recorded), and
ONNX names kept unique where MXNet repeats a node name."""
import json
import warnings

import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from mxnet.gluon import nn

from export import export_onnx
from export.onnx import export_model
from export.onnx.dims import DynamicAxisWarning

RNG = np.random.RandomState(7)


def _dims(value):
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def _run(path, feeds):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)


def _mxnet(sym, feeds, params=None):
    args = {n: mx.nd.array(v) for n, v in {**feeds, **(params or {})}.items()}
    return [o.asnumpy() for o in sym.bind(mx.cpu(), args=args).forward()]


def _check(sym, path, feeds_list, params=None):
    """ORT = MXNet for every feed dict (each at other dynamic sizes) through one file."""
    for feeds in feeds_list:
        for got, want in zip(_run(path, feeds), _mxnet(sym, feeds, params)):
            assert got.shape == want.shape
            assert np.ptp(want) > 0, "degenerate reference"
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _heads_sym():
    """(N, T, C) -> split into 2 heads -> (N * 2, T, C / 2) -> back: axes that are products
    of named dims (batch * 2) and several dynamic axes in one reshape."""
    x = mx.sym.var("data")
    heads = mx.sym.reshape(x, shape=(0, 0, 2, -1), name="split_heads")
    merged = mx.sym.reshape(mx.sym.transpose(heads, axes=(0, 2, 1, 3)), shape=(-3, -2), name="merge")
    scores = mx.sym.batch_dot(merged, merged, transpose_b=True, name="scores")  # (N*2, T, T)
    context = mx.sym.batch_dot(mx.sym.softmax(scores, axis=-1), merged)
    back = mx.sym.reshape(context, shape=(-4, -1, 2, 0, 0), name="unsplit")
    out = mx.sym.reshape(mx.sym.transpose(back, axes=(0, 2, 1, 3)), shape=(0, 0, -3))
    return mx.sym.Group([out, mx.sym.reshape_like(mx.sym.reshape(x, shape=(-1, 0)), x, name="roundtrip")])


@pytest.mark.parametrize("opset", [13, 23])
def test_named_dims_follow_reshapes_and_products(opset, tmp_path):
    path = tmp_path / "m.onnx"
    export_onnx((_heads_sym(), {}), path, input_shape=(2, 5, 8), opset=opset,
                dynamic_axes={"data": {0: "batch", 1: "seq"}})
    model = onnx.load(str(path))
    assert _dims(model.graph.input[0]) == ["batch", "seq", 8]
    assert [_dims(o) for o in model.graph.output] == [["batch", "seq", 8]] * 2
    assert json.loads({p.key: p.value for p in model.metadata_props}["dynamic_axes"]) == \
        {"data": {"0": "batch", "1": "seq"}}
    _check(_heads_sym(), path, [{"data": RNG.randn(b, t, 8).astype(np.float32)}
                                for b, t in ((2, 5), (3, 7), (1, 2))])


def test_list_form_merges_axes_that_must_match(tmp_path):
    """mx2onnx style: each listed axis named apart; two that meet in one op become one dim."""
    a = mx.sym.var("a")
    sym = mx.sym.broadcast_add(a, mx.sym.var("b")) * a
    path = tmp_path / "m.onnx"
    export_onnx((sym, {}), path, input_shape={"a": (2, 3), "b": (2, 3)},
                dynamic_axes={"a": [0, 1], "b": [0, 1]})
    model = onnx.load(str(path))
    assert _dims(model.graph.input[0]) == _dims(model.graph.input[1]) == ["batch", "a_dim1"]
    _check(sym, path, [{"a": RNG.randn(4, 6).astype(np.float32), "b": RNG.randn(4, 6).astype(np.float32)}])


def test_export_model_dynamic_input_shapes(tmp_path):
    sym = _heads_sym()
    path = str(tmp_path / "m.onnx")
    export_model(sym, {}, [(2, 5, 8)], np.float32, path, dynamic=True,
                 dynamic_input_shapes=[(None, None, 8)])
    assert _dims(onnx.load(path).graph.input[0]) == ["batch", "data_dim1", 8]
    _check(sym, path, [{"data": RNG.randn(3, 4, 8).astype(np.float32)}])


def test_export_model_named_dims_in_dynamic_input_shapes(tmp_path):
    """mx2onnx's string dims (MXNet's transformer test: ``(batch, "seq_length", 512)``) are
    dynamic labels: inputs that must match become one dim, the others stay apart even when
    labelled alike (a decoder's growing input beside a fixed-length memory)."""
    a, b, c = mx.sym.var("a"), mx.sym.var("b"), mx.sym.var("c")
    memory = mx.sym.broadcast_add(a, mx.sym.expand_dims(b, axis=2))  # a and b must match
    sym = mx.sym.batch_dot(c, memory, transpose_b=True)  # (2, T_c, T_ab): c's length apart
    path = str(tmp_path / "m.onnx")
    assert sym.list_inputs() == ["c", "a", "b"]  # in_shapes go in this order
    export_model(sym, {}, [(2, 5, 3), (2, 5, 3), (2, 5)], np.float32, path, dynamic=True,
                 dynamic_input_shapes=[(2, "seq_length", 3), (2, "seq_length", 3), (2, "seq_length")])
    model = onnx.load(path)
    assert [_dims(i) for i in model.graph.input] == [[2, "seq_length", 3], [2, "seq_length_1", 3],
                                                     [2, "seq_length_1"]]
    _check(sym, path, [{"a": RNG.randn(2, 7, 3).astype(np.float32), "b": RNG.randn(2, 7).astype(np.float32),
                        "c": RNG.randn(2, n, 3).astype(np.float32)} for n in (1, 4)])


@pytest.mark.parametrize("case", ["param_sized_by_seq", "reshape_splits_batch"])
def test_axis_that_cannot_vary_is_fixed_warned_and_recorded(case, tmp_path):
    x = mx.sym.var("data")
    if case == "param_sized_by_seq":  # flatten=True: the weight is (4, seq * 3)
        sym = mx.sym.FullyConnected(x, num_hidden=4, name="fc")
        params = {"fc_weight": RNG.randn(4, 15).astype(np.float32), "fc_bias": RNG.randn(4).astype(np.float32)}
        dim, node, kept = "seq", "fc", {0: "batch"}
    else:  # (-4, 2, 2): the batch must be 4 (a split (-4, 2, -1) varies: tests/test_dynamic_input_shapes.py)
        sym = mx.sym.reshape(x, shape=(-4, 2, 2, 0, 0), name="pairs")
        params, dim, node, kept = {}, "batch", "pairs", {1: "seq"}
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_onnx((sym, params), path, input_shape=(4, 5, 3), dynamic_axes={"data": {0: "batch", 1: "seq"}})
    messages = [str(w.message) for w in caught if issubclass(w.category, DynamicAxisWarning)]
    assert len(messages) == 1 and repr(dim) in messages[0] and repr(node) in messages[0]
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    fixed = json.loads(props["fixed_axes"])
    assert [(f["dim"], f["node"], f["size"]) for f in fixed] == [(dim, node, 4 if dim == "batch" else 5)]
    assert json.loads(props["dynamic_axes"]) == {"data": {str(a): d for a, d in kept.items()}}
    other = (6, 5, 3) if dim == "seq" else (4, 7, 3)
    _check(sym, path, [{"data": RNG.randn(*other).astype(np.float32)}], params)


def test_fully_convolutional_net_with_dynamic_height_and_width(tmp_path):
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3, padding=1, in_channels=3), nn.BatchNorm(in_channels=4), nn.Activation("relu"),
            nn.MaxPool2D(2, 2), nn.Conv2D(2, 1, in_channels=4))
    net.initialize(mx.init.Xavier())
    net[1].running_mean.set_data(mx.nd.array(RNG.randn(4)))
    path = tmp_path / "fcn.onnx"
    export_onnx(net, path, input_shape=(1, 3, 8, 10),
                dynamic_axes={"data": {0: "batch", 2: "height", 3: "width"}})
    model = onnx.load(str(path))
    assert _dims(model.graph.input[0]) == ["batch", 3, "height", "width"]
    assert _dims(model.graph.output[0])[:2] == ["batch", 2]  # H/2, W/2: named per output
    for shape in ((2, 3, 12, 6), (1, 3, 9, 17)):
        x = RNG.randn(*shape).astype(np.float32)
        got, = _run(path, {"data": x})
        np.testing.assert_allclose(got, net(mx.nd.array(x)).asnumpy(), rtol=1e-4, atol=1e-5)


def test_bad_dynamic_axes_are_one_clear_error(tmp_path):
    sym = mx.sym.concat(mx.sym.var("a"), mx.sym.var("b"), dim=1)
    shapes = {"a": (2, 3), "b": (2, 4)}
    for spec, words in [({"c": [0]}, "not run-time inputs"), ({"a": [2]}, "out of range"),
                        ({"a": {1: "seq"}, "b": {1: "seq"}}, "different sizes")]:
        with pytest.raises(ValueError, match=words):
            export_onnx((sym, {}), tmp_path / "m.onnx", input_shape=shapes, dynamic_axes=spec)
    assert list(tmp_path.iterdir()) == []


class _Twice(mx.gluon.HybridBlock):
    """One block applied twice: MXNet gives both applications the same node names."""

    def __init__(self):
        super().__init__()
        self.act = nn.Activation("tanh")
        self.drop = nn.Dropout(0.5)

    def hybrid_forward(self, F, x):
        return self.drop(self.act(self.drop(self.act(x)) * 2.0))


@pytest.mark.parametrize("optimize", [True, False])
def test_repeated_node_names_get_unique_onnx_names(optimize, tmp_path):
    net = _Twice()
    net.initialize()
    path = tmp_path / "m.onnx"
    export_onnx(net, path, input_shape=(2, 3), optimize=optimize)
    x = RNG.randn(3, 3).astype(np.float32)
    np.testing.assert_allclose(_run(path, {"data": x})[0], net(mx.nd.array(x)).asnumpy(), rtol=1e-6)


@pytest.mark.parametrize("attrs", [dict(), dict(axis=(0, 1))])
def test_static_squeeze_of_one_element_keeps_mxnet_shape(attrs, tmp_path):
    sym = mx.sym.squeeze(mx.sym.var("data"), **attrs) * 2.0
    path = tmp_path / "m.onnx"
    export_onnx((sym, {}), path, input_shape=(1, 1), dynamic_batch=False)
    got, = _run(path, {"data": np.array([[1.5]], np.float32)})
    assert got.shape == (1,) and got[0] == 3.0


SPATIAL = {"data": {0: "batch", 2: "height", 3: "width"}}


@pytest.mark.parametrize("opset", [13, 23])
def test_spatial_ops_over_dynamic_height_and_width(opset, tmp_path):
    """'full' max pooling (MXNet's ceil windows) and a scale-2 bilinear resize follow H and W."""
    x = mx.sym.var("data")
    pooled = mx.sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pool_type="max", pooling_convention="full")
    sym = mx.sym.contrib.BilinearResize2D(pooled, scale_height=2.0, scale_width=2.0, align_corners=False)
    path = tmp_path / "m.onnx"
    export_onnx((sym, {}), path, input_shape=(1, 2, 8, 9), opset=opset, dynamic_axes=SPATIAL)
    _check(sym, path, [{"data": RNG.randn(*s).astype(np.float32)} for s in ((1, 2, 8, 9), (2, 2, 11, 6))])


@pytest.mark.parametrize("sym,words", [
    (mx.sym.contrib.AdaptiveAvgPooling2D(mx.sym.var("data"), output_size=(2, 2)), "output_size"),
    (mx.sym.Crop(mx.sym.var("data"), num_args=1, h_w=(3, 3), center_crop=True), "cropping"),
    (mx.sym.Pooling(mx.sym.var("data"), kernel=(2, 2), stride=(2, 2), pool_type="avg",
                    pooling_convention="full"), "pooling_convention='full'"),
], ids=["adaptive_pool", "crop", "full_avg_pool"])
def test_spatial_op_that_needs_static_sizes_is_one_clear_error(sym, words, tmp_path):
    with pytest.raises(NotImplementedError, match=words) as err:
        export_onnx((sym, {}), tmp_path / "m.onnx", input_shape=(1, 2, 8, 9), dynamic_axes=SPATIAL)
    assert "dynamic height/width" in str(err.value)
    assert list(tmp_path.iterdir()) == []
