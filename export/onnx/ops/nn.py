"""Converters: the layers the zoo emits (Convolution, FullyConnected, Pooling, BatchNorm,
Activation, Dropout, Flatten, Concat and the identity-like ops)."""
import math

import numpy as np

from ..attrs import attr_bool, attr_eps, attr_int, attr_str, attr_tuple
from ..registry import converter
from ._emit import Emitter, unsupported


def _spatial(node, key, default):
    """A per-spatial-axis tuple attribute (kernel/stride/pad/dilate) of the right length."""
    rank = len(node.in_shapes[0]) - 2
    value = attr_tuple(node.attrs, key, None)
    return tuple(value) if value else (default,) * rank


def _check_layout(node):
    layout = attr_str(node.attrs, "layout", None)
    if layout is not None and layout not in ("NCW", "NCHW", "NCDHW"):
        raise unsupported(node, f"layout={layout}", "export a channels-first (NC...) model")


@converter("Convolution")
def convolution(node):
    _check_layout(node)
    kernel = _spatial(node, "kernel", 1)
    pad = _spatial(node, "pad", 0)
    inputs = node.inputs[:2] if attr_bool(node.attrs, "no_bias") else node.inputs[:3]
    e = Emitter(node)
    e("Conv", inputs, out=node.outputs[0], kernel_shape=list(kernel),
      strides=list(_spatial(node, "stride", 1)), dilations=list(_spatial(node, "dilate", 1)),
      pads=list(pad) * 2, group=attr_int(node.attrs, "num_group", 1))
    return e.nodes


@converter("FullyConnected")
def fully_connected(node):
    e = Emitter(node)
    x, weight = node.inputs[:2]
    bias = None if attr_bool(node.attrs, "no_bias") else node.inputs[2]
    if attr_bool(node.attrs, "flatten", True):
        if len(node.in_shapes[0]) != 2:
            x = e("Flatten", [x], axis=1)
        e("Gemm", [x, weight] + ([bias] if bias else []), out=node.outputs[0], transB=1)
        return e.nodes
    # flatten=False: y[..., n] = x[..., k] W[n, k] + b[n] over the last axis only: one Gemm
    # (bias added inside the GEMM, W used as stored, no transposed copy) on the rows of x
    if len(node.in_shapes[0]) == 2:
        e("Gemm", [x, weight] + ([bias] if bias else []), out=node.outputs[0], transB=1)
        return e.nodes
    k, units = node.in_shapes[1][1], node.out_shapes[0][-1]
    rows = e("Gemm", [e("Reshape", [x, e.int64([-1, k], "rows")]), weight] + ([bias] if bias else []),
             transB=1)
    leading = e("Slice", [e("Shape", [x]), e.int64([0], "start"), e.int64([-1], "end")])
    e("Reshape", [rows, e("Concat", [leading, e.int64([units], "units")], axis=0)], out=node.outputs[0])
    return e.nodes


def _full_extra_pad(in_size, kernel, stride, pad):
    """End padding that makes floor-mode pooling give MXNet's 'full' (ceil) output size."""
    out = int(math.ceil((in_size + 2 * pad - kernel) / stride)) + 1
    return out, max(0, (out - 1) * stride + kernel - (in_size + 2 * pad))


def _window_counts(in_sizes, out_sizes, kernel, stride, pad, include_pad):
    """Per output position, the number of elements MXNet averages over: the window clipped to
    the symmetrically padded input (``include_pad``) or to the input itself."""
    grids = []
    for size, out, k, s, p in zip(in_sizes, out_sizes, kernel, stride, pad):
        start = np.arange(out) * s - p
        if include_pad:
            grids.append(np.minimum(start + k, size + p) - start)
        else:
            grids.append(np.minimum(start + k, size) - np.maximum(start, 0))
    counts = grids[0]
    for g in grids[1:]:
        counts = np.multiply.outer(counts, g)
    return np.maximum(counts, 1)


def _global_pool(node, e, pool_type):
    x, out = node.inputs[0], node.outputs[0]
    if pool_type == "max":
        return e("GlobalMaxPool", [x], out=out)
    if pool_type == "avg":
        return e("GlobalAveragePool", [x], out=out)
    if pool_type == "lp":
        return e("GlobalLpPool", [x], out=out, p=attr_int(node.attrs, "p_value", 2))
    axes = list(range(2, len(node.in_shapes[0])))  # ReduceSum takes axes as an input from opset 13
    return e("ReduceSum", [x, e.int64(axes, "axes")], out=out, keepdims=1)


