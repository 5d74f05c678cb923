"""Weights from Gluon nets: build MXNet's (or GluonCV's) net with random weights (He init,
random conv biases, calibrated random BatchNorm statistics), save it, load it into ours with
``source="gluon"``, and compare outputs on the same input.

Tolerance: the agreement layer's, 1e-4 * max(1, max|reference|): the nets compute the same
function with the same kernels (most cases agree to the bit); folding their conv bias into the
BatchNorm's mean changes float32 rounding, which ResNet-50 v1's depth amplifies to ~2e-5.
Sizes: the smallest each family takes; SqueezeNet, DenseNet and Inception run at Gluon's own
size because their Gluon versions end in fixed-size pooling (13, 7 and 8).
"""
import json

import hybridzoo
import mxnet as mx
import numpy as np
import pytest
from hybridzoo import gluon_weights
from hybridzoo.testing import CALIBRATION_BATCH, randomize_batchnorm
from mxnet.gluon.model_zoo import vision

from export import verify

gluoncv = pytest.importorskip("gluoncv")

# (our name, library, their name, input size)
CASES = [
    ("resnet18_v1", "mxnet", "resnet18_v1", 32),
    ("resnet50_v1", "mxnet", "resnet50_v1", 32),        # stride in the 1x1; conv biases folded
    ("resnet18_v2", "mxnet", "resnet18_v2", 32),
    ("resnet50_v2", "mxnet", "resnet50_v2", 32),
    ("resnet50", "gluoncv", "resnet50_v1b", 32),        # stride in the 3x3
    ("vgg11_bn", "mxnet", "vgg11_bn", 32),              # conv biases before BatchNorm folded
    ("densenet121", "mxnet", "densenet121", 224),
    ("squeezenet1_0", "mxnet", "squeezenet1.0", 224),
    ("squeezenet1_1", "gluoncv", "squeezenet1.1", 224),
    ("mobilenet0_25", "gluoncv", "mobilenet0.25", 32),
    ("mobilenet_v2_0_25", "mxnet", "mobilenetv2_0.25", 32),
    ("mobilenet_v2_0_25_gluoncv", "gluoncv", "mobilenetv2_0.25", 32),
    ("inception_v3", "mxnet", "inceptionv3", 299),
]


def their_net(library, model, size, seed=0, **kwargs):
    """Their net with random weights, a seeded batch of two and their output on it."""
    build = vision.get_model if library == "mxnet" else gluoncv.model_zoo.get_model
    net = build(model, **({"pretrained": False} if library == "gluoncv" else {}), **kwargs)
    mx.random.seed(seed)
    net.initialize(mx.init.MSRAPrelu())
    rng = np.random.RandomState(seed)
    calibration = rng.uniform(-1, 1, (CALIBRATION_BATCH, 3, size, size))
    x = mx.nd.array(rng.uniform(-1, 1, (2, 3, size, size)))
    net(x)  # shapes
    for name, param in net.collect_params().items():
        if name.endswith("bias"):  # non-zero biases, so a dropped or misplaced bias shows
            param.set_data(mx.nd.random.normal(0, 0.1, shape=param.shape))
    randomize_batchnorm(net, seed, calibration=calibration)
    return net, x, net(x).asnumpy()


def assert_same_outputs(ours, x, expected):
    actual = ours(x).asnumpy()
    tolerance = verify.tolerance([expected])
    assert np.abs(actual - expected).max() <= tolerance
    # As in the agreement layer: outputs must differ by more than the tolerance, or agreement
    # proves nothing (SqueezeNet's pooled random features differ least: ~30x the tolerance).
    assert np.ptp(expected, axis=0).max() > 10 * tolerance, "outputs barely depend on the input"
    assert np.ptp(expected, axis=1).min() > 10 * tolerance, "scores barely differ"


@pytest.mark.parametrize("name, library, model, size", CASES, ids=[case[0] for case in CASES])
def test_their_weights_give_their_outputs(name, library, model, size, tmp_path):
    theirs, x, expected = their_net(library, model, size)
    theirs.save_parameters(str(tmp_path / "their.params"))
    ours = hybridzoo.get_model(name, pretrained=str(tmp_path / "their.params"), source="gluon",
                               input_size=size)
    assert_same_outputs(ours, x, expected)
    assert ours.zoo_manifest["source"] == ":".join(gluon_weights.GLUON_SOURCES[name])
    assert ours.zoo_config.mean == hybridzoo.config.IMAGENET_MEAN


def test_exported_and_full_name_files_load(tmp_path):
    """``export`` (arg:/aux: full names) and ``collect_params().save`` (full names) files."""
    theirs, x, expected = their_net("mxnet", "resnet18_v2", 32)
    theirs.hybridize()
    theirs(x)
    theirs.export(str(tmp_path / "exported"))
    theirs.collect_params().save(str(tmp_path / "full.params"))
    for path in (tmp_path / "exported-0000.params", tmp_path / "full.params"):
        ours = hybridzoo.get_model("resnet18_v2", pretrained=str(path), source="gluon")
        assert_same_outputs(ours, x, expected)


