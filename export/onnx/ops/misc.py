"""Converters: Deconvolution, UpSampling, AdaptiveAvgPooling2D, Embedding/take/one_hot, Cast,
clip, where, dot/batch_dot."""
import numpy as np

from ..attrs import attr_bool, attr_float, attr_int, attr_str, attr_tuple
from ..registry import converter
from ._emit import Emitter, normalize_axis, unsupported


def _spatial(node, key, ndim, default):
    value = attr_tuple(node.attrs, key, ())
    return list(value) if value else [default] * ndim


@converter("Deconvolution")
def deconvolution(node):
    """ConvTranspose; ``target_shape`` is turned into MXNet's pad/adj (deconvolution-inl.h)."""
    layout = attr_str(node.attrs, "layout")
    if layout not in (None, "NCW", "NCHW", "NCDHW"):
        raise unsupported(node, f"layout={layout!r}", "use a channels-first layout")
    kernel = list(attr_tuple(node.attrs, "kernel"))
    n = len(kernel)
    stride = _spatial(node, "stride", n, 1)
    dilate = _spatial(node, "dilate", n, 1)
    pad = _spatial(node, "pad", n, 0)
    adj = _spatial(node, "adj", n, 0)
    target = attr_tuple(node.attrs, "target_shape", ())
    if target and any(target):
        spatial_in = node.in_shapes[0][2:]
        for i in range(n):
            total = stride[i] * (spatial_in[i] - 1) + dilate[i] * (kernel[i] - 1) + 1 - target[i]
            adj[i] = total % 2
            pad[i] = (total + 1) // 2
    no_bias = attr_bool(node.attrs, "no_bias", True) or len(node.inputs) < 3
    e = Emitter(node)
    e("ConvTranspose", node.inputs[:2 if no_bias else 3], out=node.outputs[0],
      kernel_shape=kernel, strides=stride, dilations=dilate, pads=pad + pad,
      output_padding=adj, group=attr_int(node.attrs, "num_group", 1))
    return e.nodes


