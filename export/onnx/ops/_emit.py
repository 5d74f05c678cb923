"""A tiny node emitter shared by the converters: names intermediate values, collects nodes."""
import numpy as np
from onnx import helper
from ...errors import InvalidInputError, UnsupportedOperatorError


class Emitter:
    """Collect the ONNX nodes of one MXNet node (``Emitter(node)``, node an :class:`OpNode`).

    ``e("Relu", [x])`` appends a node and returns its (fresh, readable) output name;
    ``e("Relu", [x], out=node.outputs[0])`` writes one of the MXNet node's outputs; keyword
    arguments are the ONNX attributes. ``e.const``/``e.int64`` add constants, ``e.reshape``
    and ``e.shape_tensor`` build shapes that keep dynamic axes dynamic; a converter returns
    ``e.nodes``.
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

    def scalar(self, x):
        """The single element of a 1-element tensor as a 0-D tensor (a Range bound); a Gather
        with a 0-D index, which shape-inference tools follow through."""
        return self("Gather", [x, self.int64(0, "first")], axis=0)

    def unsqueeze(self, x, axes, out=None):
        return self("Unsqueeze", [x, self.int64(list(axes), "axes")], out=out)

    def squeeze(self, x, axes, out=None):
        return self("Squeeze", [x, self.int64(list(axes), "axes")], out=out)

    def reshape(self, x, out_index=0, out=None, shape=None, dims=None, x_dims=None):
        """Reshape ``x`` to the node's output shape (or ``shape`` with per-axis ``dims``),
        keeping its dynamic axes dynamic.

        A static axis is a constant; a dynamic one is 0 (copy) where ``x`` has the same dim at
        the same index (``x_dims``, by default the node's first input's when ``x`` is that
        input), -1 for one remaining axis, and its run-time size (:meth:`sym_size`) otherwise.
        """
        shape = list(self.node.out_shapes[out_index] if shape is None else shape)
        if dims is None:
            outs = self.node.out_dims
            dims = outs[out_index] if out_index < len(outs) and shape == list(
                self.node.out_shapes[out_index]) else (None,) * len(shape)
        if x_dims is None and self.node.inputs and x == self.node.inputs[0] and self.node.in_dims:
            x_dims = self.node.in_dims[0]
        x_dims = tuple(x_dims or ())
        pending = []
        for i, dim in enumerate(dims):
            if dim is not None and dim.known and i < len(x_dims) and x_dims[i] == dim:
                shape[i] = 0
            elif dim is not None:
                pending.append(i)
        unknown = [i for i in pending if not dims[i].known]
        if len(unknown) > 1:
            raise unsupported(self.node, f"a reshape to {tuple(self.node.out_shapes[out_index])} "
                              f"whose dynamic axes {tuple(unknown)} are not products of the "
                              "dynamic input dims", "keep those axes static (export them fixed)")
        if pending:
            shape[(unknown or pending)[-1]] = -1
        runtime = [dims[i] if i in pending and shape[i] != -1 else None for i in range(len(shape))]
        return self("Reshape", [x, self.shape_tensor(shape, runtime)], out=out)

    # -- dynamic sizes -----------------------------------------------------------------------
    def dim_size(self, dim):
        """The run-time size of the named dim ``dim`` as a 1-element int64 tensor, read from
        the graph input that carries it (once per graph)."""
        graph = self.node.graph
        if dim not in graph.dim_values:
            source, axis = graph.dim_sources[dim]
            shape = self("Shape", [source])
            graph.dim_values[dim] = self("Gather", [shape, self.int64([axis], "axis")], axis=0)
        return graph.dim_values[dim]

    def sym_size(self, sym):
        """The run-time size of a :class:`~export.onnx.dims.SymDim` (1-element int64)."""
        if not sym.known:
            raise unsupported(self.node, f"an axis that follows {', '.join(sym.dims)} other than "
                              "as a product", "keep that axis static (export it fixed)")
        value = None
        for dim in sym.dims:
            size = self.dim_size(dim)
            value = size if value is None else self("Mul", [value, size])
        if sym.coef.numerator != 1:
            value = self("Mul", [value, self.int64([sym.coef.numerator], "coef")])
        if sym.coef.denominator != 1:
            value = self("Div", [value, self.int64([sym.coef.denominator], "coef")])
        return value

    def shape_tensor(self, sizes, dims):
        """An int64 shape tensor: ``sizes[i]`` where ``dims[i]`` is None, else the run-time
        size of ``dims[i]``; a constant when every axis is static."""
        parts, run = [], []
        for size, dim in zip(sizes, dims):
            if dim is None:
                run.append(int(size))
                continue
            if run:
                parts.append(self.int64(run, "dims"))
                run = []
            parts.append(self.sym_size(dim))
        if run or not parts:
            parts.append(self.int64(run, "shape"))
        return parts[0] if len(parts) == 1 else self("Concat", parts, axis=0)

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


def normalize_axis(axis, ndim):
    """MXNet's negative axis -> non-negative, with a clear error when out of range."""
    if not -ndim <= axis < ndim:
        raise InvalidInputError(f"axis {axis} is out of range for a {ndim}-D tensor")
    return axis % ndim


def unsupported(node, what, fix):
    """One clear error for an attribute combination we cannot express."""
    return UnsupportedOperatorError(
        f"{node.op} node '{node.name}': {what} is not supported by the ONNX exporter; {fix}")


__all__ = ["Emitter", "onnx_dtype", "unsupported", "normalize_axis"]