def test_fine_tuned_head_size_comes_from_the_file(tmp_path):
    theirs, x, expected = their_net("mxnet", "mobilenet0.25", 32, classes=5)
    theirs.save_parameters(str(tmp_path / "tuned.params"))
    ours = hybridzoo.get_model("mobilenet0_25", pretrained=str(tmp_path / "tuned.params"), source="gluon")
    assert ours.zoo_config.classes == 5 and ours.zoo_config.dataset == "unknown"
    assert_same_outputs(ours, x, expected)


def test_another_architecture_is_refused_naming_the_parameters(tmp_path):
    """Gluon's resnet50_v1 strides in the 1x1: it must not load into our resnet50 (v1.5)."""
    theirs = vision.get_model("resnet50_v1")
    theirs.initialize()
    theirs(mx.nd.zeros((1, 3, 32, 32)))
    theirs.save_parameters(str(tmp_path / "r50v1.params"))
    with pytest.raises(ValueError) as error:
        hybridzoo.get_model("resnet50", pretrained=str(tmp_path / "r50v1.params"), source="gluon")
    message = str(error.value)
    assert "does not hold the parameters of GluonCV's resnet50_v1b" in message
    assert "missing (bn1.beta, bn1.gamma" in message and "unexpected (features.0.weight" in message
    assert "\n" not in message


def test_shape_mismatch_lists_the_parameters(tmp_path):
    theirs, _, _ = their_net("mxnet", "vgg11", 64)
    theirs.save_parameters(str(tmp_path / "vgg.params"))
    with pytest.raises(ValueError, match=r"other shapes than hybridzoo's vgg11 \(1 of 22.*"
                                         r"features\.21\.weight \(4096, 2048\) vs \(4096, 512\)"):
        hybridzoo.get_model("vgg11", pretrained=str(tmp_path / "vgg.params"), source="gluon",
                            input_size=32)


def test_bad_requests_are_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no Gluon model-zoo net has the architecture of 'lenet'"):
        hybridzoo.get_model("lenet", pretrained="x.params", source="gluon")
    with pytest.raises(ValueError, match="pass pretrained=<.params file>"):
        hybridzoo.get_model("resnet18_v1", source="gluon")
    with pytest.raises(ValueError, match="unknown source 'torch'"):
        hybridzoo.get_model("resnet18_v1", pretrained="x.params", source="torch")
    with pytest.raises(FileNotFoundError, match="no parameter file at"):
        hybridzoo.get_model("resnet18_v1", pretrained=str(tmp_path / "absent.params"), source="gluon")
    (tmp_path / "junk.params").write_bytes(b"not a params file")
    with pytest.raises(ValueError, match="truncated or not an MXNet .params file"):
        hybridzoo.get_model("resnet18_v1", pretrained=str(tmp_path / "junk.params"), source="gluon")


def test_convert_writes_a_checkpoint_get_model_verifies(tmp_path):
    theirs, x, expected = their_net("mxnet", "squeezenet1.1", 224, classes=10)
    theirs.save_parameters(str(tmp_path / "their.params"))
    manifest = gluon_weights.convert("squeezenet1_1", str(tmp_path / "their.params"),
                                     str(tmp_path / "run" / "best.params"))
    assert (manifest["source"], manifest["classes"], manifest["input_shape"]) == \
        ("mxnet:squeezenet1.1", 10, [3, 224, 224])
    assert json.loads((tmp_path / "run" / "best.json").read_text())["sha256"] == manifest["sha256"]
    ours = hybridzoo.get_model("squeezenet1_1", pretrained=str(tmp_path / "run"), classes=10)
    assert_same_outputs(ours, x, expected)


def test_import_tool_writes_the_checkpoint_and_fails_in_one_line(tmp_path, capsys):
    from _tools import load_tool
    tool = load_tool("import_gluon")
    theirs, x, expected = their_net("mxnet", "mobilenet0.25", 32)
    theirs.save_parameters(str(tmp_path / "their.params"))
    assert tool.main(["--model", "mobilenet0_25", str(tmp_path / "their.params"),
                      "--out", str(tmp_path / "run")]) == 0
    assert "mxnet:mobilenet0.25 parameters (1000 classes" in capsys.readouterr().out
    assert_same_outputs(hybridzoo.get_model("mobilenet0_25", pretrained=str(tmp_path / "run")), x, expected)
    assert tool.main(["--model", "mobilenet1_0", str(tmp_path / "their.params")]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(errors) == 1 and errors[0].startswith("error: ") and "shapes" in errors[0]
    with pytest.raises(SystemExit):
        tool.main(["--model", "lenet", str(tmp_path / "their.params")])
    assert "has no Gluon counterpart" in capsys.readouterr().err
