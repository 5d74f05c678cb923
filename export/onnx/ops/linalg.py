"""Converters: matrix products (dot, batch_dot, linalg_gemm2, linalg_gemm)."""
from ..attrs import attr_bool, attr_float, attr_int
from ..registry import converter
from ._emit import Emitter, unsupported


def _swap_last(e, x, ndim):
    perm = list(range(ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return e("Transpose", [x], perm=perm)


def _operands(node, e):
    """(A, B) with ``transpose_a``/``transpose_b`` applied to their last two axes."""
    (a, b), (a_shape, b_shape) = node.inputs[:2], node.in_shapes[:2]
    if attr_bool(node.attrs, "transpose_a") and len(a_shape) >= 2:
        a = _swap_last(e, a, len(a_shape))
    if attr_bool(node.attrs, "transpose_b") and len(b_shape) >= 2:
        b = _swap_last(e, b, len(b_shape))
    return a, b


@converter("dot", "_sparse_dot")
def dot(node):
    """MXNet's dot contracts the last axis of lhs with the first of rhs (tensordot, not matmul)."""
    (a_shape, b_shape), (a, b) = node.in_shapes[:2], node.inputs[:2]
    e = Emitter(node)
    if len(a_shape) <= 2 and len(b_shape) <= 2:
        a, b = _operands(node, e)
        if len(a_shape) == len(b_shape) == 1:  # MXNet: shape (1,), ONNX: a scalar
            e("Reshape", [e("MatMul", [a, b]), e.int64([1])], out=node.outputs[0])
        else:
            e("MatMul", [a, b], out=node.outputs[0])
        return e.nodes
    if attr_bool(node.attrs, "transpose_a") or attr_bool(node.attrs, "transpose_b"):
        raise unsupported(node, "transpose_a/transpose_b with inputs of more than 2 dimensions",
                          "transpose the inputs explicitly")
    k = a_shape[-1]
    a2 = e("Reshape", [a, e.int64([-1, k], "lhs_shape")])
    b2 = e("Reshape", [b, e.int64([k, -1], "rhs_shape")])
    e.reshape(e("MatMul", [a2, b2]), out=node.outputs[0])
    return e.nodes


def _scaled_product(node, e, out=None):
    """alpha * op(A) @ op(B) over the last two axes (MXNet's default ``axis=-2``)."""
    if attr_int(node.attrs, "axis", -2) != -2:
        raise unsupported(node, f"axis={node.attrs['axis']}", "move the matrix axes last")
    product = e("MatMul", list(_operands(node, e)))
    return e("Mul", [product, e.const(attr_float(node.attrs, "alpha", 1.0), hint="alpha")], out=out)


@converter("batch_dot")
def batch_dot(node):
    e = Emitter(node)
    e("MatMul", list(_operands(node, e)), out=node.outputs[0])
    return e.nodes


@converter("linalg_gemm2", "_linalg_gemm2")
def linalg_gemm2(node):
    e = Emitter(node)
    _scaled_product(node, e, out=node.outputs[0])
    return e.nodes


@converter("linalg_gemm", "_linalg_gemm")
def linalg_gemm(node):
    """alpha * op(A) @ op(B) + beta * C."""
    e = Emitter(node)
    scaled_c = e("Mul", [node.inputs[2], e.const(attr_float(node.attrs, "beta", 1.0), hint="beta")])
    e("Add", [_scaled_product(node, e), scaled_c], out=node.outputs[0])
    return e.nodes
