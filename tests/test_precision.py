"""INT8 and FP16 variants: tools/export.py --quantize/--precision on a short-trained LeNet-BN,
calibration data, accuracy checks, FP16 agreement, bad --calib input, infer --precision/--bench."""
import json
import shutil

import mxnet as mx
import numpy as np
import onnx
import pytest
from mxnet.gluon import nn

import export
import hybridzoo
from export.precision import calibrate, plan
from export.precision.convert import batchnorm_as_conv, quantize_int8
from hybridzoo import data
from hybridzoo.train import train

from _tools import error_lines, load_tool, ort_run, run_tool, sha256

SHORT_EPOCHS = 4  # lenet_bn on digits: ~0.95 test accuracy after 4 epochs, in about 2 s


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return train("lenet_bn", "digits", out=str(out), epochs=SHORT_EPOCHS, progress=False, ctx="cpu")


@pytest.fixture(scope="module")
def splits():
    config = hybridzoo.get_config("lenet_bn")
    return data.split_arrays("digits", config, train=True), data.split_arrays("digits", config, train=False)


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    """The trained run exported with both variants and a Triton entry of the INT8 one."""
    out = tmp_path_factory.mktemp("artifacts")
    result = run_tool("export", "--model", "lenet_bn", "--params", trained_run.run_dir, "--out", out,
                      "--format", "onnx", "--quantize", "int8", "--precision", "fp16", "--triton", cwd=out)
    assert result.returncode == 0, result.stderr
    return out, result


def test_int8_file_is_qdq_with_int8_weights_and_runs(exported, splits):
    folder = exported[0] / "lenet_bn"
    model = onnx.load(str(folder / "model.int8.onnx"))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("QuantizeLinear") >= 4 and ops.count("DequantizeLinear") >= 8
    int8_weights = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8 and len(t.dims) > 1]
    assert len(int8_weights) == 5  # both convs and the three dense layers, per output channel
    assert {i.type.tensor_type.elem_type for i in list(model.graph.input) + list(model.graph.output)} == \
        {onnx.TensorProto.FLOAT}
    (_, _), (x, _) = splits
    out = ort_run(folder / "model.int8.onnx", x[:7])
    assert out.shape == (7, 10) and out.dtype == np.float32 and len(set(out.argmax(1))) > 2


def test_trained_accuracies_are_measured_on_the_test_split(exported, trained_run, splits):
    out, result = exported
    folder = out / "lenet_bn"
    check = json.loads((folder / "report.json").read_text())["precision"]["int8"]
    (_, _), (x, y) = splits
    fp32, int8 = ort_run(folder / "model.onnx", x), ort_run(folder / "model.int8.onnx", x)
    # FP32 on the test split is exactly what training measured for these parameters.
    assert check["fp32_accuracy"] == pytest.approx(trained_run.manifest["test_accuracy"], abs=1e-9)
    assert check["fp32_accuracy"] == pytest.approx(np.mean(fp32.argmax(1) == y))
    assert check["int8_accuracy"] == pytest.approx(np.mean(int8.argmax(1) == y))
    assert check["top1_agreement"] == pytest.approx(np.mean(fp32.argmax(1) == int8.argmax(1)))
    assert check["samples"] == len(y) == 360 and check["inputs"] == "digits test split"
    assert check["fp32_accuracy"] > 0.85 and abs(check["accuracy_drop_points"]) <= 2.0
    assert 0 < check["max_abs_error"] == pytest.approx(np.abs(fp32 - int8).max(), rel=1e-5)
    assert f"int8 {check['int8_accuracy']:.4f}" in result.stdout and "warning" not in result.stderr


