"""Converters: the remaining layers: Deconvolution, UpSampling, AdaptiveAvgPooling2D,
BilinearResize2D."""
import numpy as np

from ..attrs import attr_bool, attr_int, attr_str, attr_tuple
from ..registry import converter
from ._emit import Emitter, unsupported


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
    if target and any(target) and node.in_dims and any(d is not None for d in node.in_dims[0][2:]):
        raise unsupported(node, f"target_shape={tuple(target)} over dynamic height/width",
                          "export the spatial axes fixed, or give pad/adj instead of target_shape")
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


@converter("_contrib_AdaptiveAvgPooling2D")
def adaptive_avg_pooling(node):
    """Global pooling for 1x1, AveragePool when the sizes divide, else two averaging MatMuls."""
    (h, w), (oh, ow) = node.in_shapes[0][2:], node.out_shapes[0][2:]
    e = Emitter(node)
    x, out = node.inputs[0], node.outputs[0]
    if (oh, ow) == (1, 1):
        e("GlobalAveragePool", [x], out=out)
    elif node.in_dims and any(d is not None for d in node.in_dims[0][2:]):
        raise unsupported(node, f"output_size {(oh, ow)} over dynamic height/width (the bins "
                          "depend on the run-time size)", "export the spatial axes fixed, or pool to 1x1")
    elif h % oh == 0 and w % ow == 0:
        kernel = [h // oh, w // ow]
        e("AveragePool", [x], out=out, kernel_shape=kernel, strides=kernel)
    else:
        dtype = node.in_dtypes[0]
        cols = e("MatMul", [x, e.const(_adaptive_matrix(w, ow).T, dtype, "pool_w")])
        e("MatMul", [e.const(_adaptive_matrix(h, oh), dtype, "pool_h"), cols], out=out)
    return e.nodes


def _resized_size(e, node, x, axis, dim):
    """The output size of spatial ``axis``: static, a product of dims, or (mode 'size' with a
    scale) MXNet's int(in * scale) from the run-time input size."""
    if dim is None or dim.known:
        return e.shape_tensor([node.out_shapes[0][axis]], [dim])
    scale = node.attrs.get("scale_height" if axis == 2 else "scale_width", "None")
    if attr_str(node.attrs, "mode", "size") != "size" or scale == "None":
        raise unsupported(node, f"mode={attr_str(node.attrs, 'mode', 'size')!r} over dynamic height/width",
                          "use mode='size' with scale_height/scale_width, or export the spatial axes fixed")
    size = e.cast(e("Gather", [e("Shape", [x]), e.int64([axis], "axis")], axis=0), np.float64)
    scaled = e("Mul", [size, e.const(float(scale), np.float64, "scale")])
    return e.cast(e("Floor", [scaled]), np.int64)


@converter("_contrib_BilinearResize2D")
def bilinear_resize(node):
    """Linear Resize to the output size (static, or computed at run time over dynamic
    height/width); ``align_corners`` picks the coordinate mapping."""
    e = Emitter(node)
    x = node.inputs[0]
    batch_channels = e("Slice", [e("Shape", [x]), e.int64([0], "start"), e.int64([2], "end")])
    dims = node.out_dims[0][2:] if node.out_dims else (None, None)
    hw = [_resized_size(e, node, x, axis, dim) for axis, dim in zip((2, 3), dims)]
    sizes = e("Concat", [batch_channels] + hw, axis=0)
    mapping = "align_corners" if attr_bool(node.attrs, "align_corners", True) else "half_pixel"
    e("Resize", [x, "", "", sizes], out=node.outputs[0], mode="linear",
      coordinate_transformation_mode=mapping)
    return e.nodes
