"""Which weights tools/export.py exports: the trained run whatever the other arguments, plain
params files (net.save_parameters, mxnet.gluon.model_zoo), and infer.py's untrained warning."""
import json

import mxnet as mx
import numpy as np
import pytest

import hybridzoo
from hybridzoo.checkpoint import save_checkpoint
from hybridzoo.testing import init_model

from _tools import error_lines, ort_run


def assert_exports(folder, x, expected):
    assert np.ptp(expected) > 1e-2  # the outputs depend on the weights, or this proves nothing
    np.testing.assert_allclose(ort_run(folder / "model.onnx", x), expected, rtol=0,
                               atol=1e-4 * max(1.0, np.abs(expected).max()))


@pytest.fixture
def trained_run(tmp_path, monkeypatch):
    """A lenet_bn checkpoint in ./runs/lenet_bn-digits (as tools/train.py writes it); cwd = tmp_path."""
    monkeypatch.chdir(tmp_path)
    net = init_model(hybridzoo.get_model("lenet_bn"), seed=5, ctx=mx.cpu())
    save_checkpoint(net, str(tmp_path / "runs" / "lenet_bn-digits" / "best.params"),
                    {"model": "lenet_bn", "dataset": "digits", "classes": 10, "input_shape": [1, 28, 28],
                     "mean": None, "std": None, "test_accuracy": 0.9833, "seed": 5})
    x = np.random.default_rng(4).standard_normal((2, 1, 28, 28)).astype(np.float32)
    return x, net(mx.nd.array(x)).asnumpy()


@pytest.mark.parametrize("extra", [[], ["--no-verify"], ["--format", "onnx"]], ids=["out", "no-verify", "format"])
def test_trained_run_is_the_default_whatever_the_other_arguments(trained_run, tmp_path, capsys, export_cli, extra):
    x, expected = trained_run
    assert export_cli.main(["--model", "lenet_bn", "--out", "exported", *extra]) == 0
    out = capsys.readouterr().out
    assert "lenet_bn: trained weights (runs/lenet_bn-digits/best.params, digits test accuracy 0.9833)" in out
    folder = tmp_path / "exported" / "lenet_bn"
    assert_exports(folder, x, expected)
    weights = json.loads((folder / "manifest.json").read_text())["weights"]
    assert weights == {"trained": True, "source": "runs/lenet_bn-digits/best.params", "seed": 5}


def test_untrained_flag_overrides_the_trained_run_and_says_so(trained_run, tmp_path, capsys, export_cli):
    x, expected = trained_run
    assert export_cli.main(["--model", "lenet_bn", "--out", "exported", "--untrained", "--no-verify"]) == 0
    out = capsys.readouterr().out
    assert "lenet_bn: untrained (seed 0) weights" in out and "note:" not in out
    folder = tmp_path / "exported" / "lenet_bn"
    assert not np.allclose(ort_run(folder / "model.onnx", x), expected, atol=1e-3)
    assert json.loads((folder / "manifest.json").read_text())["weights"]["trained"] is False


def test_a_trained_run_that_does_not_fit_the_arguments_is_one_error(trained_run, tmp_path, capsys, export_cli):
    assert export_cli.main(["--model", "lenet_bn", "--out", "exported", "--classes", "5"]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "10 classes" in line and "--untrained" in line
    assert not (tmp_path / "exported" / "lenet_bn").exists()


def test_infer_warns_on_untrained_weights_only(trained_run, tmp_path, capsys, export_cli, infer_cli):
    x, _ = trained_run
    np.save(tmp_path / "x.npy", x)
    assert export_cli.main(["--model", "lenet_bn", "--out", "trained", "--no-verify"]) == 0
    assert export_cli.main(["--model", "lenet_bn", "--out", "seeded", "--untrained", "--no-verify"]) == 0
    capsys.readouterr()
    assert infer_cli.main(["seeded/lenet_bn", "x.npy"]) == 0
    err = capsys.readouterr().err
    assert "warning: lenet_bn has untrained (seed 0) weights" in err and "tools/train.py" in err
    assert infer_cli.main(["trained/lenet_bn", "x.npy"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_plain_save_parameters_file_exports_with_a_no_manifest_line(tmp_path, capsys, export_cli):
    net = init_model(hybridzoo.get_model("lenet_bn"), seed=7, ctx=mx.cpu())
    net.save_parameters(str(tmp_path / "mine.params"))
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    assert export_cli.main(["--model", "lenet_bn", "--params", str(tmp_path / "mine.params"),
                            "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "matched by name" in out and "no manifest" in out and "not checked" in out
    assert_exports(tmp_path / "out" / "lenet_bn", x, net(mx.nd.array(x)).asnumpy())


def test_gluon_model_zoo_params_of_the_same_architecture_export(tmp_path, capsys, export_cli):
    """mxnet.gluon.model_zoo's resnet18_v1 saved with save_parameters -> our resnet18 (ImageNet
    head); the ONNX file must compute what the model-zoo net computes."""
    from mxnet.gluon.model_zoo import vision

    zoo = vision.resnet18_v1()
    zoo.initialize(mx.init.Xavier(magnitude=2))
    zoo(mx.nd.zeros((1, 3, 32, 32)))
    rng = np.random.RandomState(0)
    for param in zoo.collect_params().values():  # non-trivial BatchNorm statistics and affine
        if param.name.endswith(("running_mean", "beta")):
            param.set_data(mx.nd.array(rng.normal(0, 0.3, param.shape)))
        elif param.name.endswith(("running_var", "gamma")):
            param.set_data(mx.nd.array(rng.uniform(0.5, 1.5, param.shape)))
    zoo.save_parameters(str(tmp_path / "resnet18_v1.params"))
    x = rng.normal(size=(2, 3, 32, 32)).astype(np.float32)
    assert export_cli.main(["--model", "resnet18", "--classes", "1000", "--in-channels", "3", "--input-size", "32",
                            "--params", str(tmp_path / "resnet18_v1.params"), "--out", str(tmp_path / "out")]) == 0
    assert "matched by position" in capsys.readouterr().out
    assert_exports(tmp_path / "out" / "resnet18", x, zoo(mx.nd.array(x)).asnumpy())


def test_plain_params_of_another_architecture_is_one_error(tmp_path, capsys, export_cli):
    net = init_model(hybridzoo.get_model("lenet"), seed=0, ctx=mx.cpu())
    net.save_parameters(str(tmp_path / "lenet.params"))
    assert export_cli.main(["--model", "lenet_bn", "--params", str(tmp_path / "lenet.params"),
                            "--out", str(tmp_path / "out")]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "lenet.params" in line and "another architecture" in line
    assert not (tmp_path / "out").exists()
