"""Errors a legacy ``export_model`` user meets, and an input too small for the net: one short
line that says what is wrong and what to do (no MXNet C++ traceback, no 100-name lists)."""
import mxnet as mx
import numpy as np
import onnxruntime as ort
import pytest

import export
import hybridzoo
from export.onnx import export_model
from hybridzoo.testing import init_model

from _tools import error_lines, load_tool


@pytest.fixture(scope="module")
def prefixes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("legacy")
    return {name: export.export_symbol(init_model(hybridzoo.get_model(name), 0, ctx=mx.cpu()), str(folder / name))
            for name in ("resnet18", "lenet")}


def one_line(err, limit=400):
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text and len(text) < limit, text
    return text


@pytest.mark.parametrize("symbol, params", [("resnet18", "lenet"), ("lenet", "resnet18")])
def test_params_of_another_model_name_a_few_missing_and_unexpected(prefixes, tmp_path, symbol, params):
    with pytest.raises(ValueError) as err:
        export_model(prefixes[symbol]["symbol"], prefixes[params]["params"], in_shapes=[(1, 1, 28, 28)],
                     onnx_file_path=str(tmp_path / "m.onnx"))
    text = one_line(err)
    assert "params do not match the symbol" in text
    assert f"'{symbol}_" in text and f"'{params}_" in text  # a missing and an unexpected name
    assert text.count("'") <= 14  # a few names, not all of them
    assert not (tmp_path / "m.onnx").exists()


def test_params_missing_some_weights_name_them(prefixes, tmp_path):
    params = {k.split(":", 1)[1]: v for k, v in mx.nd.load(prefixes["resnet18"]["params"]).items()}
    del params["resnet18_features_conv0_weight"]
    with pytest.raises(ValueError) as err:
        export_model(prefixes["resnet18"]["symbol"], params, in_shapes=[(1, 1, 96, 96)],
                     onnx_file_path=str(tmp_path / "m.onnx"))
    text = one_line(err)
    assert "'resnet18_features_conv0_weight'" in text and "missing from params" in text


def test_in_shapes_as_one_tuple_is_one_shape(prefixes, tmp_path):
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    outputs = []
    for label, shapes in (("tuple", (1, 1, 28, 28)), ("list", [(1, 1, 28, 28)])):
        path = export_model(prefixes["lenet"]["symbol"], prefixes["lenet"]["params"], in_shapes=shapes,
                            onnx_file_path=str(tmp_path / f"{label}.onnx"))
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        outputs.append(session.run(None, {session.get_inputs()[0].name: x})[0])
    np.testing.assert_array_equal(outputs[0], outputs[1])
    with pytest.raises(ValueError) as err:
        export_model(prefixes["lenet"]["symbol"], prefixes["lenet"]["params"], in_shapes=28,
                     onnx_file_path=str(tmp_path / "bad.onnx"))
    assert "in_shapes must be a list of shapes" in one_line(err)


def test_truncated_params_file_is_one_line(prefixes, tmp_path):
    data = open(prefixes["resnet18"]["params"], "rb").read()
    for cut in (len(data) // 2, 100, len(data) - 3):
        (tmp_path / "cut.params").write_bytes(data[:cut])
        with pytest.raises(ValueError) as err:
            export_model(prefixes["resnet18"]["symbol"], str(tmp_path / "cut.params"), in_shapes=[(1, 1, 96, 96)],
                         onnx_file_path=str(tmp_path / "m.onnx"))
        assert "cut.params" in one_line(err) and "truncated" in str(err.value)


def test_input_too_small_for_the_params_names_the_smallest_size(prefixes, tmp_path):
    with pytest.raises(ValueError) as err:
        export_model(prefixes["lenet"]["symbol"], prefixes["lenet"]["params"], in_shapes=[(1, 1, 5, 5)],
                     onnx_file_path=str(tmp_path / "m.onnx"))
    assert "too small" in one_line(err) and "smallest input size it takes is 28" in str(err.value)


def test_smallest_input_size_is_exact():
    """lenet_bn (no padding, two 5x5 convs, two 2x2 pools) takes 16 and nothing smaller."""
    from export.blocks import check_block_input

    check_block_input(hybridzoo.get_model("lenet_bn", input_size=16), (1, 1, 16, 16))
    with pytest.raises(ValueError, match=r"too small .*smallest input size it takes is 16 \(1x16x16\)"):
        check_block_input(hybridzoo.get_model("lenet_bn", input_size=15), (1, 1, 15, 15))


def test_cli_input_size_too_small_is_one_line(tmp_path, capsys):
    status = load_tool("export").main(["--model", "lenet_bn", "--input-size", "5", "--untrained",
                                       "--out", str(tmp_path / "out")])
    assert status == 1
    err = capsys.readouterr().err
    (line,) = error_lines(err)
    assert "lenet_bn" in line and "too small" in line and "smallest input size it takes is 16" in line
    assert ".cc" not in err and not (tmp_path / "out").exists()