@converter("Pooling")
def pooling(node):
    """Pooling with MXNet's semantics: 'full' convention as explicit end padding (ONNX's
    ceil_mode drops windows that start in the padding, MXNet keeps them), MXNet's avg divisor."""
    _check_layout(node)
    e = Emitter(node)
    pool_type = attr_str(node.attrs, "pool_type", "max")
    if pool_type not in ("max", "avg", "sum", "lp"):
        raise unsupported(node, f"pool_type={pool_type}", "use max, avg, sum or lp")
    if attr_bool(node.attrs, "global_pool"):
        _global_pool(node, e, pool_type)
        return e.nodes
    convention = attr_str(node.attrs, "pooling_convention", "valid")
    if convention not in ("valid", "full"):
        raise unsupported(node, f"pooling_convention={convention}", "use 'valid' or 'full'")
    kernel = _spatial(node, "kernel", 1)
    stride = _spatial(node, "stride", 1)
    pad = _spatial(node, "pad", 0)
    in_sizes = node.in_shapes[0][2:]
    out_sizes, extra = list(node.out_shapes[0][2:]), [0] * len(kernel)
    if convention == "full" and _spatial_dynamic(node):
        return _full_pool_dynamic(node, e, pool_type, kernel, stride, pad)
    if convention == "full":
        out_sizes, extra = zip(*(_full_extra_pad(*a) for a in zip(in_sizes, kernel, stride, pad)))
    x, out = node.inputs[0], node.outputs[0]
    if any(extra):
        _overhanging_pool(node, e, pool_type, kernel, stride, pad, extra, out_sizes)
        return e.nodes
    common = dict(kernel_shape=list(kernel), strides=list(stride), pads=list(pad) * 2)
    if pool_type == "max":
        e("MaxPool", [x], out=out, **common)
    elif pool_type == "lp":
        e("LpPool", [x], out=out, p=attr_int(node.attrs, "p_value", 2), **common)
    elif pool_type == "avg":
        include = 1 if attr_bool(node.attrs, "count_include_pad", True) else 0
        e("AveragePool", [x], out=out, count_include_pad=include, **common)
    else:  # sum: the zero-padded window mean times the window size
        mean = e("AveragePool", [x], count_include_pad=1, **common)
        e("Mul", [mean, e.const(np.prod(kernel), hint="window")], out=out)
    return e.nodes


def _spatial_dynamic(node):
    return bool(node.in_dims) and any(d is not None for d in node.in_dims[0][2:])


def _full_pool_dynamic(node, e, pool_type, kernel, stride, pad):
    """'full' pooling over dynamic height/width: with stride 1 it is 'valid' pooling (the ceil
    of a whole number); else ONNX's ceil_mode gives MXNet's windows when no window can start in
    the padding (no padding, stride <= kernel), for max, and for averages that divide by the
    window's in-bounds elements (count_include_pad=False: GluonCV's ResNet-v1d shortcuts) -
    other average divisors of the clipped windows depend on the run-time size."""
    exclude_pad = pool_type == "avg" and not attr_bool(node.attrs, "count_include_pad", True)
    if all(s == 1 for s in stride) and pool_type in ("max", "avg"):
        common = dict(kernel_shape=list(kernel), strides=list(stride), pads=list(pad) * 2)
        if pool_type == "max":
            e("MaxPool", [node.inputs[0]], out=node.outputs[0], **common)
        else:
            e("AveragePool", [node.inputs[0]], out=node.outputs[0], count_include_pad=int(not exclude_pad),
              **common)
        return e.nodes
    if (pool_type != "max" and not exclude_pad) or any(pad) or any(s > k for s, k in zip(stride, kernel)):
        raise unsupported(node, f"pooling_convention='full' ({pool_type}, pad {tuple(pad)}, stride "
                          f"{tuple(stride)}) over dynamic height/width",
                          "export the spatial axes fixed, or use max pooling without padding")
    op = "MaxPool" if pool_type == "max" else "AveragePool"
    extra = {} if pool_type == "max" else {"count_include_pad": 0}
    e(op, [node.inputs[0]], out=node.outputs[0], kernel_shape=list(kernel), strides=list(stride),
      ceil_mode=1, **extra)
    return e.nodes


