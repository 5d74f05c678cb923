"""The fast paths of the exporter give exactly what the plain ones give: streamed model files
equal ``SerializeToString`` byte for byte, and memory-mapped ``.params`` equal ``mx.nd.load``."""
import hybridzoo  # noqa: F401  (sets OMP_NUM_THREADS before mxnet loads)
import mxnet as mx
import numpy as np
import onnx
import pytest
from onnx import helper

import export
from export import _params_file
from export.errors import InvalidInputError
from export.onnx import api
from export.onnx.writer import append_initializers, write_model


def small_model():
    """A model with one small initializer inside and metadata, as ``to_model_parts`` makes."""
    model = helper.make_model(helper.make_graph(
        [helper.make_node("Add", ["x", "w0"], ["y"], name="add")], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor("shape", onnx.TensorProto.INT64, [2], [1, 3])]))
    helper.set_model_props(model, {"model": "m", "classes": "3"})
    return model


def weights():
    rng = np.random.default_rng(0)
    return [("w0", rng.standard_normal((5000, 3)).astype(np.float32)),  # multi-byte lengths
            ("w1", rng.standard_normal((7,)).astype(">f8")),  # big-endian: written little-endian
            ("w2", np.arange(70, dtype=np.int64).reshape(7, 10)[:, ::2]),  # not contiguous
            ("w3", rng.standard_normal((3, 1, 2)).astype(np.float16)),
            ("w4", np.array(2.5, dtype=np.float32))]


def test_streamed_file_equals_serialize(tmp_path):
    model, pairs = small_model(), weights()
    before = model.SerializeToString()
    path = tmp_path / "m.onnx"
    with open(path, "wb") as f:
        write_model(f, model, pairs)
    assert model.SerializeToString() == before  # the model itself is left as it was
    full = onnx.ModelProto()
    full.CopyFrom(model)
    append_initializers(full.graph, pairs)
    assert path.read_bytes() == full.SerializeToString(deterministic=True)
    loaded = onnx.load(str(path))
    got = {t.name: onnx.numpy_helper.to_array(t) for t in loaded.graph.initializer}
    assert list(got) == ["shape", "w0", "w1", "w2", "w3", "w4"]
    for name, array in pairs:
        assert got[name].shape == array.shape and np.array_equal(got[name], array)
    assert {p.key: p.value for p in loaded.metadata_props} == {"model": "m", "classes": "3"}


def _save(path, arrays):
    mx.nd.save(str(path), {k: mx.nd.array(v, dtype=v.dtype) for k, v in arrays.items()})


def test_mapped_params_equal_mx_load(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {"arg:conv_weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
              "arg:h": rng.standard_normal((3,)).astype(np.float16),
              "aux:d": rng.standard_normal((2, 5)).astype(np.float64),
              "arg:i": np.arange(6, dtype=np.int64).reshape(2, 3),
              "arg:u": np.arange(5, dtype=np.uint8), "arg:empty": np.zeros((0, 4), np.float32)}
    path = tmp_path / "x.params"
    _save(path, arrays)
    mapped, reference = _params_file.read(str(path)), mx.nd.load(str(path))
    assert list(mapped) == list(reference)
    for name, value in reference.items():
        want = value.asnumpy()
        assert mapped[name].dtype == want.dtype and mapped[name].shape == want.shape
        assert np.array_equal(mapped[name], want)
    original = path.read_bytes()
    mapped["arg:conv_weight"][...] = 0  # writable, copy-on-write: the file stays as it was
    assert path.read_bytes() == original


def test_layouts_left_to_mxnet(tmp_path):
    """Unnamed lists and trailing bytes are for mx.nd.load (and its errors); a truncated file is
    refused here, never handed to mx.nd.load, which trusts the counts and sizes it reads."""
    unnamed = tmp_path / "list.params"
    mx.nd.save(str(unnamed), [mx.nd.ones((2, 2))])
    assert _params_file.read(str(unnamed)) is None
    with pytest.raises(ValueError, match="unnamed list"):
        export.export_onnx((mx.sym.var("data"), str(unnamed)), tmp_path / "m.onnx", input_shape=(1, 2))
    named = tmp_path / "named.params"
    _save(named, {"arg:w": np.ones((3, 3), np.float32)})
    data = named.read_bytes()
    (tmp_path / "trailing.params").write_bytes(data + b"\0")
    (tmp_path / "short.params").write_bytes(data[:-10])
    (tmp_path / "cut.params").write_bytes(data[:60])
    assert _params_file.read(str(tmp_path / "trailing.params")) is None
    for name in ("short", "cut"):
        with pytest.raises(InvalidInputError, match=r"it is truncated \(\d+ bytes"):
            _params_file.read(str(tmp_path / f"{name}.params"))
    assert not (tmp_path / "m.onnx").exists()


def test_export_onnx_file_equals_built_model(tmp_path):
    """End to end: the streamed file is what build_model + SerializeToString gives."""
    net = mx.gluon.nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(mx.gluon.nn.Conv2D(8, 3, in_channels=2), mx.gluon.nn.BatchNorm(in_channels=8),
                mx.gluon.nn.Activation("relu"), mx.gluon.nn.Dense(5, in_units=8 * 6 * 6))
    net.initialize(mx.init.Xavier())
    prefix = str(tmp_path / "net")
    export.export_symbol(net, prefix, input_shape=(1, 2, 8, 8))
    path = tmp_path / "net.onnx"
    export.export_onnx(prefix, path, input_shape=(1, 2, 8, 8))
    sym, params = mx.sym.load(prefix + "-symbol.json"), mx.nd.load(prefix + "-0000.params")
    params = {k.split(":", 1)[1]: v.asnumpy() for k, v in params.items()}
    loaded = onnx.load(str(path))
    metadata = {p.key: p.value for p in loaded.metadata_props}
    model = api.build_model(sym, params, {"data": (1, 2, 8, 8)}, metadata=metadata)
    assert path.read_bytes() == model.SerializeToString(deterministic=True)