def test_manifest_records_variants_calibration_and_both_sha256(exported):
    folder = exported[0] / "lenet_bn"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {"model.onnx", "model.int8.onnx", "model.fp16.onnx"} <= set(manifest["files"])
    for precision, name in (("int8", "model.int8.onnx"), ("fp16", "model.fp16.onnx")):
        entry = manifest["variants"][precision]
        assert entry["file"] == name and entry["precision"] == precision
        assert entry["sha256"] == sha256(folder / name) == manifest["files"][name]["sha256"]
        assert entry["source"] == {"file": "model.onnx", "sha256": sha256(folder / "model.onnx")}
    calibration = manifest["variants"]["int8"]["calibration"]
    assert calibration["source"] == "digits training split" and calibration["method"] == "minmax"
    assert calibration["samples"] == calibrate.DEFAULT_SAMPLES and calibration["pool"] == 1437
    assert manifest["variants"]["int8"]["fp32_nodes"] == []  # the documented default keeps none


def test_fp16_has_half_weights_float_io_and_agrees(exported, splits):
    folder = exported[0] / "lenet_bn"
    model = onnx.load(str(folder / "model.fp16.onnx"))
    assert {t.data_type for t in model.graph.initializer if t.dims} == {onnx.TensorProto.FLOAT16}
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    (_, _), (x, _) = splits
    fp32, fp16 = ort_run(folder / "model.onnx", x), ort_run(folder / "model.fp16.onnx", x)
    error = np.abs(fp32 - fp16).max()
    assert 0 < error <= plan.fp16_tolerance(fp32)  # really half precision, and within tolerance
    assert np.mean(fp32.argmax(1) == fp16.argmax(1)) >= 0.99
    check = json.loads((folder / "report.json").read_text())["precision"]["fp16"]
    assert check["passed"] and check["max_abs_error"] == pytest.approx(error, rel=1e-5)


def test_triton_lays_out_the_int8_variant(exported):
    out = exported[0]
    assert (out / "triton" / "lenet_bn" / "1" / "model.onnx").read_bytes() == \
        (out / "lenet_bn" / "model.int8.onnx").read_bytes()
    assert "TYPE_FP32" in (out / "triton" / "lenet_bn" / "config.pbtxt").read_text()


def test_calibration_never_touches_the_test_split(trained_run, splits, tmp_path, export_cli, monkeypatch):
    fed = []
    original = calibrate.BatchReader.get_next

    def spy(self):
        batch = original(self)
        if batch is not None:
            fed.extend(batch[self.input_name])
        return batch
    monkeypatch.setattr(calibrate.BatchReader, "get_next", spy)
    status = export_cli.main(["--model", "lenet_bn", "--params", trained_run.run_dir, "--out", str(tmp_path),
                              "--format", "onnx", "--quantize", "int8", "--calib-samples", "40"])
    assert status == 0
    (train_x, _), (test_x, _) = splits
    train_rows = {row.tobytes() for row in train_x}
    test_rows = {row.tobytes() for row in test_x}
    fed_rows = {np.asarray(row, np.float32).tobytes() for row in fed}
    assert len(fed) == 40 and len(fed_rows) == 40
    assert fed_rows <= train_rows and not fed_rows & test_rows


def write_bad_folder(root, kind):
    folder = root / "calib"
    if kind == "missing":
        return folder, "no such folder"
    folder.mkdir()
    if kind == "empty":
        (folder / "notes.txt").write_text("no images here")
        return folder, "no image"
    if kind == "not-an-image":
        (folder / "broken.png").write_text("text, not a PNG")
        return folder, "broken.png"
    np.save(folder / "wrong.npy", np.zeros((2, 3, 32, 32), np.float32))
    return folder, "wrong.npy"


@pytest.mark.parametrize("kind", ["missing", "empty", "not-an-image", "wrong-shape"])
def test_bad_calib_folder_is_one_line_and_no_artifact(tmp_path, export_cli, capsys, kind):
    folder, expected = write_bad_folder(tmp_path, kind)
    out = tmp_path / "out"
    status = export_cli.main(["--model", "lenet_bn", "--out", str(out), "--quantize", "int8", "--calib", str(folder)])
    assert status == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert expected in line and "calib" in line
    assert not out.exists()


