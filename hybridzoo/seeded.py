"""Seeded untrained weights that are deterministic, non-trivial and realistic: what
``tools/export.py --untrained`` exports and every numerics test compares.

Freshly initialized BatchNorm layers are the identity in inference (mean 0, var 1, gamma 1,
beta 0), which hides wrong BatchNorm conversions; ``init_model`` randomizes them. Drawn
independently of the data, though, running statistics let deep residual nets explode (ResNet-152
outputs ~1e5), so ``init_model`` calibrates them: each BatchNorm's running mean/var come from the
statistics of its actual input on a calibration batch, then get perturbed, like a trained net.
LayerNorm scales and shifts are randomized too (they start as the identity as well).
Inputs come from the model's config (:meth:`hybridzoo.config.ModelConfig.sample_inputs`): token
ids below the vocabulary size, valid lengths within the sequence, states and images U(-1, 1).

:mod:`hybridzoo.testing` re-exports these for tests and builds third-party nets with them.
"""
import mxnet as mx
import numpy as np
from mxnet.gluon import nn

from .models._common import ResidualBlock

__all__ = ["default_context", "init_model", "randomize_batchnorm", "randomize_layernorm",
           "batchnorm_layers", "layer_norms", "residual_branch_ends", "calibration_batch",
           "sample_inputs", "infer_output_shapes"]

CALIBRATION_BATCH = 8


def default_context():
    """The first GPU when MXNet sees one, else the CPU."""
    return mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu()


def batchnorm_layers(net, kind=nn.BatchNorm):
    """Every BatchNorm block (or other ``kind``) inside ``net`` (including ``net`` itself), depth first."""
    found = [net] if isinstance(net, kind) else []
    for child in net._children.values():
        found.extend(batchnorm_layers(child, kind))
    return found


def layer_norms(net):
    """Every LayerNorm block inside ``net``, depth first."""
    return batchnorm_layers(net, nn.LayerNorm)


def residual_branch_ends(net):
    """The last BatchNorm of every residual branch (``ResidualBlock.body``) inside ``net``."""
    found = [batchnorm_layers(net.body)[-1]] if isinstance(net, ResidualBlock) and net.residual else []
    for child in net._children.values():
        found.extend(residual_branch_ends(child))
    return found


def _param_context(param):
    try:
        return param.data().context
    except RuntimeError as err:  # not initialized, or its shape is still deferred
        raise RuntimeError(
            f"cannot randomize {param.name}: it has no data yet; initialize the net "
            f"with in_channels declared, or run one forward pass first") from err


def _set(param, values):
    param.set_data(mx.nd.array(np.asarray(values, np.float32), ctx=_param_context(param)))


def _input_statistics(layer, x):
    """Per-channel mean and variance of ``x`` over every axis but the BatchNorm's axis."""
    x = x.asnumpy().astype(np.float64)
    axes = tuple(a for a in range(x.ndim) if a != layer._kwargs["axis"] % x.ndim)
    return x.mean(axis=axes), x.var(axis=axes)


def randomize_batchnorm(net, seed=0, calibration=None):
    """Give every BatchNorm random running_mean, running_var (> 0), gamma and beta; return ``net``.

    beta ~ N(0, 0.2); gamma ~ U(0.5, 1.5), except U(0.1, 0.3) for the BatchNorm that ends a
    residual branch: trained ResNets keep those small (Goyal et al. start them at 0), while at
    ~1 fifty stacked branches make ResNet-152 so ill-conditioned that MXNet's own float32
    output is 1e-4 (relative) away from its float64 output. Without ``calibration``: mean ~ N(0, 0.5), var ~ U(0.5, 2),
    independent of any data. With ``calibration`` (an input batch), one inference pass sets
    each BatchNorm, just before it runs, from the statistics of its actual input: mean +
    N(0, 0.2) * std and var * U(0.5, 2) (floored at 1e-3 of the layer's mean variance, so a
    channel the batch leaves constant cannot blow up). The net must be initialized with known
    shapes and not hybridized.
    """
    rng = np.random.RandomState(seed)
    layers = batchnorm_layers(net)
    branch_ends = {id(layer) for layer in residual_branch_ends(net)}
    for layer in layers:
        (channels,) = layer.gamma.shape
        low, high = (0.1, 0.3) if id(layer) in branch_ends else (0.5, 1.5)
        _set(layer.gamma, rng.uniform(low, high, channels))
        _set(layer.beta, rng.normal(0, 0.2, channels))
        if calibration is None:
            _set(layer.running_mean, rng.normal(0, 0.5, channels))
            _set(layer.running_var, rng.uniform(0.5, 2.0, channels))
    if calibration is not None and layers:
        _calibrate(net, layers, calibration, rng)
    return net


