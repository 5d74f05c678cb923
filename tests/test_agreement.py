"""The agreement layer: for every registered zoo model, imperative = hybridized =
SymbolBlock.imports reload = ONNX Runtime (optimized and one-to-one graphs), at batch 1 and
batch 3 through the same dynamic-batch file.

Weights: fixed seed (``hybridzoo.testing.init_model``): He init for nets without BatchNorm, so
outputs depend on the input; every BatchNorm's gamma and beta random and its running mean/var
calibrated on a batch of the same distribution as the inputs, then perturbed.
Tolerance: max|a - b| <= 1e-4 * max(1, max|reference|).
Input sizes: the D2L models that need 224 and the ImageNet-depth variants run at the smallest
size their architecture takes (``SMALL_INPUT``), which keeps every layer and the suite fast.
"""
import fnmatch

import hybridzoo
import mxnet as mx
import numpy as np
import onnx
import pytest
from hybridzoo.testing import init_model

from export import verify

# Smallest input each family accepts (AlexNet/NiN need >= 67, Inception v3 >= 75, VGG >= 32,
# the rest pool to 1x1).
SMALL_INPUT = {"alexnet": 67, "nin": 67, "inception_v3": 75, "vgg*": 32, "resnet*": 32,
               "densenet*": 32, "googlenet": 32, "squeezenet*": 32, "mobilenet*": 32}
BATCHES = (1, 3)


def _match(table, name, default):
    return next((v for pattern, v in table.items() if fnmatch.fnmatchcase(name, pattern)), default)


def build(name):
    size = _match(SMALL_INPUT, name, None)
    net = hybridzoo.get_model(name, **({"input_size": size} if size else {}))
    return init_model(net, seed=0, ctx=mx.cpu())


def sample_inputs(net):
    rng = np.random.RandomState(1)
    shape = tuple(net.zoo_config.input_shape)
    return {b: [rng.uniform(-1, 1, (b,) + shape).astype(np.float32)] for b in BATCHES}


def assert_not_degenerate(outputs, name):
    """Outputs must differ across samples by more than the tolerance, or agreement proves nothing."""
    out = outputs[0]
    assert np.isfinite(out).all(), f"{name}: non-finite outputs"
    spread = float(np.ptp(out, axis=0).max())
    assert spread > verify.tolerance(outputs), (
        f"{name}: outputs barely depend on the input (spread across samples {spread:.2e})")


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_backends_agree(name, tmp_path):
    net = build(name)
    report = verify.agreement(net, sample_inputs(net), str(tmp_path), name)
    assert_not_degenerate(report["reference"][max(BATCHES)], name)
    assert set(report["errors"]) == {"hybridized", "symbol", "onnx", "onnx-plain"}
    for backend, error in report["errors"].items():
        assert error <= report["tolerance"], (
            f"{name} {backend}: max error {error:.3g} > tolerance {report['tolerance']:.3g}")
    check_graphs(net, tmp_path / f"{name}-onnx.onnx", tmp_path / f"{name}-onnx-plain.onnx")


def check_graphs(net, optimized, plain):
    """Weights are initializers only; only the batch axis is symbolic; optimizing never adds
    nodes and leaves no BatchNorm that directly follows a convolution."""
    models = [onnx.load(str(p)) for p in (optimized, plain)]
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    for model in models:
        assert [dims(i) for i in model.graph.input] == [["batch", *net.zoo_config.input_shape]]
        assert [dims(o) for o in model.graph.output] == [["batch", net.zoo_config.classes]]
    opt, one_to_one = (m.graph.node for m in models)
    assert len(opt) <= len(one_to_one)
    producers = {out: n.op_type for n in opt for out in n.output}
    assert not [n.name for n in opt if n.op_type == "BatchNormalization" and producers.get(n.input[0]) == "Conv"]
