"""Helpers for tests that compare numerics: deterministic, non-trivial weights.

Freshly initialized BatchNorm layers are the identity in inference (mean 0, var 1, gamma 1,
beta 0), which hides wrong BatchNorm conversions; ``init_model`` randomizes them.
"""
import mxnet as mx
import numpy as np
from mxnet.gluon import nn

__all__ = ["default_context", "init_model", "randomize_batchnorm", "batchnorm_layers"]


def default_context():
    """The first GPU when MXNet sees one, else the CPU."""
    return mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu()


def batchnorm_layers(net):
    """Every BatchNorm block inside ``net`` (including ``net`` itself), depth first."""
    found = [net] if isinstance(net, nn.BatchNorm) else []
    for child in net._children.values():
        found.extend(batchnorm_layers(child))
    return found


def randomize_batchnorm(net, seed=0):
    """Give every BatchNorm random running_mean, running_var (> 0), gamma and beta; return ``net``.

    Values: mean ~ N(0, 0.5), var ~ U(0.5, 2), gamma ~ U(0.5, 1.5), beta ~ N(0, 0.5).
    The net must be initialized with known shapes (declare ``in_channels`` or run one forward).
    """
    rng = np.random.RandomState(seed)
    draws = {
        "running_mean": lambda n: rng.normal(0, 0.5, n),
        "running_var": lambda n: rng.uniform(0.5, 2.0, n),
        "gamma": lambda n: rng.uniform(0.5, 1.5, n),
        "beta": lambda n: rng.normal(0, 0.5, n),
    }
    for layer in batchnorm_layers(net):
        for attr, draw in draws.items():
            param = getattr(layer, attr)
            try:
                ctx = param.data().context
            except RuntimeError as err:  # not initialized, or its shape is still deferred
                raise RuntimeError(
                    f"cannot randomize {param.name}: it has no data yet; initialize the net "
                    f"with in_channels declared, or run one forward pass first") from err
            (channels,) = param.shape
            param.set_data(mx.nd.array(draw(channels).astype(np.float32), ctx=ctx))
    return net


def init_model(net, seed=0, ctx=None):
    """Initialize ``net`` reproducibly (its ``default_init``, else Xavier), randomize its
    BatchNorms, and return it. ``ctx`` defaults to :func:`default_context`."""
    mx.random.seed(seed)
    np.random.seed(seed)
    init = getattr(net, "default_init", None) or mx.init.Xavier()
    net.initialize(init, ctx=ctx or default_context(), force_reinit=True)
    return randomize_batchnorm(net, seed)
