"""The zoo: every registered model builds, trains, hybridizes, saves and exports cleanly."""
import json
import os
import subprocess
import sys
import warnings

import hybridzoo
import mxnet as mx
import numpy as np
import pytest
from hybridzoo import registry
from hybridzoo.init import HeFanOut
from hybridzoo.layers import Linear
from hybridzoo.testing import init_model

D2L_MODELS = ("linear_regression", "softmax_regression", "mlp", "mlp_dropout", "lenet", "lenet_bn",
              "alexnet", "vgg11", "nin", "googlenet", "resnet18", "densenet")
IMAGENET_MODELS = ("resnet34", "resnet50", "resnet101", "resnet152", "vgg13", "vgg16", "vgg19",
                   "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
                   "densenet121", "densenet161", "densenet169", "densenet201")

# Smaller inputs keep the suite fast. Every image model takes input_size=, which also sizes the
# Dense head where it depends on the input (AlexNet, VGG). AlexNet and NiN need about 67 pixels
# (a stride-4 11x11 conv and three 3/2 max-pools); the /32 ResNets, DenseNets, GoogLeNet and
# VGGs run at 32x32. ImageNet variants also run with 3 channels, as configured.
TEST_INPUT_SIZE = {"alexnet": 96, "nin": 96}
SMALL_INPUT = 32
BATCH = 2


def build(name, **kwargs):
    """The model at its test size, plus a matching random input."""
    config = hybridzoo.get_config(name)
    if config.is_image:
        size = min(config.input_shape[1], TEST_INPUT_SIZE.get(name, SMALL_INPUT))
        kwargs.setdefault("input_size", size)
        shape = (config.input_shape[0], size, size)
    else:
        shape = config.input_shape
    net = init_model(hybridzoo.get_model(name, **kwargs))
    x = mx.nd.array(np.random.RandomState(1).uniform(-1, 1, (BATCH,) + shape))
    return net, x


def test_every_issue_model_is_registered():
    assert set(D2L_MODELS + IMAGENET_MODELS) <= set(hybridzoo.list_models())


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_forward_shape_and_finite(name):
    net, x = build(name)
    y = net(x).asnumpy()
    assert y.shape == (BATCH, hybridzoo.get_config(name).classes)
    assert np.isfinite(y).all()


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_backward_reaches_every_parameter(name):
    net, x = build(name)
    with mx.autograd.record():
        y = net(x)
        loss = (y * mx.nd.array(np.random.RandomState(2).normal(size=y.shape))).sum()
    loss.backward()
    dead = [p.name for p in net.collect_params().values()
            if p.grad_req != "null" and not p.grad().abs().sum().asscalar() > 0]
    assert not dead, f"no gradient reaches {dead}"


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_classes_changes_head(name):
    net, x = build(name, classes=7)
    assert net(x).shape == (BATCH, 7)
    assert net.zoo_config.classes == 7


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_hybridized_matches_imperative(name):
    net, x = build(name)  # BatchNorm statistics randomized: inference uses them
    imperative = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), imperative, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_parameter_names_are_stable(name):
    first = hybridzoo.get_model(name)
    hybridzoo.get_model("lenet")  # advances MXNet's global name counters
    second = hybridzoo.get_model(name)
    assert list(first.collect_params().keys()) == list(second.collect_params().keys())


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_save_load_roundtrip(name, tmp_path):
    net, x = build(name)
    expected = net(x).asnumpy()
    net.save_parameters(str(tmp_path / "model.params"))
    fresh = hybridzoo.get_model(name, input_size=net.zoo_config.input_shape[-1]) \
        if net.zoo_config.is_image else hybridzoo.get_model(name)
    fresh.load_parameters(str(tmp_path / "model.params"), ctx=x.context)
    np.testing.assert_array_equal(fresh(x).asnumpy(), expected)


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_export_is_legacy_symbol_and_reloads_by_name(name, tmp_path):
    net, x = build(name)
    net.hybridize()
    expected = net(x).asnumpy()
    net.export(str(tmp_path / "model"))
    graph = json.loads((tmp_path / "model-symbol.json").read_text())
    numpy_ops = sorted({n["op"] for n in graph["nodes"] if n["op"].startswith("_np")})
    assert not numpy_ops, f"numpy-interface ops in the symbol: {numpy_ops}"
    # Exported params are keyed by full parameter names ("arg:lenet_features_conv0_weight");
    # another instance, built after other nets, must accept them: names may not use counters.
    hybridzoo.get_model("mlp")
    kwargs = {"input_size": x.shape[-1]} if x.ndim == 4 else {}
    fresh = hybridzoo.get_model(name, **kwargs)
    fresh.collect_params().load(str(tmp_path / "model-0000.params"), ctx=x.context)
    np.testing.assert_array_equal(fresh(x).asnumpy(), expected)
    imported = mx.gluon.SymbolBlock.imports(str(tmp_path / "model-symbol.json"), ["data"],
                                            str(tmp_path / "model-0000.params"), ctx=x.context)
    np.testing.assert_array_equal(imported(x).asnumpy(), expected)
