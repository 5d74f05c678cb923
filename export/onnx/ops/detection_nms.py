"""Converter: MXNet's box non-maximum suppression (``_contrib_box_nms``, alias
``box_non_maximum_suppression``), with MXNet 1.9.1's exact output layout.

MXNet (``bounding_box-inl.h``): the input is ``(..., N, W)``, every leading axis a batch. A row
is a candidate when its score is > ``valid_thresh`` and, with ``id_index >= 0``, its id is not
``background_id``. Candidates are stable-sorted by score, descending (equal scores keep row
order), and the first ``topk`` of each batch go through greedy NMS: a kept row suppresses every
later row whose IoU with it is > ``overlap_thresh`` - only rows of the same class (ids truncated
to int) unless ``force_suppress`` or ``id_index < 0``. The kept rows are written to the front of
the output in sorted order and every other row is -1. ``topk=0`` returns the input unchanged.
With ``out_format != in_format`` the kept rows are converted, except those whose first
coordinate is negative (MXNet skips them).

ONNX: ``TopK`` sorts the candidates (ties: lower index first, as MXNet's stable sort) and takes
the first K; ``NonMaxSuppression`` does the greedy pass, fed a strictly decreasing rank rather
than the scores so that the runtime's own tie order never matters, per class through a class
axis built by ``Unique`` over the ids; a second ``TopK`` moves the kept rows to the front and
-1 rows pad back to N. Corner boxes with x2 < x1 or y2 < y1 have zero area in MXNet and never
suppress anything; ONNX would reorder their corners, so they are zeroed for the NMS.
"""
import numpy as np

from ..attrs import attr_bool, attr_float, attr_int, attr_str
from ..registry import converter
from ._boxes import (batch_gather_rows, column, columns, descending_rank, dims, filled, scalar,
                     split4)
from ._emit import Emitter, unsupported

FORMATS = ("corner", "center")


def _params(node):
    attrs = node.attrs
    params = dict(
        overlap=attr_float(attrs, "overlap_thresh", 0.5), valid=attr_float(attrs, "valid_thresh", 0.0),
        topk=attr_int(attrs, "topk", -1), coord=attr_int(attrs, "coord_start", 2),
        score=attr_int(attrs, "score_index", 1), id=attr_int(attrs, "id_index", -1),
        background=attr_int(attrs, "background_id", -1), force=attr_bool(attrs, "force_suppress"),
        in_format=attr_str(attrs, "in_format", "corner"), out_format=attr_str(attrs, "out_format", "corner"))
    for key in ("in_format", "out_format"):
        if params[key] not in FORMATS:
            raise unsupported(node, f"{key}={params[key]!r}", "use 'corner' or 'center'")
    if params["overlap"] < 0:
        raise unsupported(node, f"overlap_thresh={params['overlap']} (< 0, which suppresses "
                          "disjoint boxes)", "use an overlap_thresh >= 0 (ONNX NonMaxSuppression "
                          "only suppresses overlapping boxes)")
    return params


def _candidates(e, x, p):
    """(sorted valid mask, candidate row indices), both (B, K), K = min(topk, N) at run time."""
    scores = column(e, x, p["score"])
    valid = e("Greater", [scores, e.const(p["valid"], hint="valid_thresh")])
    if p["id"] >= 0:
        ids = column(e, x, p["id"])
        background = e("Equal", [ids, e.const(float(p["background"]), hint="background_id")])
        valid = e("And", [valid, e("Not", [background])])
    key = e("Where", [valid, scores, e.const(-np.inf, hint="minus_inf")])
    count = dims(e, x, 1, 2)
    if p["topk"] > 0:
        count = e("Min", [count, e.int64([p["topk"]], "topk")])
    top_key = e.node.graph.unique(f"{e.node.name}_sorted_scores")
    order = e.node.graph.unique(f"{e.node.name}_candidates")
    e.multi("TopK", [key, count], [top_key, order], axis=1, largest=1, sorted=1)
    return e("Greater", [top_key, e.const(-np.inf, hint="minus_inf")]), order, count


def nms_boxes(e, boxes, center=False):
    """float32 boxes for ONNX NMS; corner boxes MXNet gives zero area are zeroed."""
    boxes = e.cast(boxes, np.float32)
    if center:
        return boxes
    x1, y1, x2, y2 = split4(e, boxes)
    flipped = e("Or", [e("Less", [x2, x1]), e("Less", [y2, y1])])
    return e("Where", [flipped, e.const(0.0, np.float32, "zero"), boxes])


def greedy_keep(e, boxes, scores, count, iou_threshold, center=False):
    """(B, K) bool: ONNX NonMaxSuppression over ``boxes`` (B, K, 4) with ``scores`` (B, C, K)
    (a rank > 0.5 where a box takes part in class c, else 0), at most ``count`` kept per class;
    IoU > ``iou_threshold`` suppresses."""
    selected = e("NonMaxSuppression", [
        nms_boxes(e, boxes, center), scores, count,
        e.const([iou_threshold], np.float32, "iou_threshold"),
        e.const([0.5], np.float32, "rank_threshold")], center_point_box=int(center))
    where = e("Gather", [selected, e.int64([0, 2], "batch_and_box")], axis=1)
    ones = filled(e, dims(e, selected, 0, 1), 1.0, np.float32)
    zeros = filled(e, dims(e, boxes, 0, 2), 0.0, np.float32)
    return e.cast(e("ScatterND", [zeros, where, ones]), np.bool_)


