"""A tiny node emitter shared by the converters: names intermediate values, collects nodes."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper


class Emitter:
    """Collect the ONNX nodes of one MXNet node.

    ``e("Relu", [x])`` appends a node and returns its (fresh, readable) output name;
    ``e("Relu", [x], out=node.outputs[0])`` writes one of the MXNet node's outputs.
    """

    def __init__(self, node):
        self.node = node
        self.nodes = []

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
        return self.node.graph.const(np.asarray(value, dtype=dtype), dtype, f"{self.node.name}_{hint}")

    def int64(self, values, hint="shape"):
        return self.const(np.asarray(values, dtype=np.int64), np.int64, hint)

    def cast(self, x, dtype, out=None):
        return self("Cast", [x], out=out, to=onnx_dtype(dtype))


def onnx_dtype(dtype):
    """numpy dtype -> TensorProto enum."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def unsupported(node, what, fix):
    """One clear error for an attribute combination we cannot express."""
    return NotImplementedError(
        f"{node.op} node '{node.name}': {what} is not supported by the ONNX exporter; {fix}")


__all__ = ["Emitter", "onnx_dtype", "unsupported", "TensorProto", "numpy_helper"]