def _overhanging_pool(node, e, pool_type, kernel, stride, pad, extra, out_sizes):
    """'full' pooling whose last windows run past the padding: pad explicitly (ONNX pooling
    rejects pads >= kernel and its ceil_mode drops such windows), pool unpadded, then rescale
    averages to MXNet's divisor."""
    x, out = node.inputs[0], node.outputs[0]
    dtype = node.in_dtypes[0]
    fill = np.finfo(dtype).min if pool_type == "max" else 0  # MXNet's max of an empty window
    pads = [0, 0] + list(pad) + [0, 0] + [p + x_ for p, x_ in zip(pad, extra)]
    padded = e("Pad", [x, e.int64(pads, "pads"), e.const(fill, hint="pad_value")], mode="constant")
    common = dict(kernel_shape=list(kernel), strides=list(stride))
    if pool_type == "max":
        e("MaxPool", [padded], out=out, **common)
        return
    if pool_type == "lp":
        e("LpPool", [padded], out=out, p=attr_int(node.attrs, "p_value", 2), **common)
        return
    mean = e("AveragePool", [padded], **common)
    window = int(np.prod(kernel))
    if pool_type == "sum":
        scale = window
    else:
        include = attr_bool(node.attrs, "count_include_pad", True)
        scale = window / _window_counts(node.in_shapes[0][2:], out_sizes, kernel, stride, pad, include)
    e("Mul", [mean, e.const(scale, hint="window_scale")], out=out)


@converter("BatchNorm")
def batch_norm(node):
    """Inference BatchNorm (MXNet uses the running statistics whenever it is not training)."""
    if len(node.outputs) > 1:
        raise unsupported(node, "output_mean_var=True", "export with output_mean_var=False")
    e = Emitter(node)
    x, gamma, beta, mean, var = node.inputs[:5]
    channels = node.in_shapes[1][0]
    if attr_bool(node.attrs, "fix_gamma", True):  # MXNet then multiplies by 1, whatever gamma holds
        gamma = e.const(np.ones(channels), dtype=node.in_dtypes[1], hint="gamma_fixed")
    rank = len(node.in_shapes[0])
    axis = attr_int(node.attrs, "axis", 1) % rank
    eps = attr_eps(node, 1e-3)
    if axis == 1:
        e("BatchNormalization", [x, gamma, beta, mean, var], out=node.outputs[0], epsilon=eps)
        return e.nodes
    # ONNX normalises axis 1 only: move the channel axis there and back.
    perm = list(range(rank))
    perm[1], perm[axis] = perm[axis], perm[1]
    moved = e("Transpose", [x], perm=perm)
    normed = e("BatchNormalization", [moved, gamma, beta, mean, var], epsilon=eps)
    e("Transpose", [normed], out=node.outputs[0], perm=perm)
    return e.nodes


_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softrelu": "Softplus",
                "softsign": "Softsign"}


@converter("Activation")
def activation(node):
    act = attr_str(node.attrs, "act_type")
    if act not in _ACTIVATIONS:
        raise unsupported(node, f"act_type={act}", f"use one of {sorted(_ACTIVATIONS)}")
    e = Emitter(node)
    e(_ACTIVATIONS[act], node.inputs[:1], out=node.outputs[0])
    return e.nodes


@converter("Dropout")
def dropout(node):
    if attr_str(node.attrs, "mode", "training") == "always":
        raise unsupported(node, "mode='always' (random at inference)", "use the default mode")
    return identity(node)


@converter("identity", "_copy", "BlockGrad", "stop_gradient", "_identity_with_attr_like_rhs")
def identity(node):
    e = Emitter(node)
    e("Identity", node.inputs[:1], out=node.outputs[0])
    return e.nodes


@converter("Flatten", "flatten")
def flatten(node):
    e = Emitter(node)
    e("Flatten", node.inputs[:1], out=node.outputs[0], axis=1)
    return e.nodes


@converter("Concat", "concat")
def concat(node):
    e = Emitter(node)
    axis = attr_int(node.attrs, "dim", 1) % len(node.in_shapes[0])
    e("Concat", node.inputs, out=node.outputs[0], axis=axis)
    return e.nodes