def test_model_without_offline_data_needs_calib(tmp_path, export_cli, capsys):
    status = export_cli.main(["--model", "resnet34", "--input-size", "32", "--out", str(tmp_path / "out"),
                              "--format", "onnx", "--no-verify", "--quantize", "int8"])
    assert status == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "imagenet" in line and "--calib DIR" in line
    assert not (tmp_path / "out").exists()


def test_untrained_fixed_batch_reports_agreement_and_warns(tmp_path, export_cli, capsys):
    folder = tmp_path / "calib"
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.save(folder / "batch.npy", rng.standard_normal((24, 1, 28, 28)).astype(np.float32))
    status = export_cli.main(["--model", "lenet_bn", "--out", str(tmp_path / "out"), "--format", "onnx", "--batch", "5",
                              "--quantize", "int8", "--calib", str(folder), "--calib-method", "percentile"])
    assert status == 0
    captured = capsys.readouterr()
    assert "accuracy cannot be judged" in captured.err
    check = json.loads((tmp_path / "out" / "lenet_bn" / "report.json").read_text())["precision"]["int8"]
    assert "fp32_accuracy" not in check and check["samples"] == 24 and 0 < check["max_abs_error"]
    assert check["inputs"].startswith("calibration-style inputs (folder")
    manifest = json.loads((tmp_path / "out" / "lenet_bn" / "manifest.json").read_text())
    assert manifest["variants"]["int8"]["calibration"]["method"] == "percentile"


def test_fp16_beyond_tolerance_writes_nothing(tmp_path, export_cli, capsys, monkeypatch):
    monkeypatch.setattr(plan, "FP16_RTOL", 0.0)  # any rounding at all now fails the check
    status = export_cli.main(["--model", "lenet_bn", "--out", str(tmp_path / "out"), "--format", "onnx",
                              "--precision", "fp16"])
    assert status == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "model.fp16.onnx disagrees with FP32" in line and "nothing was written" in line
    assert not (tmp_path / "out").exists()


def test_keep_fp32_leaves_first_and_last_layers_in_float(exported, tmp_path, splits):
    source = exported[0] / "lenet_bn" / "model.onnx"
    (train_x, _), _ = splits
    calibration = calibrate.Calibration(train_x, "digits training split", samples=16)
    info = quantize_int8(str(source), str(tmp_path / "q.onnx"), calibration, keep_fp32=("first", "last"))
    model = onnx.load(str(tmp_path / "q.onnx"))
    compute = [n for n in model.graph.node if n.op_type in ("Conv", "Gemm")]
    produced_by = {o: n.op_type for n in model.graph.node for o in n.output}
    weight_is_dequantized = [produced_by.get(n.input[1]) == "DequantizeLinear" for n in compute]
    assert weight_is_dequantized == [False, True, True, True, False]
    assert info["fp32_nodes"] == [compute[0].name, compute[-1].name]
    with pytest.raises(ValueError, match="cannot keep 'conv9' in FP32"):
        quantize_int8(str(source), str(tmp_path / "r.onnx"), calibration, keep_fp32=("conv9",))
    assert not (tmp_path / "r.onnx").exists()


