"""Converters: box coding and anchors (``_contrib_box_decode``, ``_contrib_box_encode``,
``_contrib_box_iou``, ``_contrib_MultiBoxPrior``).

Each follows MXNet 1.9.1's kernel (``bounding_box-inl.h``, ``multibox_prior.cc``) operation by
operation in the input's dtype, so the ONNX results equal MXNet's bit for bit where the
runtime's elementwise math is correctly rounded. Sizes (rows, feature-map height and width)
are read at run time: anchors are generated in the graph, not stored.
"""
import numpy as np

from ..attrs import attr_bool, attr_float, attr_str, attr_tuple
from ..registry import converter
from ._boxes import batch_gather_rows, columns, dims, scalar, split4
from ._emit import Emitter, unsupported


def _format(node, key, default):
    value = attr_str(node.attrs, key, default)
    if value not in ("corner", "center"):
        raise unsupported(node, f"{key}={value!r}", "use 'corner' or 'center'")
    return value


def _center_size(e, box, half):
    """(x, y, w, h) of corner boxes, as MXNet computes them: w = r - l, x = l + w * 0.5."""
    left, top, right, bottom = split4(e, box)
    width, height = e("Sub", [right, left]), e("Sub", [bottom, top])
    return (e("Add", [left, e("Mul", [width, half])]), e("Add", [top, e("Mul", [height, half])]),
            width, height)


@converter("_contrib_box_decode")
def box_decode(node):
    """Offsets (B, N, 4) + anchors (only the first N anchor rows are read, as in MXNet)."""
    fmt = _format(node, "format", "center")
    stds = [attr_float(node.attrs, f"std{i}", 1.0) for i in range(4)]
    clip = attr_float(node.attrs, "clip", -1.0)
    e = Emitter(node)
    data, anchors = node.inputs[:2]
    rows = e("Slice", [e("Reshape", [anchors, e.int64([-1, 4], "rows")]), e.int64([0], "zero"),
                       dims(e, data, 1, 2), e.int64([0], "axis0")])
    anchors = e.unsqueeze(rows, [0])
    half = e.const(0.5, hint="half")
    if fmt == "corner":
        ax, ay, aw, ah = _center_size(e, anchors, half)
    else:
        ax, ay, aw, ah = split4(e, anchors)
    px, py, pw, ph = (e("Mul", [p, e.const(s, hint="std")]) for p, s in zip(split4(e, data), stds))
    ox = e("Add", [e("Mul", [px, aw]), ax])
    oy = e("Add", [e("Mul", [py, ah]), ay])
    if clip > 0:  # MXNet: dw < clip ? dw : clip
        limit = e.const(clip, hint="clip")
        pw, ph = (e("Where", [e("Less", [v, limit]), v, limit]) for v in (pw, ph))
    ow = e("Mul", [e("Mul", [e("Exp", [pw]), aw]), half])
    oh = e("Mul", [e("Mul", [e("Exp", [ph]), ah]), half])
    e("Concat", [e("Sub", [ox, ow]), e("Sub", [oy, oh]), e("Add", [ox, ow]), e("Add", [oy, oh])],
      out=node.outputs[0], axis=-1)
    return e.nodes


@converter("_contrib_box_encode")
def box_encode(node):
    """Training targets: (samples, matches, anchors, refs, means, stds) -> (targets, masks)."""
    e = Emitter(node)
    samples, matches, anchors, refs, means, stds = node.inputs[:6]
    last = e("Sub", [dims(e, refs, 1, 2), e.int64([1], "one")])
    index = e("Max", [e("Min", [e.cast(matches, np.int64), last]), e.int64([0], "zero")])
    half = e.const(0.5, hint="half")
    rx, ry, rw, rh = _center_size(e, batch_gather_rows(e, refs, index), half)
    ax, ay, aw, ah = _center_size(e, anchors, half)
    valid = e.unsqueeze(e("Greater", [samples, half]), [2])
    stat = [[columns(e, t, i, i + 1, axis=0) for i in range(4)] for t in (means, stds)]
    raw = [e("Div", [e("Sub", [rx, ax]), aw]), e("Div", [e("Sub", [ry, ay]), ah]),
           e("Log", [e("Div", [rw, aw])]), e("Log", [e("Div", [rh, ah])])]
    targets = [e("Div", [e("Sub", [t, m]), s]) for t, m, s in zip(raw, *stat)]
    zero, one = e.const(0.0, hint="zero"), e.const(1.0, hint="one")
    e("Where", [valid, e("Concat", targets, axis=-1), zero], out=node.outputs[0])
    e("Expand", [e("Where", [valid, one, zero]), e("Shape", [anchors])], out=node.outputs[1])
    return e.nodes


