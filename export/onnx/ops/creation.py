"""Converters: ops that create arrays (F.zeros/ones/full/arange/eye/linspace,
zeros_like/ones_like, contrib.arange_like).

Ops without inputs have a fully static result, so it is computed here and stored as a
``Constant``; the ``*_like`` ops read the run-time shape so they follow the batch.
"""
import numpy as np
from onnx import helper, numpy_helper

from ..attrs import attr_bool, attr_float, attr_int
from ..registry import converter
from ._emit import Emitter, normalize_axis, onnx_dtype


def _constant(node, value):
    """A Constant; a uniform value whose shape follows a dynamic dim (``zeros((0, C))``
    inferred from its consumer) is filled at run time instead."""
    e = Emitter(node)
    value = np.asarray(value, dtype=node.out_dtypes[0]).reshape(node.out_shapes[0])
    dims = node.out_dims[0] if node.out_dims else ()
    if any(d is not None for d in dims) and value.size and (value == value.flat[0]).all():
        fill = numpy_helper.from_array(value.reshape(-1)[:1], "value")
        e("ConstantOfShape", [e.shape_tensor(node.out_shapes[0], dims)], out=node.outputs[0], value=fill)
        return e.nodes
    e("Constant", [], out=node.outputs[0], value=numpy_helper.from_array(value, node.outputs[0]))
    return e.nodes


@converter("_zeros", "_zeros_without_dtype")
def zeros(node):
    return _constant(node, np.zeros(node.out_shapes[0]))


@converter("_ones")
def ones(node):
    return _constant(node, np.ones(node.out_shapes[0]))


@converter("_full")
def full(node):
    return _constant(node, np.full(node.out_shapes[0], attr_float(node.attrs, "value", 0.0)))


def _repeated_range(e, count, start, step, repeat):
    """float64 ``start + step * floor(i / repeat)`` for i < ``count`` (a scalar int64 value);
    an integer Range: a float one can get an extra element from rounding in its length."""
    index = e("Range", [e.int64(0, "zero"), count, e.int64(1, "one")])
    if repeat != 1:
        index = e("Div", [index, e.int64(repeat, "repeat")])  # integer division: floor for i >= 0
    scaled = e("Mul", [e.cast(index, np.float64), e.const(step, np.float64, "step")])
    return e("Add", [scaled, e.const(start, np.float64, "start")])


@converter("_arange")
def arange(node):
    """np.arange(start, stop, step), each value ``repeat`` times (stop=None: from 0 to start);
    with ``infer_range`` the length is the output's (inferred from its consumer), read at run
    time when it follows a dynamic dim."""
    start, stop = attr_float(node.attrs, "start", 0.0), attr_float(node.attrs, "stop")
    step, repeat = attr_float(node.attrs, "step", 1.0), attr_int(node.attrs, "repeat", 1)
    dims = node.out_dims[0] if node.out_dims else (None,)
    if attr_bool(node.attrs, "infer_range") and dims[0] is not None:
        e = Emitter(node)
        count = e("Reshape", [e.sym_size(dims[0]), e.int64([], "scalar")])
        e.cast(_repeated_range(e, count, start, step, repeat), node.out_dtypes[0], out=node.outputs[0])
        return e.nodes
    if attr_bool(node.attrs, "infer_range"):
        size = node.out_shapes[0][0]
        return _constant(node, start + step * (np.arange(size) // repeat))
    if stop is None:
        start, stop = 0.0, start
    values = np.arange(start, stop, step, dtype=np.float64)
    return _constant(node, np.repeat(values, repeat))


@converter("_eye")
def eye(node):
    rows, cols = node.out_shapes[0]
    return _constant(node, np.eye(rows, cols, k=attr_int(node.attrs, "k", 0)))


@converter("_linspace")
def linspace(node):
    return _constant(node, np.linspace(attr_float(node.attrs, "start"), attr_float(node.attrs, "stop"),
                                       attr_int(node.attrs, "num"),
                                       endpoint=attr_bool(node.attrs, "endpoint", True)))


def _filled_like(value):
    def convert(node):
        e = Emitter(node)
        fill = helper.make_tensor("value", onnx_dtype(node.out_dtypes[0]), [1], [value])
        e("ConstantOfShape", [e("Shape", node.inputs[:1])], out=node.outputs[0], value=fill)
        return e.nodes
    return convert


converter("zeros_like", "_sparse_zeros_like")(_filled_like(0))
converter("ones_like")(_filled_like(1))


@converter("_contrib_arange_like")
def arange_like(node):
    """start + step * floor(i / repeat) over the run-time size of ``axis`` (or of the whole
    input, reshaped to it)."""
    e = Emitter(node)
    x = node.inputs[0]
    axis = attr_int(node.attrs, "axis")
    shape = e("Shape", [x])
    if axis is None:
        count = e("Size", [x])
    else:
        axis = normalize_axis(axis, len(node.in_shapes[0]))
        count = e("Reshape", [e("Gather", [shape, e.int64([axis], "axis")], axis=0), e.int64([], "scalar")])
    values = _repeated_range(e, count, attr_float(node.attrs, "start", 0.0),
                             attr_float(node.attrs, "step", 1.0), attr_int(node.attrs, "repeat", 1))
    if axis is None:
        values = e("Reshape", [values, shape])
    e.cast(values, node.out_dtypes[0], out=node.outputs[0])
    return e.nodes
