"""Converters: broadcasting to another shape (broadcast_to / broadcast_axis / broadcast_like).

Target sizes come from the node's output shape and dims (a dynamic size read at run time),
or from the ``like`` input's run-time shape.
"""
from ..attrs import attr_tuple
from ..registry import converter
from ._emit import Emitter, normalize_axis


def _expand_static(node):
    """Expand to the output shape: 1 (keep) where the input already has the output's size or
    dim, the static size or the run-time size of the output's dim elsewhere."""
    e = Emitter(node)
    in_dims = node.in_dims[0] if node.in_dims else (None,) * len(node.in_shapes[0])
    out_dims = node.out_dims[0] if node.out_dims else (None,) * len(node.out_shapes[0])
    sizes, dims = [], []
    for i, o, di, do in zip(node.in_shapes[0], node.out_shapes[0], in_dims, out_dims):
        same = di == do if do is not None else (di is None and i == o)
        sizes.append(1 if same else o)
        dims.append(None if same else do)
    e("Expand", [node.inputs[0], e.shape_tensor(sizes, dims)], out=node.outputs[0])
    return e.nodes


converter("broadcast_to", "broadcast_axis", "broadcast_axes")(_expand_static)


@converter("broadcast_like")
def broadcast_like(node):
    """Without axes: broadcast to ``rhs``'s shape; with ``lhs_axes``/``rhs_axes``: those axes of
    ``lhs`` take the run-time sizes of those axes of ``rhs`` (the others stay)."""
    lhs_axes, rhs_axes = attr_tuple(node.attrs, "lhs_axes"), attr_tuple(node.attrs, "rhs_axes")
    e = Emitter(node)
    like_shape = e("Shape", [node.inputs[1]])
    if not lhs_axes and not rhs_axes:
        e("Expand", [node.inputs[0], like_shape], out=node.outputs[0])
        return e.nodes
    ndim, like_ndim = len(node.in_shapes[0]), len(node.in_shapes[1])
    lhs = [normalize_axis(a, ndim) for a in lhs_axes]
    rhs = [normalize_axis(a, like_ndim) for a in rhs_axes]
    sizes = e("Gather", [like_shape, e.int64(rhs, "rhs_axes")], axis=0)
    target = e("ScatterElements", [e.int64([1] * ndim, "ones"), e.int64(lhs, "lhs_axes"), sizes], axis=0)
    e("Expand", [node.inputs[0], target], out=node.outputs[0])
    return e.nodes