@converter("_contrib_box_iou")
def box_iou(node):
    """IoU of every lhs box (..., 4) with every rhs box (..., 4): shape lhs[:-1] + rhs[:-1]."""
    fmt = _format(node, "format", "corner")
    e = Emitter(node)
    lhs, rhs = (e("Reshape", [x, e.int64([-1, 4], "rows")]) for x in node.inputs[:2])
    lhs = e.unsqueeze(lhs, [1])            # (L, 1, 4) against (R, 4)
    zero, half = e.const(0.0, hint="zero"), e.const(0.5, hint="half")

    def edges(box):
        a, b, c, d = split4(e, box)
        if fmt == "corner":
            return a, b, c, d
        w, h = e("Mul", [c, half]), e("Mul", [d, half])
        return e("Sub", [a, w]), e("Sub", [b, h]), e("Add", [a, w]), e("Add", [b, h])

    (l0, t0, r0, b0), (l1, t1, r1, b1) = edges(lhs), edges(rhs)
    width = e("Sub", [e("Min", [r0, r1]), e("Max", [l0, l1])])
    height = e("Sub", [e("Min", [b0, b1]), e("Max", [t0, t1])])
    inter = e("Mul", [e("Max", [width, zero]), e("Max", [height, zero])])

    def area(box, edge):
        w, h = (e("Sub", [edge[2], edge[0]]), e("Sub", [edge[3], edge[1]])) if fmt == "corner" \
            else tuple(split4(e, box)[2:])
        negative = e("Or", [e("Less", [w, zero]), e("Less", [h, zero])])
        return e("Where", [negative, zero, e("Mul", [w, h])])

    union = e("Sub", [e("Add", [area(lhs, (l0, t0, r0, b0)), area(rhs, (l1, t1, r1, b1))]), inter])
    iou = e("Where", [e("Greater", [inter, zero]), e("Div", [inter, union]), zero])
    shape = e("Concat", [dims(e, node.inputs[0], 0, -1), dims(e, node.inputs[1], 0, -1)], axis=0)
    e("Reshape", [e.squeeze(iou, [2]), shape], out=node.outputs[0])
    return e.nodes


@converter("_contrib_MultiBoxPrior")
def multibox_prior(node):
    """Anchors (1, H*W*A, 4) over the run-time feature-map size: for each cell, one box per
    size at ratio[0], then one per further ratio at size[0] (MXNet's order and float math)."""
    sizes = np.asarray(attr_tuple(node.attrs, "sizes", (1.0,), float), np.float32)
    ratios = np.asarray(attr_tuple(node.attrs, "ratios", (1.0,), float), np.float32)
    steps = attr_tuple(node.attrs, "steps", (-1.0, -1.0), float)
    offsets = attr_tuple(node.attrs, "offsets", (0.5, 0.5), float)
    # per anchor: its size and sqrt(ratio), as the kernel loops
    size_k = np.concatenate([sizes, np.full(len(ratios) - 1, sizes[0], np.float32)])
    root_k = np.sqrt(np.concatenate([np.full(len(sizes), ratios[0], np.float32), ratios[1:]]))
    half_h = (size_k / root_k / np.float32(2)).astype(np.float32)
    e = Emitter(node)
    f32 = np.float32
    hw = dims(e, node.inputs[0], 2, 4)
    height, width = (e.cast(columns(e, hw, i, i + 1, axis=0), f32) for i in (0, 1))
    half_w = e("Div", [e("Mul", [e("Div", [e("Mul", [e.const(size_k, f32, "sizes"), height]), width]),
                                 e.const(root_k, f32, "sqrt_ratios")]), e.const(2.0, f32, "two")])

    def centers(axis, step, offset):  # (r + offset) * step; step = 1 / count by default
        count = columns(e, hw, axis, axis + 1, axis=0)
        index = e.cast(e("Range", [e.int64(0, "zero"), scalar(e, count), e.int64(1, "one")]), f32)
        # 1 / count as Reciprocal: ORT's DivMulFusion turns Div(1, n) -> Mul into one Div,
        # which rounds differently from MXNet's step = 1.0f / n; (i + offset) * step
        step = e.const([step], f32, "step") if step > 0 else e("Reciprocal", [e.cast(count, f32)])
        center = e("Mul", [e("Add", [index, e.const(offset, f32, "offset")]), step])
        return e.unsqueeze(center, [a for a in (0, 1, 2) if a != axis])

    cy, cx = centers(0, steps[0], offsets[0]), centers(1, steps[1], offsets[1])
    half_w, half_h = e.unsqueeze(half_w, [0, 1]), e.const(half_h.reshape(1, 1, -1), f32, "half_h")
    grid = e("Concat", [hw, e.int64([len(size_k)], "anchors")], axis=0)
    corners = [e("Expand", [e("Sub", [cx, half_w]), grid]), e("Expand", [e("Sub", [cy, half_h]), grid]),
               e("Expand", [e("Add", [cx, half_w]), grid]), e("Expand", [e("Add", [cy, half_h]), grid])]
    boxes = e("Reshape", [e("Concat", [e.unsqueeze(c, [3]) for c in corners], axis=3),
                          e.int64([1, -1, 4], "anchor_rows")])
    if attr_bool(node.attrs, "clip"):
        boxes = e("Clip", [boxes, e.const(0.0, f32, "zero"), e.const(1.0, f32, "one")])
    e.cast(boxes, node.out_dtypes[0], out=node.outputs[0])
    return e.nodes
