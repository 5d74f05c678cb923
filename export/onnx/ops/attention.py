"""Converters: GluonNLP's fused attention products (contrib interleaved_matmul_*).

Inputs are time-major: ``queries_keys_values`` is (T, N, heads * 3 * D) with q, k, v
interleaved per head, ``keys_values`` (T, N, heads * 2 * D); scores are (N * heads, Tq, Tk)
with the queries scaled by 1/sqrt(D).
"""
import math

from ..attrs import attr_int
from ..registry import converter
from ._emit import Emitter


def _split_heads(e, packed, heads, parts, index, width):
    """Part ``index`` of a (T, N, heads * parts * D) tensor as (N, heads, T, D)."""
    head_dim = width // (heads * parts)
    grouped = e("Reshape", [packed, e.int64([0, 0, heads, parts, head_dim], "grouped")])
    part = e("Gather", [grouped, e.int64(index, "part")], axis=3)
    return e("Transpose", [part], perm=[1, 2, 0, 3]), head_dim


def _tail_shape(e, x, start, end, head):
    """int64 shape ``head + Shape(x)[start:end]``: the attention sizes (batch, lengths) are
    read at run time, so any of them may be dynamic."""
    tail = e("Slice", [e("Shape", [x]), e.int64([start], "start"), e.int64([end], "end")])
    return e("Concat", [e.int64(head, "head"), tail], axis=0)


def _scores(node, queries, parts_q, keys, parts_k, key_index):
    e = Emitter(node)
    heads = attr_int(node.attrs, "heads")
    q, head_dim = _split_heads(e, queries, heads, parts_q, 0, node.in_shapes[0][2])
    k, _ = _split_heads(e, keys, heads, parts_k, key_index, node.in_shapes[-1][2])
    q = e("Mul", [q, e.const(1.0 / math.sqrt(head_dim), hint="scale")])
    scores = e("MatMul", [q, e("Transpose", [k], perm=[0, 1, 3, 2])])  # (N, heads, Tq, Tk)
    e("Reshape", [scores, _tail_shape(e, scores, 2, 4, [-1])], out=node.outputs[0])
    return e.nodes


def _weighted_values(node, values, parts, index):
    e = Emitter(node)
    heads = attr_int(node.attrs, "heads")
    attention = node.inputs[1]
    v, head_dim = _split_heads(e, values, heads, parts, index, node.in_shapes[0][2])
    att = e("Reshape", [attention, _tail_shape(e, attention, 1, 3, [-1, heads])])
    context = e("Transpose", [e("MatMul", [att, v])], perm=[2, 0, 1, 3])  # (Tq, N, heads, D)
    e("Reshape", [context, e.int64([0, 0, heads * head_dim], "out_shape")], out=node.outputs[0])
    return e.nodes


# op -> converter: (input, parts) of the queries and keys (index of k), or of the values
_OPS = {
    "selfatt_qk": lambda node: _scores(node, node.inputs[0], 3, node.inputs[0], 3, 1),
    "selfatt_valatt": lambda node: _weighted_values(node, node.inputs[0], 3, 2),
    "encdec_qk": lambda node: _scores(node, node.inputs[0], 1, node.inputs[1], 2, 0),
    "encdec_valatt": lambda node: _weighted_values(node, node.inputs[0], 2, 1),
}
for _name, _convert in _OPS.items():
    converter(f"_contrib_interleaved_matmul_{_name}")(_convert)