def _class_scores(e, rows, rank, p):
    """(B, C, K) NMS scores: the rank where a candidate belongs to class slot c, else 0."""
    if p["id"] < 0 or p["force"]:
        return e.unsqueeze(rank, [1])
    ids = e.cast(column(e, rows, p["id"]), np.int64)  # MXNet compares static_cast<int>(id)
    flat = e("Reshape", [ids, e.int64([-1], "flat")])
    unique, inverse = (e.node.graph.unique(f"{e.node.name}_{n}") for n in ("classes", "class_slot"))
    e.multi("Unique", [flat], [unique, "", inverse], sorted=1)
    slot = e("Reshape", [inverse, e("Shape", [ids])])
    classes = e("Range", [e.int64(0, "zero"), scalar(e, e("Shape", [unique])), e.int64(1, "one")])
    member = e("Equal", [e.unsqueeze(slot, [1]), e.unsqueeze(classes, [0, 2])])
    return e("Where", [member, e.unsqueeze(rank, [1]), e.const(0.0, np.float32, "zero")])


def _kept(e, rows, valid, count, p):
    """(B, K) bool: which sorted candidates survive NMS."""
    if p["overlap"] >= 1:  # an IoU is never > 1: nothing can be suppressed
        return valid
    rank = e("Where", [valid, descending_rank(e, count), e.const(0.0, np.float32, "zero")])
    boxes = columns(e, rows, p["coord"], p["coord"] + 4)
    return greedy_keep(e, boxes, _class_scores(e, rows, rank, p), count, p["overlap"],
                       p["in_format"] == "center")


def _convert_format(e, rows, p):
    """MXNet's corner<->center conversion of output rows, skipped where the first coordinate < 0."""
    coords = columns(e, rows, p["coord"], p["coord"] + 4, axis=2)
    a, b, c, d = split4(e, coords)
    half = e.const(0.5, hint="half")
    if p["out_format"] == "center":
        new = [e("Mul", [e("Add", [a, c]), half]), e("Mul", [e("Add", [b, d]), half]),
               e("Sub", [c, a]), e("Sub", [d, b])]
    else:
        w, h = e("Mul", [c, half]), e("Mul", [d, half])
        new = [e("Sub", [a, w]), e("Sub", [b, h]), e("Add", [a, w]), e("Add", [b, h])]
    skip = e("Less", [a, e.const(0.0, hint="zero")])
    coords = e("Where", [skip, coords, e("Concat", new, axis=2)])
    width = e.node.in_shapes[0][-1]
    parts = [columns(e, rows, 0, p["coord"], axis=2)] if p["coord"] > 0 else []
    parts.append(coords)
    if p["coord"] + 4 < width:
        parts.append(columns(e, rows, p["coord"] + 4, width, axis=2))
    return e("Concat", parts, axis=2) if len(parts) > 1 else coords


@converter("_contrib_box_nms", "_contrib_box_non_maximum_suppression")
def box_nms(node):
    p = _params(node)
    e = Emitter(node)
    data, out = node.inputs[0], node.outputs[0]
    if p["topk"] == 0:
        e("Identity", [data], out=out)
        return e.nodes
    rows_width = dims(e, data, -2)
    x = e("Reshape", [data, e("Concat", [e.int64([-1], "batch"), rows_width], axis=0)])
    valid, order, count = _candidates(e, x, p)
    rows = batch_gather_rows(e, x, order)
    kept = _kept(e, rows, valid, count, p)
    front_key = e("Where", [kept, descending_rank(e, count), e.const(0.0, np.float32, "zero")])
    front_val, front = (node.graph.unique(f"{node.name}_{n}") for n in ("kept_key", "kept_first"))
    e.multi("TopK", [front_key, count], [front_val, front], axis=1, largest=1, sorted=1)
    kept_first = e.unsqueeze(e("Greater", [front_val, e.const(0.0, np.float32, "zero")]), [2])
    rows = e("Where", [kept_first, batch_gather_rows(e, rows, front), e.const(-1.0, hint="minus_one")])
    if p["in_format"] != p["out_format"]:
        rows = _convert_format(e, rows, p)
    pad_rows = e("Sub", [dims(e, x, 1, 2), count])
    pad_shape = e("Concat", [dims(e, x, 0, 1), pad_rows, dims(e, x, 2, 3)], axis=0)
    padded = e("Concat", [rows, filled(e, pad_shape, -1.0, node.in_dtypes[0])], axis=1)
    e("Reshape", [padded, e("Shape", [data])], out=out)
    return e.nodes
