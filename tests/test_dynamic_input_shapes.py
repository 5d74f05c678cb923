"""mx2onnx's ``dynamic_input_shapes`` through ``export_model``: each ``None`` is an unknown of its
own, shared only where the graph forces it, so inputs whose example sizes differ export (ROIs
beside feature maps, a time-major sequence beside its lengths, a concat of two batches); a
``-4`` reshape splitting the batch and ``squeeze`` without axis follow the batch at run time.
Every case runs in ONNX Runtime at two other sizes through one file and agrees with MXNet."""
import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from export.onnx import export_model

RNG = np.random.RandomState(3)


def _export(sym, feeds, dynamic_input_shapes, tmp_path, opset=None):
    """export_model at ``feeds``' shapes (symbol input order); returns the file and its input dims."""
    names = sym.list_inputs()
    path = str(tmp_path / "m.onnx")
    export_model(sym, {}, [feeds[n].shape for n in names], [feeds[n].dtype for n in names], path,
                 dynamic=True, dynamic_input_shapes=dynamic_input_shapes, opset_version=opset)
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
            for i in onnx.load(path).graph.input}
    return path, dims


def _agrees(sym, path, feeds):
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    gots = session.run(None, feeds)
    wants = [o.asnumpy() for o in sym.bind(mx.cpu(), {n: mx.nd.array(v) for n, v in feeds.items()}).forward()]
    assert len(gots) == len(wants)
    for got, want in zip(gots, wants):
        assert got.shape == want.shape and np.ptp(want) > 0
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _rois(count, images, size=8):
    corners = np.sort(RNG.uniform(0, size - 1, size=(count, 2, 2)), axis=1).reshape(count, 4)
    index = RNG.randint(0, images, size=(count, 1))
    return np.hstack([index, corners[:, [0, 2, 1, 3]]]).astype(np.float32)


def test_rois_beside_feature_maps(tmp_path):
    sym = mx.sym.contrib.ROIAlign(mx.sym.var("features"), mx.sym.var("rois"), pooled_size=(2, 2),
                                  spatial_scale=1.0, sample_ratio=2)
    make = lambda n, r: {"features": RNG.randn(n, 3, 8, 8).astype(np.float32), "rois": _rois(r, n)}  # noqa: E731
    path, dims = _export(sym, make(2, 5), [(None, 3, 8, 8), (None, 5)], tmp_path)
    assert dims == {"features": ["batch", 3, 8, 8], "rois": ["rois_dim0", 5]}
    for n, r in ((1, 3), (3, 7)):
        _agrees(sym, path, make(n, r))


def test_time_major_sequence_beside_its_lengths(tmp_path):
    """(T, N, C) and (N,): the lengths tie to the sequence's axis 1, not to its axis 0."""
    sym = mx.sym.SequenceMask(mx.sym.var("data"), mx.sym.var("lengths"), use_sequence_length=True,
                              axis=0, value=-2.0)

    def make(t, n):
        return {"data": RNG.randn(t, n, 4).astype(np.float32),
                "lengths": RNG.randint(1, t + 1, size=n).astype(np.float32)}
    path, dims = _export(sym, make(5, 3), [(None, None, 4), (None,)], tmp_path)
    assert dims == {"data": ["batch", "data_dim1", 4], "lengths": ["data_dim1"]}
    for t, n in ((7, 2), (3, 4)):
        _agrees(sym, path, make(t, n))


@pytest.mark.parametrize("given", [True, False], ids=["none_dims", "dynamic_only"])
def test_concat_of_two_batches_along_axis_0(given, tmp_path):
    """With dynamic=True alone, axis 0 of each input is an unknown of its own as well."""
    a, b = mx.sym.var("a"), mx.sym.var("b")
    sym = mx.sym.relu(mx.sym.concat(a, b * 2.0, dim=0) - 0.3)
    make = lambda n, m: {"a": RNG.randn(n, 3).astype(np.float32), "b": RNG.randn(m, 3).astype(np.float32)}  # noqa: E731
    path, dims = _export(sym, make(2, 5), [(None, 3), (None, 3)] if given else None, tmp_path)
    assert dims == {"a": ["batch", 3], "b": ["b_dim0", 3]}
    for n, m in ((4, 1), (1, 6)):
        _agrees(sym, path, make(n, m))


def test_three_inputs_forced_equal_share_one_dim_and_a_fourth_stays_apart(tmp_path):
    a, b, c, d = (mx.sym.var(n) for n in "abcd")
    sym = mx.sym.Group([a + b * c, mx.sym.concat(a, d, dim=0)])

    def make(n, m):
        return {**{k: RNG.randn(n, 3).astype(np.float32) for k in "abc"}, "d": RNG.randn(m, 3).astype(np.float32)}
    path, dims = _export(sym, make(2, 2), [(None, 3)] * 4, tmp_path)
    assert dims == {"a": ["batch", 3], "b": ["batch", 3], "c": ["batch", 3], "d": ["d_dim0", 3]}
    for n, m in ((3, 1), (1, 4)):
        _agrees(sym, path, make(n, m))


