"""Bad input gives one clear error and leaves no file behind."""
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import export
from export.onnx import UnsupportedOperatorError, export_model


def small_net():
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, in_channels=1), nn.Dense(3, in_units=4 * 6 * 6))
    net.initialize(mx.init.Xavier())
    return net


@pytest.fixture
def prefix(tmp_path):
    return export.export_symbol(small_net(), str(tmp_path / "net"), input_shape=(1, 1, 8, 8))


def assert_no_file(tmp_path, name):
    leftovers = [f for f in os.listdir(tmp_path) if f.startswith(f".{name}") or f == name]
    assert leftovers == []


def test_unsupported_op_names_op_node_opset_and_the_way_out(tmp_path):
    sym = mx.sym.contrib.fft(mx.sym.var("data"), name="mystery")
    with pytest.raises(UnsupportedOperatorError, match=r"'_contrib_fft'.*'mystery'.*opset 17.*"
                       r"register_converter\('_contrib_fft'\).*get_operator_support"):
        export.export_onnx((sym, {}), tmp_path / "m.onnx", input_shape=(1, 6))
    assert_no_file(tmp_path, "m.onnx")


def test_param_shape_mismatch(prefix, tmp_path):
    sym = mx.sym.load(prefix["symbol"])
    params = {k.split(":", 1)[1]: v for k, v in mx.nd.load(prefix["params"]).items()}
    params["net_conv0_weight"] = mx.nd.zeros((8, 1, 3, 3))
    with pytest.raises(ValueError, match=r"params do not match.*net_conv0_weight.*\(8, 1, 3, 3\)"):
        export.export_onnx((sym, params), tmp_path / "m.onnx", input_shape=(1, 1, 8, 8))
    assert_no_file(tmp_path, "m.onnx")


def test_params_of_another_symbol(prefix, tmp_path):
    sym = mx.sym.load(prefix["symbol"])
    with pytest.raises(ValueError, match=r"not inputs of the symbol"):
        export.export_onnx((sym, {"other_weight": np.zeros(3)}), tmp_path / "m.onnx",
                           input_shape=(1, 1, 8, 8))
    assert_no_file(tmp_path, "m.onnx")


def test_truncated_params_file(prefix, tmp_path):
    with open(prefix["params"], "rb") as f:
        data = f.read()
    with open(prefix["params"], "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cannot read params file.*truncated"):
        export.export_onnx(str(tmp_path / "net"), tmp_path / "m.onnx", input_shape=(1, 1, 8, 8))
    assert_no_file(tmp_path, "m.onnx")


def test_wrong_in_shapes_length(prefix, tmp_path):
    out = str(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=r"in_shapes has 2 shape\(s\) but the symbol has 1"):
        export_model(prefix["symbol"], prefix["params"], [(1, 1, 8, 8), (1, 3)], np.float32, out)
    assert_no_file(tmp_path, "m.onnx")


def test_input_shape_that_does_not_fit(prefix, tmp_path):
    with pytest.raises(ValueError, match=r"params do not match|do not fit"):
        export.export_onnx(str(tmp_path / "net"), tmp_path / "m.onnx", input_shape=(1, 1, 9, 9))
    assert_no_file(tmp_path, "m.onnx")


def test_bad_opset(prefix, tmp_path):
    with pytest.raises(ValueError, match=r"opset 12 is not supported.*13"):
        export.export_onnx(str(tmp_path / "net"), tmp_path / "m.onnx", input_shape=(1, 1, 8, 8), opset=12)
    assert_no_file(tmp_path, "m.onnx")


def test_block_without_shape(tmp_path):
    with pytest.raises(ValueError, match=r"input_shape is required"):
        export.export_onnx(small_net(), tmp_path / "m.onnx")
    assert_no_file(tmp_path, "m.onnx")


def test_failed_export_keeps_previous_file(prefix, tmp_path):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous")
    with pytest.raises(ValueError):
        export.export_onnx(str(tmp_path / "net"), target, input_shape=(1, 1, 9, 9))
    assert target.read_bytes() == b"previous"
