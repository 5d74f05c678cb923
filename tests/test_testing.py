"""hybridzoo.testing: calibrated BatchNorm statistics and variance-preserving test weights."""
import hybridzoo
import mxnet as mx
import numpy as np
import pytest
from hybridzoo.testing import (batchnorm_layers, calibration_batch, init_model,
                               randomize_batchnorm, residual_branch_ends)


def _inputs_of(net, layers, x):
    seen = {}
    handles = [l.register_forward_pre_hook(lambda l, a: seen.__setitem__(l, a[0].asnumpy()))
               for l in layers]
    net(mx.nd.array(x))
    for handle in handles:
        handle.detach()
    return [seen[l] for l in layers]


def test_running_statistics_come_from_the_calibration_batch():
    net = init_model(hybridzoo.get_model("lenet_bn"), seed=3, ctx=mx.cpu())
    layers = batchnorm_layers(net)
    for layer, x in zip(layers, _inputs_of(net, layers, calibration_batch(net, seed=3))):
        axes = tuple(a for a in range(x.ndim) if a != 1)
        std = x.std(axis=axes)
        mean_shift = (x.mean(axis=axes) - layer.running_mean.data().asnumpy()) / std
        var_ratio = layer.running_var.data().asnumpy() / std ** 2
        assert np.abs(mean_shift).max() < 1.0 and np.abs(mean_shift).min() > 0, layer.name
        assert var_ratio.min() >= 0.5 - 1e-3 and var_ratio.max() <= 2.0 + 1e-3, layer.name


def test_residual_branches_end_with_small_gamma():
    net = init_model(hybridzoo.get_model("resnet50", input_size=32), ctx=mx.cpu())
    ends = residual_branch_ends(net)
    assert len(ends) == 3 + 4 + 6 + 3
    for layer in batchnorm_layers(net):
        gamma = layer.gamma.data().asnumpy()
        low, high = (0.1, 0.3) if layer in ends else (0.5, 1.5)
        assert gamma.min() >= low and gamma.max() <= high, layer.name


def test_deep_nets_keep_their_output_scale():
    """Calibrated ResNet-152 and He-initialised VGG-19: outputs of order 1 that vary with the input."""
    for name in ("resnet152", "vgg19"):
        net = init_model(hybridzoo.get_model(name, input_size=32), ctx=mx.cpu())
        x = np.random.RandomState(1).uniform(-1, 1, (3,) + net.zoo_config.input_shape)
        out = net(mx.nd.array(x)).asnumpy()
        assert 0.1 < np.abs(out).max() < 100, name
        assert np.ptp(out, axis=0).max() > 0.01 * np.abs(out).max(), name


def test_calibration_needs_an_imperative_net():
    net = init_model(hybridzoo.get_model("lenet_bn"), ctx=mx.cpu())
    net.hybridize()
    with pytest.raises(RuntimeError, match="before net.hybridize"):
        randomize_batchnorm(net, calibration=calibration_batch(net))