def test_attention_scores_beside_projections(tmp_path):
    """Scores (batch * 2 heads, Tq, Tk) beside values (batch, Tk, C): axis 0 differs by the
    head count, a tie MXNet's shape inference finds (both grow, in proportion, or neither)."""
    scores, value = mx.sym.var("scores"), mx.sym.var("value")
    heads = mx.sym.reshape(mx.sym.transpose(mx.sym.reshape(value, shape=(0, 0, 2, -1)), axes=(0, 2, 1, 3)),
                           shape=(-3, -2))  # (batch * 2, Tk, C / 2)
    sym = mx.sym.batch_dot(mx.sym.softmax(scores, axis=-1), heads)

    def make(b, tq, tk):
        return {"scores": RNG.randn(b * 2, tq, tk).astype(np.float32), "value": RNG.randn(b, tk, 4).astype(np.float32)}
    path, dims = _export(sym, make(2, 3, 5), [(None, None, None), (None, None, 4)], tmp_path)
    assert dims == {"scores": ["scores_dim0", "scores_dim1", "scores_dim2"], "value": ["value_dim0", "scores_dim2", 4]}
    for b, tq, tk in ((1, 4, 2), (3, 2, 6)):
        _agrees(sym, path, make(b, tq, tk))


@pytest.mark.parametrize("opset", [13, 17])
def test_a_minus_4_reshape_splits_a_dynamic_batch_at_run_time(opset, tmp_path):
    x = mx.sym.var("data")
    pairs = mx.sym.reshape(x, shape=(-4, 2, -1, 0, 0), name="pairs")  # (2, N / 2, T, 3)
    sym = mx.sym.broadcast_mul(mx.sym.sum(pairs, axis=0), mx.sym.slice_axis(x, axis=0, begin=0, end=1))
    path, dims = _export(sym, {"data": RNG.randn(4, 5, 3).astype(np.float32)}, [(None, None, 3)],
                         tmp_path, opset)
    assert dims == {"data": ["batch", "data_dim1", 3]}
    for n, t in ((6, 2), (2, 7)):
        _agrees(sym, path, {"data": RNG.randn(n, t, 3).astype(np.float32)})


@pytest.mark.parametrize("shape", [(3, 1, 4), (3, 1)], ids=["keeps_a_static_axis", "every_static_axis_is_1"])
def test_squeeze_without_axis_drops_a_dynamic_axis_only_when_it_is_1(shape, tmp_path):
    sym = mx.sym.squeeze(mx.sym.var("data")) * 2.0
    path, _ = _export(sym, {"data": RNG.randn(*shape).astype(np.float32)}, [(None,) + shape[1:]], tmp_path)
    for n in (1, 5):  # a batch of 1 is squeezed away in MXNet too
        data = RNG.randn(n, *shape[1:]).astype(np.float32)
        if data.size == 1:
            data[...] = 0.7  # one element: compare the value, not its spread
            got, = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"data": data})
            want = (mx.sym.squeeze(mx.sym.var("data")) * 2.0).eval(data=mx.nd.array(data))[0].asnumpy()
            assert got.shape == want.shape == (1,) and got[0] == want[0]
            continue
        _agrees(sym, path, {"data": data})


def test_export_onnx_default_dynamic_batch_takes_inputs_of_other_batch_sizes(tmp_path):
    """export_onnx's default (axis 0 of each input dynamic) on ROIs beside feature maps."""
    from export import export_onnx
    sym = mx.sym.contrib.ROIAlign(mx.sym.var("features"), mx.sym.var("rois"), pooled_size=(2, 2),
                                  spatial_scale=0.5, sample_ratio=2)
    path = tmp_path / "m.onnx"
    export_onnx((sym, {}), path, input_shape={"features": (2, 3, 8, 8), "rois": (5, 5)})
    for n, r in ((1, 3), (3, 7)):
        _agrees(sym, str(path), {"features": RNG.randn(n, 3, 8, 8).astype(np.float32), "rois": _rois(r, n, 16)})


def test_squeeze_without_axis_exported_at_a_batch_of_1_keeps_the_batch_where_it_grows(tmp_path):
    """Exported at a batch of 1 (squeezed away there), the batch axis comes back at 5."""
    sym = mx.sym.squeeze(mx.sym.var("data")) * 2.0
    path, _ = _export(sym, {"data": RNG.randn(1, 1, 4).astype(np.float32)}, [(None, 1, 4)], tmp_path)
    for n in (5, 1):
        _agrees(sym, path, {"data": RNG.randn(n, 1, 4).astype(np.float32)})
