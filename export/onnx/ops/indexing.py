"""Converters: indexing, gathering and sorting (Embedding, take, pick, gather_nd, one_hot, where,
topk/sort/argsort, SequenceMask).

MXNet returns indices as floats (``dtype``, default float32) and clips out-of-range indices
by default; ONNX wants int64 indices in range, so indices are cast and clipped (or wrapped).
"""
import numpy as np
from onnx import helper

from ..attrs import attr_bool, attr_float, attr_int, attr_str
from ..registry import converter
from ._emit import Emitter, normalize_axis, onnx_dtype, unsupported


def _clipped_indices(e, indices, size, mode="clip"):
    """int64 indices into an axis of ``size``: clipped (MXNet's default) or wrapped."""
    idx = e.cast(indices, np.int64)
    if mode == "wrap":
        return e("Mod", [idx, e.int64(size, "size")], fmod=0)
    upper = e("Min", [idx, e.int64(size - 1, "last")])
    return e("Max", [upper, e.int64(0, "first")])


@converter("Embedding", "_sparse_Embedding")
def embedding(node):
    """Rows of the weight; MXNet truncates float indices and clips them to [0, input_dim)."""
    e = Emitter(node)
    idx = _clipped_indices(e, node.inputs[0], node.in_shapes[1][0])
    e("Gather", [node.inputs[1], idx], out=node.outputs[0], axis=0)
    return e.nodes


@converter("take")
def take(node):
    axis = normalize_axis(attr_int(node.attrs, "axis", 0), len(node.in_shapes[0]))
    if node.in_dims and axis in node.in_dynamic_axes[0]:
        raise unsupported(node, "take along a dynamic axis", "take along a static axis")
    e = Emitter(node)
    idx = _clipped_indices(e, node.inputs[1], node.in_shapes[0][axis],
                           attr_str(node.attrs, "mode", "clip"))
    e("Gather", [node.inputs[0], idx], out=node.outputs[0], axis=axis)
    return e.nodes


@converter("one_hot")
def one_hot(node):
    """Indices outside [0, depth) give an all-off row in MXNet; ONNX would wrap negative ones."""
    dtype, depth = node.out_dtypes[0], attr_int(node.attrs, "depth")
    e = Emitter(node)
    values = e.const([attr_float(node.attrs, "off_value", 0.0), attr_float(node.attrs, "on_value", 1.0)],
                     dtype, "values")
    idx = e.cast(node.inputs[0], np.int64)
    depth_t = e.int64(depth, "depth")
    idx = e("Where", [e("Less", [idx, e.int64(0, "zero")]), depth_t, idx])
    e("OneHot", [idx, depth_t, values], out=node.outputs[0], axis=-1)
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




@converter("pick")
def pick(node):
    """data[..., index, ...] along ``axis``: GatherElements on the index with that axis added."""
    data_shape, index_shape = node.in_shapes[:2]
    if node.attrs.get("axis") == "None":
        raise unsupported(node, "axis=None", "pick along one axis")
    axis = normalize_axis(attr_int(node.attrs, "axis", -1), len(data_shape))
    if node.in_dims and axis in node.in_dynamic_axes[0]:
        raise unsupported(node, "pick along a dynamic axis", "pick along a static axis")
    e = Emitter(node)
    idx = _clipped_indices(e, node.inputs[1], data_shape[axis], attr_str(node.attrs, "mode", "clip"))
    if len(index_shape) < len(data_shape):
        idx = e.unsqueeze(idx, [axis])
    keepdims = attr_bool(node.attrs, "keepdims")
    picked = e("GatherElements", [node.inputs[0], idx], axis=axis,
               out=node.outputs[0] if keepdims else None)
    if not keepdims:
        e.squeeze(picked, [axis], out=node.outputs[0])
    return e.nodes


@converter("gather_nd")
def gather_nd(node):
    """MXNet's indices are (M, ...) with the coordinate first; ONNX's GatherND wants it last."""
    rank = len(node.in_shapes[1])
    e = Emitter(node)
    idx = e("Transpose", [e.cast(node.inputs[1], np.int64)], perm=list(range(1, rank)) + [0])
    e("GatherND", [node.inputs[0], idx], out=node.outputs[0])
    return e.nodes


def _axis_length(e, x, axis):
    """The run-time length of ``axis`` as a 1-element int64 tensor (batch-safe K for TopK)."""
    return e("Gather", [e("Shape", [x]), e.int64([axis], "axis")], axis=0)


def _flatten_if_no_axis(e, node, default=-1):
    """(input, axis): ``axis=None`` sorts the flattened array."""
    if node.attrs.get("axis") == "None":
        return e("Reshape", [node.inputs[0], e.int64([-1])]), 0
    axis = attr_int(node.attrs, "axis", default)
    return node.inputs[0], normalize_axis(axis, len(node.in_shapes[0]))


