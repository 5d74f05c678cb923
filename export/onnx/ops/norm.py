"""Converters: InstanceNorm, LayerNorm, GroupNorm, L2Normalization, LRN.

ONNX's LayerNormalization (opset 17) normalizes over *all* axes from ``axis`` on, MXNet's
LayerNorm over one axis only, so the native op is used only when that axis is the last one
and the composition (mean, variance, scale) everywhere else.
"""
from ..attrs import attr_bool, attr_eps, attr_float, attr_int, attr_str
from ..registry import converter
from ._emit import Emitter, normalize_axis, unsupported


def _normalize(e, x, axes, eps, mean_out=None, std_out=None):
    """(x - mean) / sqrt(var + eps) over ``axes``; optionally writes mean and std."""
    mean = e.reduce("ReduceMean", x, axes, keepdims=True, out=mean_out)
    centred = e("Sub", [x, mean])
    var = e.reduce("ReduceMean", e("Mul", [centred, centred]), axes, keepdims=True)
    std = e("Sqrt", [e("Add", [var, e.const(eps, hint="eps")])], out=std_out)
    return e("Div", [centred, std])


def _affine(e, y, gamma, beta, ndim, axis, out):
    scaled = e("Mul", [y, e.per_channel(gamma, ndim, axis)])
    return e("Add", [scaled, e.per_channel(beta, ndim, axis)], out=out)


@converter("InstanceNorm")
def instance_norm(node):
    e = Emitter(node)
    e("InstanceNormalization", node.inputs[:3], out=node.outputs[0],
      epsilon=attr_eps(node, 1e-3))
    return e.nodes


def _layer_norm_parts(node):
    ndim = len(node.in_shapes[0])
    axis = normalize_axis(attr_int(node.attrs, "axis", -1), ndim)
    return ndim, axis, attr_eps(node, 1e-5), attr_bool(node.attrs, "output_mean_var")


@converter("LayerNorm")
def layer_norm(node):
    e = Emitter(node)
    ndim, axis, eps, with_stats = _layer_norm_parts(node)
    x, gamma, beta = node.inputs[:3]
    outs = node.outputs
    y = _normalize(e, x, [axis], eps, *(outs[1:3] if with_stats else ()))
    _affine(e, y, gamma, beta, ndim, axis, outs[0])
    return e.nodes


@converter("LayerNorm", opset=17)
def layer_norm_17(node):
    ndim, axis, eps, with_stats = _layer_norm_parts(node)
    if axis != ndim - 1 or with_stats:
        return layer_norm(node)
    e = Emitter(node)
    e("LayerNormalization", node.inputs[:3], out=node.outputs[0], axis=axis, epsilon=eps)
    return e.nodes


@converter("GroupNorm")
def group_norm(node):
    """MXNet 1.x GroupNorm: statistics and gamma/beta (shape (num_groups,)) per group."""
    if attr_bool(node.attrs, "output_mean_var"):
        raise unsupported(node, "output_mean_var=True", "use the normalized output only")
    e = Emitter(node)
    groups = attr_int(node.attrs, "num_groups", 1)
    x, gamma, beta = node.inputs[:3]
    # (N, groups, rest): the batch copied, the rest inferred: any axis may be dynamic
    grouped = e("Reshape", [x, e.int64([0, groups, -1], "grouped")])
    y = _normalize(e, grouped, [2], attr_eps(node, 1e-5))
    e("Reshape", [_affine(e, y, gamma, beta, 3, 1, None), e("Shape", [x])], out=node.outputs[0])
    return e.nodes


@converter("L2Normalization")
def l2_normalization(node):
    """x / sqrt(sum(x^2) + eps) over all but axis 0 (instance), axis 1 (channel) or 2.. (spatial)."""
    e = Emitter(node)
    x = node.inputs[0]
    ndim = len(node.in_shapes[0])
    mode = attr_str(node.attrs, "mode", "instance")
    axes = {"instance": range(1, ndim), "channel": [1], "spatial": range(2, ndim)}.get(mode)
    if axes is None:
        raise unsupported(node, f"mode={mode!r}", "use instance, channel or spatial")
    square_sum = e.reduce("ReduceSum", e("Mul", [x, x]), list(axes), keepdims=True)
    norm = e("Sqrt", [e("Add", [square_sum, e.const(attr_eps(node, 1e-10), hint="eps")])])
    e("Div", [x, norm], out=node.outputs[0])
    return e.nodes


@converter("LRN")
def lrn(node):
    e = Emitter(node)
    e("LRN", node.inputs[:1], out=node.outputs[0], size=attr_int(node.attrs, "nsize"),
      alpha=attr_float(node.attrs, "alpha", 1e-4), beta=attr_float(node.attrs, "beta", 0.75),
      bias=attr_float(node.attrs, "knorm", 2.0))
    return e.nodes
