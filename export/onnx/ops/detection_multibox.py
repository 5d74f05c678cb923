"""Converter: ``_contrib_MultiBoxDetection`` (the symbol-API SSD's output layer), with MXNet
1.9.1's exact CPU behaviour (``multibox_detection.cc``).

Per anchor: the best class after the background (class 0; ``background_id`` is not read by
the kernel), first one on ties; it is kept when its probability is >= ``threshold``. The box is
decoded from the anchor (corner) with ``variances`` and clipped to [0, 1] when ``clip``. Kept
rows ``[class, score, x1, y1, x2, y2]`` go to the front in anchor order, the rest is -1. Then,
when 0 < ``nms_threshold`` <= 1: the kept rows are stable-sorted by score, the first
``nms_topk`` written in that order; rows from ``nms_topk`` to the number kept keep their
unsorted values with class -1; and greedy NMS over the sorted ones sets the class of every row
whose IoU with a better row of the same class (any class with ``force_suppress``) is >=
``nms_threshold`` to -1, leaving its other values. ONNX's NMS suppresses at IoU >
``threshold``: fed the next float32 below ``nms_threshold``, it suppresses exactly at >=.
"""
import numpy as np

from ..attrs import attr_bool, attr_float, attr_int, attr_tuple
from ..registry import converter
from ._boxes import batch_gather_rows, columns, descending_rank, dims, filled, split4
from ._emit import Emitter
from .detection_nms import greedy_keep


def _decode(e, loc, anchors, variances, clip):
    """MXNet's TransformLocations: (B, N, 4) corner boxes."""
    al, at, ar, ab = split4(e, anchors)
    aw, ah = e("Sub", [ar, al]), e("Sub", [ab, at])
    two = e.const(2.0, hint="two")
    ax, ay = e("Div", [e("Add", [al, ar]), two]), e("Div", [e("Add", [at, ab]), two])
    px, py, pw, ph = (e("Mul", [p, e.const(v, hint="variance")]) for p, v in zip(split4(e, loc), variances))
    ox, oy = e("Add", [e("Mul", [px, aw]), ax]), e("Add", [e("Mul", [py, ah]), ay])
    ow = e("Div", [e("Mul", [e("Exp", [pw]), aw]), two])
    oh = e("Div", [e("Mul", [e("Exp", [ph]), ah]), two])
    corners = [e("Sub", [ox, ow]), e("Sub", [oy, oh]), e("Add", [ox, ow]), e("Add", [oy, oh])]
    box = e("Concat", corners, axis=-1)
    if clip:
        box = e("Clip", [box, e.const(0.0, hint="zero"), e.const(1.0, hint="one")])
    return box


def _first(e, rows, key, count):
    """``rows`` reordered so that the largest ``key`` comes first (ties: lower index first)."""
    values, order = (e.node.graph.unique(f"{e.node.name}_{n}") for n in ("key", "order"))
    e.multi("TopK", [key, count], [values, order], axis=1, largest=1, sorted=1)
    return batch_gather_rows(e, rows, order)


def _candidates(e, node, count):
    """(rows (B, N, 6) per anchor, valid (B, N)): best class after the background, its score,
    the decoded box; valid when the score is >= threshold (and > -1: some class was found)."""
    cls_prob, loc, anchors = node.inputs[:3]
    probs = columns(e, cls_prob, 1, node.in_shapes[0][1], axis=1)          # (B, C-1, N)
    score = e.reduce("ReduceMax", probs, axes=[1], keepdims=False)
    label = e.cast(e("ArgMax", [probs], axis=1, keepdims=0), node.in_dtypes[0])  # first maximum
    threshold = e.const(attr_float(node.attrs, "threshold", 0.01), hint="threshold")
    valid = e("And", [e("Greater", [score, e.const(-1.0, hint="minus_one")]),
                      e("GreaterOrEqual", [score, threshold])])
    first = e("Slice", [e("Reshape", [anchors, e.int64([-1, 4], "rows")]), e.int64([0], "zero"), count,
                        e.int64([0], "axis0")])  # MXNet reads the first N anchor rows
    variances = attr_tuple(node.attrs, "variances", (0.1, 0.1, 0.2, 0.2), float)
    boxes = _decode(e, e("Reshape", [loc, e.int64([0, -1, 4], "per_anchor")]), e.unsqueeze(first, [0]),
                    variances, attr_bool(node.attrs, "clip", True))
    return e("Concat", [e.unsqueeze(label, [2]), e.unsqueeze(score, [2]), boxes], axis=2), valid