@converter("topk")
def topk(node):
    """ret_typ value / indices (float, ``dtype``) / both / mask (1 at the top-k positions)."""
    e = Emitter(node)
    x, axis = _flatten_if_no_axis(e, node)
    ret = attr_str(node.attrs, "ret_typ", "indices")
    largest = int(not attr_bool(node.attrs, "is_ascend"))
    k = e.int64([attr_int(node.attrs, "k", 1)], "k")
    values = node.outputs[0] if ret in ("value", "both") else node.graph.unique(f"{node.name}_values")
    indices = node.graph.unique(f"{node.name}_indices")
    e.multi("TopK", [x, k], [values, indices], axis=axis, largest=largest, sorted=1)
    if ret == "indices":
        e.cast(indices, node.out_dtypes[0], out=node.outputs[0])
    elif ret == "both":
        e.cast(indices, node.out_dtypes[1], out=node.outputs[1])
    elif ret == "mask":
        dtype = onnx_dtype(node.out_dtypes[0])
        zeros = e("ConstantOfShape", [e("Shape", [x])], value=helper.make_tensor("zero", dtype, [1], [0]))
        ones = e("ConstantOfShape", [e("Shape", [indices])], value=helper.make_tensor("one", dtype, [1], [1]))
        e("ScatterElements", [zeros, indices, ones], out=node.outputs[0], axis=axis)
    elif ret != "value":
        raise unsupported(node, f"ret_typ={ret!r}", "use value, indices, both or mask")
    return e.nodes


def _sort(return_indices):
    def convert(node):
        e = Emitter(node)
        x, axis = _flatten_if_no_axis(e, node)
        largest = int(not attr_bool(node.attrs, "is_ascend", True))
        values = node.graph.unique(f"{node.name}_values") if return_indices else node.outputs[0]
        indices = node.graph.unique(f"{node.name}_indices")
        e.multi("TopK", [x, _axis_length(e, x, axis)], [values, indices], axis=axis,
                largest=largest, sorted=1)
        if return_indices:
            e.cast(indices, node.out_dtypes[0], out=node.outputs[0])
        return e.nodes
    return convert


converter("sort")(_sort(False))
converter("argsort")(_sort(True))


@converter("SequenceMask")
def sequence_mask(node):
    """Steps at or beyond each sequence's length (time on ``axis`` 0 or 1) are set to ``value``;
    MXNet truncates float lengths (2.5 keeps two steps)."""
    e = Emitter(node)
    x = node.inputs[0]
    if not attr_bool(node.attrs, "use_sequence_length"):
        e("Identity", [x], out=node.outputs[0])
        return e.nodes
    axis = attr_int(node.attrs, "axis", 0)
    rank = len(node.in_shapes[0])
    # time steps 0..T-1 from the run-time shape: T may be dynamic
    count = e("Reshape", [_axis_length(e, x, axis), e.int64([], "scalar")])
    steps = e("Range", [e.int64(0, "zero"), count, e.int64(1, "one")])
    steps = e.unsqueeze(steps, [1 if axis == 0 else 0])
    lengths = e.unsqueeze(e.cast(node.inputs[1], np.int64), [0 if axis == 0 else 1])
    keep = e("Less", [steps, lengths])
    if rank > 2:
        keep = e.unsqueeze(keep, range(2, rank))
    e("Where", [keep, x, e.const(attr_float(node.attrs, "value", 0.0), hint="value")], out=node.outputs[0])
    return e.nodes


def _lengths(e, node):
    """The per-sequence lengths as int64, or None without ``use_sequence_length``."""
    if not attr_bool(node.attrs, "use_sequence_length"):
        return None
    return e.cast(node.inputs[1], np.int64)


@converter("SequenceLast")
def sequence_last(node):
    """The last valid step of each sequence (time on ``axis`` 0 or 1, batch on the other)."""
    e = Emitter(node)
    x, axis = node.inputs[0], attr_int(node.attrs, "axis", 0)
    lengths = _lengths(e, node)
    if lengths is None:
        e("Gather", [x, e.int64(-1, "last")], axis=axis, out=node.outputs[0])
        return e.nodes
    rank = len(node.in_shapes[0])
    batch_axis = 1 - axis
    index = e("Sub", [lengths, e.int64(1, "one")])
    index = e.unsqueeze(index, [a for a in range(rank) if a != batch_axis])
    # GatherElements needs the index at the data's shape with 1 on the time axis
    shape = e("Shape", [x])
    target = e("ScatterElements", [shape, e.int64([axis], "time_axis"), e.int64([1], "one_step")], axis=0)
    picked = e("GatherElements", [x, e("Expand", [index, target])], axis=axis)
    e.squeeze(picked, [axis], out=node.outputs[0])
    return e.nodes


@converter("SequenceReverse")
def sequence_reverse(node):
    """Reverse the time axis 0, only the first ``length`` steps of each sequence when given."""
    if attr_int(node.attrs, "axis", 0) != 0:
        raise unsupported(node, "axis other than 0", "put time on axis 0")
    e = Emitter(node)
    x = node.inputs[0]
    lengths = _lengths(e, node)
    if lengths is None:
        e("Slice", [x, e.int64([-1], "start"), e.int64([np.iinfo(np.int64).min], "end"),
                    e.int64([0], "axes"), e.int64([-1], "steps")], out=node.outputs[0])
    else:
        e("ReverseSequence", [x, lengths], out=node.outputs[0], batch_axis=1, time_axis=0)
    return e.nodes