@converter("UpSampling")
def upsampling(node):
    """nearest: every input resized to the output's spatial size, then concatenated (or
    summed); bilinear: MXNet's own depthwise deconvolution with the weight input."""
    kind = attr_str(node.attrs, "sample_type", "nearest")
    scale = attr_int(node.attrs, "scale", 1)
    e = Emitter(node)
    if kind == "bilinear":
        kernel = 2 * scale - scale % 2
        pad = int(np.ceil((scale - 1) / 2.0))
        channels = node.in_shapes[0][1]
        e("ConvTranspose", node.inputs[:2], out=node.outputs[0], kernel_shape=[kernel, kernel],
          strides=[scale, scale], pads=[pad] * 4, group=channels)
        return e.nodes
    if kind != "nearest":
        raise unsupported(node, f"sample_type={kind!r}", "use nearest or bilinear")
    out_h, out_w = node.out_shapes[0][2:]
    single = len(node.inputs) == 1
    resized = []
    for x, shape in zip(node.inputs, node.in_shapes):
        scales = [1.0, 1.0, out_h / shape[2], out_w / shape[3]]
        resized.append(e("Resize", [x, "", e.const(scales, np.float32, "scales")], mode="nearest",
                         out=node.outputs[0] if single else None,
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
    if single:
        return e.nodes
    if attr_str(node.attrs, "multi_input_mode", "concat") == "sum":
        e("Sum", resized, out=node.outputs[0])
    else:
        e("Concat", resized, out=node.outputs[0], axis=1)
    return e.nodes


def _adaptive_matrix(size_in, size_out):
    """(size_out, size_in) averaging matrix over MXNet's bins [floor(i*I/O), ceil((i+1)*I/O))."""
    matrix = np.zeros((size_out, size_in), np.float32)
    for i in range(size_out):
        start = (i * size_in) // size_out
        end = -((-(i + 1) * size_in) // size_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


@converter("_contrib_AdaptiveAvgPooling2D", "contrib_AdaptiveAvgPooling2D")
def adaptive_avg_pooling(node):
    """Global pooling for 1x1, AveragePool when the sizes divide, else two averaging MatMuls."""
    (h, w), (oh, ow) = node.in_shapes[0][2:], node.out_shapes[0][2:]
    e = Emitter(node)
    x, out = node.inputs[0], node.outputs[0]
    if (oh, ow) == (1, 1):
        e("GlobalAveragePool", [x], out=out)
    elif h % oh == 0 and w % ow == 0:
        kernel = [h // oh, w // ow]
        e("AveragePool", [x], out=out, kernel_shape=kernel, strides=kernel)
    else:
        dtype = node.in_dtypes[0]
        cols = e("MatMul", [x, e.const(_adaptive_matrix(w, ow).T, dtype, "pool_w")])
        e("MatMul", [e.const(_adaptive_matrix(h, oh), dtype, "pool_h"), cols], out=out)
    return e.nodes


def _clipped_indices(e, indices, size, mode="clip"):
    """int64 indices into an axis of ``size``: clipped (MXNet's default) or wrapped."""
    idx = e.cast(indices, np.int64)
    if mode == "wrap":
        return e("Mod", [idx, e.int64(size, "size")], fmod=0)
    upper = e("Min", [idx, e.int64(size - 1, "last")])
    return e("Max", [upper, e.int64(0, "first")])


@converter("Embedding", "_sparse_Embedding")
def embedding(node):
    e = Emitter(node)
    idx = _clipped_indices(e, node.inputs[0], node.in_shapes[1][0])
    e("Gather", [node.inputs[1], idx], out=node.outputs[0], axis=0)
    return e.nodes


@converter("take")
def take(node):
    axis = normalize_axis(attr_int(node.attrs, "axis", 0), len(node.in_shapes[0]))
    if node.in_batch_axes and axis in node.in_batch_axes[0]:
        raise unsupported(node, "take along the batch axis", "take along another axis")
    e = Emitter(node)
    idx = _clipped_indices(e, node.inputs[1], node.in_shapes[0][axis],
                           attr_str(node.attrs, "mode", "clip"))
    e("Gather", [node.inputs[0], idx], out=node.outputs[0], axis=axis)
    return e.nodes


@converter("one_hot")
def one_hot(node):
    dtype = node.out_dtypes[0]
    e = Emitter(node)
    values = e.const([attr_float(node.attrs, "off_value", 0.0), attr_float(node.attrs, "on_value", 1.0)],
                     dtype, "values")
    e("OneHot", [e.cast(node.inputs[0], np.int64), e.int64(attr_int(node.attrs, "depth"), "depth"),
                 values], out=node.outputs[0], axis=-1)
    return e.nodes


@converter("Cast", "cast", "amp_cast")
def cast(node):
    e = Emitter(node)
    e.cast(node.inputs[0], node.out_dtypes[0], out=node.outputs[0])
    return e.nodes


@converter("clip", "_sparse_clip")
def clip(node):
    e = Emitter(node)
    lo = e.const(attr_float(node.attrs, "a_min"), hint="min")
    hi = e.const(attr_float(node.attrs, "a_max"), hint="max")
    e("Clip", [node.inputs[0], lo, hi], out=node.outputs[0])
    return e.nodes


@converter("where", "_sparse_where")
def where(node):
    """A 1-D condition selects whole rows (along axis 0) in MXNet."""
    e = Emitter(node)
    cond = e.cast(node.inputs[0], np.bool_)
    rank = len(node.in_shapes[1])
    if len(node.in_shapes[0]) == 1 and rank > 1:
        cond = e.unsqueeze(cond, range(1, rank))
    e("Where", [cond, node.inputs[1], node.inputs[2]], out=node.outputs[0])
    return e.nodes


def _swap_last(e, x, ndim):
    perm = list(range(ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return e("Transpose", [x], perm=perm)


@converter("dot", "_sparse_dot")
def dot(node):
    """MXNet's dot contracts the last axis of lhs with the first of rhs (tensordot, not matmul)."""
    (a_shape, b_shape), (a, b) = node.in_shapes[:2], node.inputs[:2]
    trans_a, trans_b = attr_bool(node.attrs, "transpose_a"), attr_bool(node.attrs, "transpose_b")
    e = Emitter(node)
    if len(a_shape) <= 2 and len(b_shape) <= 2:
        if trans_a and len(a_shape) == 2:
            a = _swap_last(e, a, 2)
        if trans_b and len(b_shape) == 2:
            b = _swap_last(e, b, 2)
        if len(a_shape) == len(b_shape) == 1:  # MXNet: shape (1,), ONNX: a scalar
            e("Reshape", [e("MatMul", [a, b]), e.int64([1])], out=node.outputs[0])
        else:
            e("MatMul", [a, b], out=node.outputs[0])
        return e.nodes
    if trans_a or trans_b:
        raise unsupported(node, "transpose_a/transpose_b with inputs of more than 2 dimensions",
                          "transpose the inputs explicitly")
    k = a_shape[-1]
    a2 = e("Reshape", [a, e.int64([-1, k], "lhs_shape")])
    b2 = e("Reshape", [b, e.int64([k, -1], "rhs_shape")])
    e.reshape(e("MatMul", [a2, b2]), out=node.outputs[0])
    return e.nodes


@converter("batch_dot")
def batch_dot(node):
    (a, b), ndim = node.inputs[:2], len(node.in_shapes[0])
    e = Emitter(node)
    if attr_bool(node.attrs, "transpose_a"):
        a = _swap_last(e, a, ndim)
    if attr_bool(node.attrs, "transpose_b"):
        b = _swap_last(e, b, ndim)
    e("MatMul", [a, b], out=node.outputs[0])
    return e.nodes