def _survivors(e, node, ordered, in_topk, count):
    """(B, N) bool: sorted rows no better row of their class suppresses (IoU >= threshold)."""
    zero = e.const(0.0, np.float32, "zero_f")
    rank = e("Where", [in_topk, descending_rank(e, count), zero])
    if attr_bool(node.attrs, "force_suppress"):
        per_class = e.unsqueeze(rank, [1])
    else:
        ids = e("Transpose", [e.cast(columns(e, ordered, 0, 1, axis=2), np.int64)], perm=[0, 2, 1])
        classes = np.arange(node.in_shapes[0][1] - 1).reshape(1, -1, 1)
        member = e("Equal", [ids, e.const(classes, np.int64, "classes")])  # (B, C-1, N)
        per_class = e("Where", [member, e.unsqueeze(rank, [1]), zero])
    threshold = np.float32(attr_float(node.attrs, "nms_threshold", 0.5))
    below = float(np.nextafter(threshold, np.float32(-np.inf)))  # ONNX's > below = MXNet's >=
    return greedy_keep(e, columns(e, ordered, 2, 6, axis=2), per_class, count, below)


@converter("_contrib_MultiBoxDetection")
def multibox_detection(node):
    nms_threshold = attr_float(node.attrs, "nms_threshold", 0.5)
    topk = attr_int(node.attrs, "nms_topk", -1)
    e = Emitter(node)
    minus_one = e.const(-1.0, hint="minus_one")
    count = dims(e, node.inputs[0], 2, 3)
    rows, valid = _candidates(e, node, count)
    position = e.cast(e("Range", [e.int64(0, "zero"), e("Reshape", [count, e.int64([], "scalar")]),
                                  e.int64(1, "one")]), np.float32)
    kept = e("ReduceSum", [e.cast(valid, np.float32), e.int64([1], "axis")], keepdims=1)  # (B, 1)
    in_valid = e("Less", [position, kept])
    # valid rows first in anchor order (what MXNet writes first), the rest -1
    by_anchor = e("Where", [valid, descending_rank(e, count), e.const(0.0, np.float32, "zero_f")])
    compact = _first(e, rows, by_anchor, count)
    compact = e("Where", [e.unsqueeze(in_valid, [2]), compact, minus_one])
    if not 0 < nms_threshold <= 1:
        e("Identity", [compact], out=node.outputs[0])
        return e.nodes
    score = e.squeeze(columns(e, rows, 1, 2, axis=2), [2])
    ordered = _first(e, rows, e("Where", [valid, score, e.const(-np.inf, hint="minus_inf")]), count)
    in_topk = in_valid
    if topk > 0:
        in_topk = e("And", [in_valid, e("Less", [position, e.const(float(topk), np.float32, "topk")])])
    keep = e("And", [in_topk, _survivors(e, node, ordered, in_topk, count)])
    label = e("Where", [keep, e.squeeze(columns(e, ordered, 0, 1, axis=2), [2]), minus_one])
    rest = e("Where", [e.unsqueeze(in_topk, [2]), columns(e, ordered, 1, 6, axis=2),
                       columns(e, compact, 1, 6, axis=2)])
    e("Concat", [e.unsqueeze(label, [2]), rest], out=node.outputs[0], axis=2)
    return e.nodes