def test_batchnorm_after_concat_becomes_a_quantizable_depthwise_conv(tmp_path):
    class DenseLayer(nn.HybridBlock):  # DenseNet's pre-activation pattern: concat -> BN -> relu -> conv
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv0 = nn.Conv2D(4, 3, padding=1, in_channels=2)
            self.bn = nn.BatchNorm(in_channels=6, epsilon=0.3)  # large: a dropped epsilon would show
            self.conv1 = nn.Conv2D(3, 1, in_channels=6)

        def hybrid_forward(self, F, x):
            return self.conv1(F.relu(self.bn(F.concat(x, self.conv0(x), dim=1))))
    net = DenseLayer(prefix="dense_")
    net.initialize(mx.init.Xavier())
    rng = np.random.RandomState(0)
    for p, v in ((net.bn.running_mean, rng.normal(0, 0.5, 6)), (net.bn.running_var, rng.uniform(0.5, 2, 6)),
                 (net.bn.gamma, rng.uniform(0.5, 1.5, 6)), (net.bn.beta, rng.normal(0, 0.5, 6))):
        p.set_data(mx.nd.array(v))
    export.export_onnx(net, str(tmp_path / "m.onnx"), input_shape=(1, 2, 6, 6))
    model = onnx.load(str(tmp_path / "m.onnx"))
    assert "BatchNormalization" in [n.op_type for n in model.graph.node]
    assert batchnorm_as_conv(model) == 1
    onnx.save(model, str(tmp_path / "rewritten.onnx"))
    x = rng.uniform(-1, 1, (4, 2, 6, 6)).astype(np.float32)
    expected = ort_run(tmp_path / "m.onnx", x)
    assert np.ptp(expected) > 0.1
    np.testing.assert_allclose(ort_run(tmp_path / "rewritten.onnx", x), expected, rtol=1e-5, atol=1e-5)
    quantize_int8(str(tmp_path / "m.onnx"), str(tmp_path / "q.onnx"),
                  calibrate.Calibration(x, "uniform", samples=4))
    ops = [n.op_type for n in onnx.load(str(tmp_path / "q.onnx")).graph.node]
    assert "BatchNormalization" not in ops and ops.count("Conv") == 3


def test_infer_picks_a_variant_and_benchmarks_them_all(exported, tmp_path):
    folder = exported[0] / "lenet_bn"
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32))
    result = run_tool("infer", folder, tmp_path / "x.npy", "--precision", "int8", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["precision"] == "int8" and report["path"].endswith("model.int8.onnx")
    result = run_tool("infer", folder, "--bench", "1,4", "--repeats", "3", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["bench"]
    assert [(r["batch"], r["precision"]) for r in rows] == [(b, p) for b in (1, 4) for p in ("fp32", "int8", "fp16")]
    assert all(r["speedup"] == 1.0 for r in rows if r["precision"] == "fp32")


def test_infer_missing_variant_is_one_clear_error(exported, tmp_path, capsys):
    for name in ("model.onnx", "manifest.json"):  # an FP32-only artifact
        shutil.copy(exported[0] / "lenet_bn" / name, tmp_path / name)
    assert load_tool("infer").main([str(tmp_path), "--precision", "int8", "--bench", "1"]) == 1  # exit 1: the model cannot be used (2 is for usage errors)
    (line,) = error_lines(capsys.readouterr().err)
    assert "no int8 model" in line and "--quantize int8" in line


@pytest.mark.parametrize("args, expected", [
    (["--calib", "x"], "--calib is an option of --quantize int8"),
    (["--keep-fp32", "first"], "--keep-fp32 is an option of --quantize int8"),
    (["--quantize", "int8", "--calib-samples", "0"], "--calib-samples takes a positive integer"),
    (["--precision", "fp16", "--triton", "--triton-precision", "int8"], "is not exported by this run"),
])
def test_precision_usage_errors(tmp_path, export_cli, capsys, args, expected):
    with pytest.raises(SystemExit) as exit_:
        export_cli.main(["--model", "lenet_bn", "--out", str(tmp_path / "out"), *args])
    assert exit_.value.code == 2 and expected in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_photo_crops_calibrate_an_imagenet_style_model(tmp_path):
    paths = data.write_photo_crops(str(tmp_path / "photos"), count=6)
    assert len(paths) == 6 and len({open(p, "rb").read() for p in paths}) == 6  # distinct crops
    spec = {"color": "RGB", "input_size": [32, 32], "resize": 36, "scale": 1 / 255,
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "layout": "NCHW"}
    calibration = calibrate.from_folder(str(tmp_path / "photos"), (3, 32, 32), spec, samples=4)
    assert calibration.pool.shape == (6, 3, 32, 32) and calibration.chosen.shape == (4, 3, 32, 32)
    assert -2.2 < calibration.pool.min() < 0 < calibration.pool.max() < 2.7  # normalised real pixels
    assert calibration.record()["source"].endswith("photos (.png)")
