"""Converters: reshaping, slicing, padding, tiling and broadcasting ops.

Target shapes come from the node's static output shape rather than from re-implementing
MXNet's Reshape codes (0/-1/-2/-3/-4, reverse), with the batch-following axis left as -1 so
dynamic-batch files work at any batch size.
"""
import numpy as np

from ..attrs import attr_bool, attr_float, attr_int, attr_str, attr_tuple
from ..registry import converter
from ._emit import Emitter, normalize_axis, unsupported

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


@converter("Reshape", "reshape", "reshape_like")
def reshape(node):
    e = Emitter(node)
    e.reshape(node.inputs[0], out=node.outputs[0])
    return e.nodes


@converter("transpose")
def transpose(node):
    ndim = len(node.in_shapes[0])
    axes = attr_tuple(node.attrs, "axes", ())
    perm = [normalize_axis(a, ndim) for a in axes] if axes else list(reversed(range(ndim)))
    e = Emitter(node)
    e("Transpose", node.inputs[:1], out=node.outputs[0], perm=perm)
    return e.nodes


@converter("SwapAxis", "swapaxes")
def swap_axis(node):
    ndim = len(node.in_shapes[0])
    perm = list(range(ndim))
    a, b = (normalize_axis(attr_int(node.attrs, k, 0), ndim) for k in ("dim1", "dim2"))
    perm[a], perm[b] = perm[b], perm[a]
    e = Emitter(node)
    e("Transpose", node.inputs[:1], out=node.outputs[0], perm=perm)
    return e.nodes


@converter("expand_dims")
def expand_dims(node):
    axis = normalize_axis(attr_int(node.attrs, "axis"), len(node.in_shapes[0]) + 1)
    e = Emitter(node)
    e.unsqueeze(node.inputs[0], [axis], out=node.outputs[0])
    return e.nodes


@converter("squeeze")
def squeeze(node):
    """axis=None drops every axis of size 1 at run time: ONNX Squeeze without axes, where an
    axis is dynamic (a static shape's size-1 axes otherwise); as in MXNet, the output's rank
    then depends on the run-time sizes (see :func:`..dims.axis_dims`). MXNet keeps shape (1,)
    where every axis is squeezed; ONNX would give a scalar."""
    shape = node.in_shapes[0]
    axes = attr_tuple(node.attrs, "axis")
    dynamic = set(node.in_dynamic_axes[0]) if node.in_dims else set()
    e = Emitter(node)
    if axes is None and dynamic:
        if any(d != 1 for i, d in enumerate(shape) if i not in dynamic):
            e("Squeeze", node.inputs[:1], out=node.outputs[0])
        else:  # every static axis goes: (1,), not a scalar, when the dynamic ones are 1 too
            e("Expand", [e("Squeeze", node.inputs[:1]), e.int64([1])], out=node.outputs[0])
        return e.nodes
    if axes is None:
        axes = [i for i, d in enumerate(shape) if d == 1]
    else:
        axes = sorted(normalize_axis(a, len(shape)) for a in axes)
    if len(axes) == len(shape):  # MXNet: shape (1,), not a scalar
        e("Reshape", [node.inputs[0], e.int64([1])], out=node.outputs[0])
    else:
        e.squeeze(node.inputs[0], axes, out=node.outputs[0])
    return e.nodes


def _slice(e, x, starts, ends, axes, steps, out):
    return e("Slice", [x, e.int64(starts, "starts"), e.int64(ends, "ends"),
                      e.int64(axes, "axes"), e.int64(steps, "steps")], out=out)


@converter("slice", "crop", "_sparse_slice")
def slice_(node):
    """Python slicing per axis; ``None`` means the open end in the step's direction."""
    begin = attr_tuple(node.attrs, "begin", ())
    end = attr_tuple(node.attrs, "end", ())
    step = attr_tuple(node.attrs, "step", ()) or (None,) * len(begin)
    steps = [1 if s is None else s for s in step]
    starts = [(0 if s > 0 else INT64_MAX) if b is None else b for b, s in zip(begin, steps)]
    ends = [(INT64_MAX if s > 0 else INT64_MIN) if v is None else v for v, s in zip(end, steps)]
    e = Emitter(node)
    _slice(e, node.inputs[0], starts, ends, list(range(len(begin))), steps, node.outputs[0])
    return e.nodes


@converter("Crop")
def crop(node):
    """Legacy Crop: the spatial axes cut to the output's size at ``offset`` (or centred)."""
    (h, w), (out_h, out_w) = node.in_shapes[0][2:4], node.out_shapes[0][2:4]
    if node.in_dims and any(d is not None for d in node.in_dims[0][2:4]):
        raise unsupported(node, "cropping dynamic height/width", "export the spatial axes fixed")
    if attr_bool(node.attrs, "center_crop"):
        top, left = (h - out_h) // 2, (w - out_w) // 2
    else:
        top, left = attr_tuple(node.attrs, "offset", (0, 0))
    e = Emitter(node)
    _slice(e, node.inputs[0], [top, left], [top + out_h, left + out_w], [2, 3], [1, 1], node.outputs[0])
    return e.nodes


@converter("slice_axis")
def slice_axis(node):
    axis = normalize_axis(attr_int(node.attrs, "axis"), len(node.in_shapes[0]))
    begin = attr_int(node.attrs, "begin", 0)
    end = attr_int(node.attrs, "end", INT64_MAX)
    e = Emitter(node)
    _slice(e, node.inputs[0], [begin], [end], [axis], [1], node.outputs[0])
    return e.nodes


