"""A tiny node emitter shared by the converters: names intermediate values, collects nodes."""
import numpy as np
from onnx import helper


class Emitter:
    """Collect the ONNX nodes of one MXNet node.

    ``e("Relu", [x])`` appends a node and returns its (fresh, readable) output name;
    ``e("Relu", [x], out=node.outputs[0])`` writes one of the MXNet node's outputs.
    """

    def __init__(self, node):
        self.node = node
        self.nodes = []
        self._consts = {}  # (dtype, shape, bytes) -> name: one initializer per distinct value

    def __call__(self, op_type, inputs, out=None, **attrs):
        graph = self.node.graph
        out = out or graph.unique(f"{self.node.name}_{op_type.lower()}")
        name = graph.unique(f"{self.node.name}/{op_type}")
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=name, **attrs))
        return out

    def multi(self, op_type, inputs, outputs, **attrs):
        """A node with several outputs (names given)."""
        name = self.node.graph.unique(f"{self.node.name}/{op_type}")
        self.nodes.append(helper.make_node(op_type, list(inputs), list(outputs), name=name, **attrs))
        return outputs

    def const(self, value, dtype=None, hint="const"):
        """A constant initializer; ``dtype`` defaults to the first input's dtype."""
        dtype = np.dtype(dtype if dtype is not None else self.node.in_dtypes[0])
        array = np.asarray(value, dtype=dtype)
        key = (dtype.str, array.shape, array.tobytes())
        if key not in self._consts:
            self._consts[key] = self.node.graph.const(array, dtype, f"{self.node.name}_{hint}")
        return self._consts[key]

    def int64(self, values, hint="shape"):
        return self.const(np.asarray(values, dtype=np.int64), np.int64, hint)

    def cast(self, x, dtype, out=None):
        return self("Cast", [x], out=out, to=onnx_dtype(dtype))

    def reduce(self, op_type, x, axes=None, keepdims=True, out=None):
        """``Reduce*`` over ``axes`` (None = all). ``axes`` is an input from opset 18 (from 13
        for ReduceSum) and an attribute before."""
        keep = int(bool(keepdims))
        if axes is None:
            return self(op_type, [x], out=out, keepdims=keep)
        if op_type == "ReduceSum" or self.node.opset >= 18:
            return self(op_type, [x, self.int64(list(axes), "axes")], out=out, keepdims=keep)
        return self(op_type, [x], out=out, axes=list(axes), keepdims=keep)

    def unsqueeze(self, x, axes, out=None):
        return self("Unsqueeze", [x, self.int64(list(axes), "axes")], out=out)

    def squeeze(self, x, axes, out=None):
        return self("Squeeze", [x, self.int64(list(axes), "axes")], out=out)

    def reshape(self, x, out_index=0, out=None, shape=None, batch_axes=None):
        """Reshape ``x`` to the node's static output shape, keeping batch axes dynamic.

        The (at most one) batch-following axis becomes -1, so the file works at any batch.
        """
        shape = list(self.node.out_shapes[out_index] if shape is None else shape)
        if batch_axes is None:
            batch_axes = batch_axes_of(self.node.out_batch_axes, out_index)
        if len(batch_axes) > 1:
            raise unsupported(self.node, f"an output shape {tuple(shape)} with several batch "
                              f"axes {tuple(batch_axes)}", "keep the batch in one axis")
        for axis in batch_axes:
            shape[axis] = -1
        return self("Reshape", [x, self.int64(shape)], out=out)

    def per_channel(self, name, ndim, axis=1):
        """A (C,) parameter shaped to broadcast along ``axis`` of an ``ndim``-D tensor."""
        trailing = ndim - 1 - (axis % ndim)
        if trailing == 0:
            return name
        graph = self.node.graph
        if graph.is_constant(name):
            value = graph.constant_value(name)
            return graph.add_initializer(value.reshape(value.shape + (1,) * trailing),
                                         f"{name}_bcast")
        return self.unsqueeze(name, range(1, 1 + trailing))


def onnx_dtype(dtype):
    """numpy dtype -> TensorProto enum."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def batch_axes_of(axes_list, index):
    return tuple(axes_list[index]) if index < len(axes_list) else ()


def normalize_axis(axis, ndim):
    """MXNet's negative axis -> non-negative, with a clear error when out of range."""
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for a {ndim}-D tensor")
    return axis % ndim


def unsupported(node, what, fix):
    """One clear error for an attribute combination we cannot express."""
    return NotImplementedError(
        f"{node.op} node '{node.name}': {what} is not supported by the ONNX exporter; {fix}")


__all__ = ["Emitter", "onnx_dtype", "unsupported", "normalize_axis", "batch_axes_of"]