def randomize_layernorm(net, seed=0):
    """Give every LayerNorm gamma ~ U(0.5, 1.5) and beta ~ N(0, 0.2); return ``net``."""
    rng = np.random.RandomState(seed)
    for layer in layer_norms(net):
        (channels,) = layer.gamma.shape
        _set(layer.gamma, rng.uniform(0.5, 1.5, channels))
        _set(layer.beta, rng.normal(0, 0.2, channels))
    return net


def _as_input(x, ctx):
    """An NDArray of ``x``: integer arrays (token ids, lengths) keep their dtype, floats become
    float32 (as ``mx.nd.array`` makes them)."""
    if isinstance(x, mx.nd.NDArray):
        return x.as_in_context(ctx)
    x = np.asarray(x)
    return mx.nd.array(x, ctx=ctx, dtype=x.dtype if x.dtype.kind in "iu" else np.float32)


def _calibrate(net, layers, calibration, rng):
    if getattr(net, "_active", False):
        raise RuntimeError("cannot calibrate a hybridized net (its layers run as one graph); "
                           "call init_model/randomize_batchnorm before net.hybridize()")

    def set_running_statistics(layer, inputs):
        mean, var = _input_statistics(layer, inputs[0])
        var = np.maximum(var, 1e-3 * var.mean() + 1e-12)
        _set(layer.running_mean, mean + rng.normal(0, 0.2, mean.shape) * np.sqrt(var))
        _set(layer.running_var, var * rng.uniform(0.5, 2.0, var.shape))

    handles = [layer.register_forward_pre_hook(set_running_statistics) for layer in layers]
    try:
        ctx = _param_context(layers[0].gamma)
        inputs = calibration if isinstance(calibration, (list, tuple)) else [calibration]
        with mx.autograd.predict_mode():
            net(*[_as_input(x, ctx) for x in inputs])
    finally:
        for handle in handles:
            handle.detach()


def sample_inputs(net, batch=1, seed=0, **dims):
    """Seeded inputs for ``net`` as its config describes them (a list in forward-argument
    order: images U(-1, 1), token ids, valid lengths...); ``dims`` resizes named dims (``seq=7``)."""
    config = getattr(net, "zoo_config", None)
    if config is None:
        raise ValueError("sample_inputs needs a zoo net (built by hybridzoo.get_model)")
    return config.sample_inputs(batch, seed, **dims)


def infer_output_shapes(net, batch=1, **dims):
    """The output shapes MXNet infers for ``net``'s symbol at its config's inputs (``dims``
    resize named dims), without running it; a list in output order."""
    config = net.zoo_config
    names = config.input_names()
    outputs = net(*[mx.sym.var(n) for n in names])
    symbol = mx.sym.Group(list(outputs)) if isinstance(outputs, (list, tuple)) else outputs
    _, shapes, _ = symbol.infer_shape(**dict(zip(names, config.input_shapes(batch, **dims))))
    return [tuple(s) for s in shapes]


def calibration_batch(net, seed=0, batch=CALIBRATION_BATCH):
    """A seeded batch of the net's configured inputs (one array for a one-input net, else a
    list; images are U(-1, 1)), or None without a config."""
    if getattr(net, "zoo_config", None) is None:
        return None
    inputs = sample_inputs(net, batch, seed)
    return inputs[0] if len(inputs) == 1 else inputs


def init_model(net, seed=0, ctx=None, calibration=None):
    """Initialize ``net`` reproducibly, randomize its BatchNorms, and return it.

    Nets with BatchNorm start from their ``default_init`` (else Xavier); nets without get He
    (MSRA, fan-in) weights, which keep the activation scale through deep ReLU stacks where
    Xavier shrinks it ~2x per layer (VGG-19's outputs would barely depend on its input).
    BatchNorms are calibrated on ``calibration`` (default: :func:`calibration_batch`); LayerNorms
    get random scales and shifts.
    ``ctx`` defaults to :func:`default_context`. Training keeps using ``default_init``.
    """
    mx.random.seed(seed)
    np.random.seed(seed)
    if batchnorm_layers(net):
        init = getattr(net, "default_init", None) or mx.init.Xavier()
    else:
        init = mx.init.MSRAPrelu(factor_type="in", slope=0.0)
    net.initialize(init, ctx=ctx or default_context(), force_reinit=True)
    if calibration is None:
        calibration = calibration_batch(net, seed)
    randomize_layernorm(net, seed)
    return randomize_batchnorm(net, seed, calibration)