@converter("slice_like")
def slice_like(node):
    """Crop ``data`` to the shape of ``shape_like`` on ``axes`` (all when empty)."""
    ndim = len(node.in_shapes[0])
    axes = attr_tuple(node.attrs, "axes", ()) or tuple(range(ndim))
    axes = [normalize_axis(a, ndim) for a in axes]
    e = Emitter(node)
    like_shape = e("Shape", [node.inputs[1]])
    ends = e("Gather", [like_shape, e.int64(axes, "axes")], axis=0)
    e("Slice", [node.inputs[0], e.int64([0] * len(axes), "starts"), ends, e.int64(axes, "axes")],
      out=node.outputs[0])
    return e.nodes


@converter("Pad", "pad")
def pad(node):
    """MXNet's pad_width is (before, after) per axis; ONNX wants all befores, then all afters."""
    mode = attr_str(node.attrs, "mode", "constant")
    if mode not in ("constant", "edge", "reflect"):
        raise unsupported(node, f"mode={mode!r}", "use constant, edge or reflect")
    width = attr_tuple(node.attrs, "pad_width")
    pads = list(width[0::2]) + list(width[1::2])
    e = Emitter(node)
    inputs = [node.inputs[0], e.int64(pads, "pads")]
    if mode == "constant":
        inputs.append(e.const(attr_float(node.attrs, "constant_value", 0.0), hint="value"))
    e("Pad", inputs, out=node.outputs[0], mode=mode)
    return e.nodes


@converter("flip", "reverse")
def flip(node):
    ndim = len(node.in_shapes[0])
    axes = [normalize_axis(a, ndim) for a in attr_tuple(node.attrs, "axis")]
    e = Emitter(node)
    n = len(axes)
    _slice(e, node.inputs[0], [-1] * n, [INT64_MIN] * n, axes, [-1] * n, node.outputs[0])
    return e.nodes


@converter("tile")
def tile(node):
    """MXNet pads the shorter of ``reps`` and the shape with leading 1s."""
    reps = list(attr_tuple(node.attrs, "reps"))
    ndim = len(node.in_shapes[0])
    e = Emitter(node)
    x = node.inputs[0]
    if len(reps) > ndim:
        x = e.unsqueeze(x, range(len(reps) - ndim))
    reps = [1] * (ndim - len(reps)) + reps
    e("Tile", [x, e.int64(reps, "repeats")], out=node.outputs[0])
    return e.nodes


@converter("repeat")
def repeat(node):
    """Each element ``repeats`` times along ``axis`` (of the flattened array when None)."""
    repeats = attr_int(node.attrs, "repeats")
    axis = attr_int(node.attrs, "axis")
    e = Emitter(node)
    x = node.inputs[0]
    shape = node.in_shapes[0]
    if axis is None:
        x, shape, axis = e("Reshape", [x, e.int64([-1])]), (int(np.prod(shape)),), 0
    axis = normalize_axis(axis, len(shape))
    reps = [1] * (len(shape) + 1)
    reps[axis + 1] = repeats
    tiled = e("Tile", [e.unsqueeze(x, [axis + 1]), e.int64(reps, "repeats")])
    # the input's run-time shape times repeats on axis: also right when that axis is a
    # dynamic size that is no product of input dims (YOLOv3 upsamples a strided feature map)
    grown = [repeats if i == axis else 1 for i in range(len(shape))]
    e("Reshape", [tiled, e("Mul", [e("Shape", [x]), e.int64(grown, "repeats")])], out=node.outputs[0])
    return e.nodes


@converter("stack")
def stack(node):
    axis = normalize_axis(attr_int(node.attrs, "axis", 0), len(node.in_shapes[0]) + 1)
    e = Emitter(node)
    parts = [e.unsqueeze(x, [axis]) for x in node.inputs]
    e("Concat", parts, out=node.outputs[0], axis=axis)
    return e.nodes


@converter("SliceChannel", "split", "_split_v2")
def split(node):
    """Split sizes come from the static output shapes (1 each when the axis is squeezed)."""
    ndim = len(node.in_shapes[0])
    axis = normalize_axis(attr_int(node.attrs, "axis", 1), ndim)
    if node.in_dims and axis in node.in_dynamic_axes[0]:
        raise unsupported(node, "splitting along a dynamic axis", "split a static axis")
    squeeze_axis = attr_bool(node.attrs, "squeeze_axis")
    sizes = [1 if squeeze_axis else s[axis] for s in node.out_shapes]
    e = Emitter(node)
    if not squeeze_axis:
        e.multi("Split", [node.inputs[0], e.int64(sizes, "split")], node.outputs, axis=axis)
        return e.nodes
    parts = [node.graph.unique(f"{out}_unsqueezed") for out in node.outputs]
    e.multi("Split", [node.inputs[0], e.int64(sizes, "split")], parts, axis=axis)
    for part, out in zip(parts, node.outputs):
        e.squeeze(part, [axis], out=out)
    return e.nodes


@converter("depth_to_space")
def depth_to_space(node):
    e = Emitter(node)
    e("DepthToSpace", node.inputs[:1], out=node.outputs[0],
      blocksize=attr_int(node.attrs, "block_size"), mode="DCR")
    return e.nodes


@converter("space_to_depth")
def space_to_depth(node):
    e = Emitter(node)
    e("SpaceToDepth", node.inputs[:1], out=node.outputs[0], blocksize=attr_int(node.attrs, "block_size"))
    return e.nodes


@converter("shape_array")
def shape_array(node):
    e = Emitter(node)
    e.cast(e("Shape", node.inputs[:1]), node.out_dtypes[0], out=node.outputs[0])
    return e.nodes


@converter("size_array")
def size_array(node):
    e = Emitter(node)
    size = e.cast(e("Size", node.inputs[:1]), node.out_dtypes[0])
    e("Reshape", [size, e.int64([1])], out=node.outputs[0])
    return e.nodes
