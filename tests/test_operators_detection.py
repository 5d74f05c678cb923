"""Per-operator tests for the detection converters (box NMS, box coding, anchors, ROI pooling).

Each case exports one MXNet op with a dynamic batch, runs the file in ONNX Runtime at two batch
sizes and compares with MXNet 1.9.1 at both ends of the opset range. NMS output is copied input
rows, so it must be identical, ties in scores included; the coding ops follow MXNet's float
operations one by one and must agree to float32 rounding.
"""
import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import HybridBlock, nn

from export import export_onnx
from export.onnx import MAX_OPSET, MIN_OPSET
from onnx.reference import ReferenceEvaluator
from op_harness import OPSETS, _ort, _symbol_outputs

RNG = np.random.RandomState(7)


@pytest.fixture(autouse=True)
def _reseed():
    RNG.seed(7)


def run_both(sym, batches, tmp_path, opset, params=None, fixed=None, name="op", reference=False,
             axes=None):
    """Export ``sym`` (inputs of ``batches[0]``, axis 0 dynamic, or ``axes`` as dynamic_axes)
    and return, per batch dict, (MXNet outputs, ORT outputs). ``fixed``: inputs with no batch
    axis; ``params``: weights; ``reference``: run onnx's reference evaluator instead of ORT."""
    fixed, params = fixed or {}, params or {}
    first = {**batches[0], **fixed}
    path = tmp_path / f"{name}_{opset}.onnx"
    export_onnx((sym, params), path, input_shape={n: v.shape for n, v in first.items()},
                input_dtype={n: v.dtype for n, v in first.items()}, opset=opset,
                dynamic_axes=axes or {n: {0: "batch"} for n in batches[0]})
    runs = []
    for feeds in batches:
        feeds = {**feeds, **fixed}
        got = ReferenceEvaluator(str(path)).run(None, feeds) if reference else _ort(path, feeds)
        runs.append((_symbol_outputs(sym, {**feeds, **params}), got))
    return runs


def assert_same(runs, what, rtol=0.0):
    for refs, gots in runs:
        for ref, got in zip(refs, gots):
            assert got.shape == ref.shape and got.dtype == ref.dtype, what
            if rtol:
                scale = max(1.0, float(np.abs(ref).max()))
                np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * scale, err_msg=what)
            else:
                np.testing.assert_array_equal(got, ref, err_msg=what)


# -- box_nms -----------------------------------------------------------------------------------
def detections(batch, rows, width=6, coord=2, score=1, ident=0, classes=3, center=False):
    """Rows on a coarse grid (many overlaps, some identical boxes), scores in steps of 0.1
    (many ties), ids 0..classes-1, every 5th box upside down (zero area in MXNet: it never
    suppresses); extra columns random."""
    data = RNG.uniform(-1, 1, (batch, rows, width)).astype(np.float32)
    xy = RNG.randint(0, 4, (batch, rows, 2)) * 2.0
    wh = RNG.randint(2, 5, (batch, rows, 2)).astype(np.float32)
    box = np.concatenate([xy + wh / 2, wh], -1) if center else np.concatenate([xy, xy + wh], -1)
    flipped = box[:, ::5]
    if center:
        flipped[..., 3] *= -1  # negative height
    else:
        flipped[..., [1, 3]] = flipped[..., [3, 1]]  # y2 < y1
    box[:, ::5] = flipped
    data[..., coord:coord + 4] = box
    data[..., score] = RNG.randint(0, 10, (batch, rows)) / 10.0
    if ident is not None:
        data[..., ident] = RNG.randint(0, classes, (batch, rows))
    return data


NMS_CASES = {
    "defaults": dict(),
    "class_aware": dict(id_index=0),
    "class_aware_force": dict(id_index=0, force_suppress=True),
    "topk": dict(topk=7),
    "topk_class_aware": dict(id_index=0, topk=9, valid_thresh=0.25),
    "topk_above_rows": dict(id_index=0, topk=100),
    "background": dict(id_index=0, background_id=1),
    "zero_threshold": dict(overlap_thresh=0.0, id_index=0),
    "sort_only": dict(overlap_thresh=2.0, topk=10),
    "corner_to_center": dict(out_format="center", id_index=0),
    "center_to_corner": dict(in_format="center", out_format="corner"),
    "center": dict(in_format="center", out_format="center", id_index=0),
    "topk_zero_is_identity": dict(topk=0),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", NMS_CASES)
def test_box_nms(case, opset, tmp_path):
    attrs = NMS_CASES[case]
    center = attrs.get("in_format") == "center"
    sym = mx.sym.contrib.box_nms(mx.sym.var("data"), **attrs)
    batches = [{"data": detections(2, 24, center=center)}, {"data": detections(3, 24, center=center)}]
    runs = run_both(sym, batches, tmp_path, opset, name=case)
    assert_same(runs, case)
    out, data = runs[0][0][0], batches[0]["data"]
    if case != "topk_zero_is_identity":  # not trivial: something kept, something suppressed
        assert (out[..., 1] >= 0).any() and (out[..., 1] < 0).any(), case


@pytest.mark.parametrize("opset", OPSETS)
def test_box_nms_rpn_layout(opset, tmp_path):
    """Faster R-CNN's RPN call: [score, x1, y1, x2, y2] rows, no ids, force_suppress."""
    sym = mx.sym.contrib.box_nms(mx.sym.var("data"), overlap_thresh=0.5, topk=12, coord_start=1,
                                 score_index=0, id_index=-1, force_suppress=True)
    batches = [{"data": detections(1, 30, width=5, coord=1, score=0, ident=None)},
               {"data": detections(2, 30, width=5, coord=1, score=0, ident=None)}]
    assert_same(run_both(sym, batches, tmp_path, opset, name="rpn"), "rpn layout")


@pytest.mark.parametrize("opset", OPSETS)
def test_box_nms_extra_axes_and_columns(opset, tmp_path):
    """(a, b, N, W) inputs are a*b batches; columns after the box are carried along."""
    sym = mx.sym.contrib.box_nms(mx.sym.var("data"), id_index=5, score_index=0, coord_start=1)
    batches = [{"data": detections(2, 36, width=7, coord=1, score=0, ident=5).reshape(2, 2, 18, 7)},
               {"data": detections(3, 36, width=7, coord=1, score=0, ident=5).reshape(3, 2, 18, 7)}]
    assert_same(run_both(sym, batches, tmp_path, opset, name="extra"), "4-D input")


@pytest.mark.parametrize("opset", OPSETS)
def test_box_nms_ties_keep_row_order(opset, tmp_path):
    """Equal scores keep row order (MXNet's stable sort), identical boxes: the first one wins,
    whatever order the runtime's own NMS would pick among equal scores."""
    row = [0.0, 0.5, 1.0, 1.0, 3.0, 3.0]
    data = np.array([[row, [1.0] + row[1:], row, [0.0, 0.5, 5, 5, 6, 6], row,
                      [0.0, 0.5, 1.5, 1.0, 3.5, 3.0]]], np.float32)
    data[0, :, 5] += np.arange(6) * 1e-3  # distinct rows, equal scores
    sym = mx.sym.contrib.box_nms(mx.sym.var("data"), overlap_thresh=0.5, id_index=0)
    runs = run_both(sym, [{"data": data}, {"data": np.concatenate([data, data[:, ::-1]])}],
                    tmp_path, opset, name="ties")
    assert_same(runs, "ties")
    np.testing.assert_array_equal(runs[0][0][0][0, :3, 5], data[0, [0, 1, 3], 5])


def test_box_nms_negative_threshold_is_refused(tmp_path):
    sym = mx.sym.contrib.box_nms(mx.sym.var("data"), overlap_thresh=-0.1, name="nms_neg")
    with pytest.raises(NotImplementedError, match=r"nms_neg.*overlap_thresh=-0\.1"):
        export_onnx((sym, {}), tmp_path / "x.onnx", input_shape=(1, 5, 6))
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize("opset", OPSETS)
def test_box_nms_dynamic_rows(opset, tmp_path):
    """The row count follows the image size in a detector: K = min(topk, N) and the -1 padding
    are computed at run time."""
    sym = mx.sym.contrib.box_nms(mx.sym.var("data"), id_index=0, topk=10)
    batches = [{"data": detections(2, 24)}, {"data": detections(3, 7)}, {"data": detections(1, 40)}]
    runs = run_both(sym, batches, tmp_path, opset, name="rows", axes={"data": {0: "batch", 1: "rows"}})
    assert_same(runs, "dynamic rows")


# -- box coding, IoU, anchors --------------------------------------------------------------------
def corner_boxes(*shape, scale=10.0):
    xy = RNG.uniform(0, scale, shape + (2,))
    wh = RNG.uniform(0.5, scale / 2, shape + (2,))
    return np.concatenate([xy, xy + wh], -1).astype(np.float32)


DECODE_CASES = {
    "corner_stds": dict(format="corner", std0=0.1, std1=0.1, std2=0.2, std3=0.2),
    "center": dict(format="center"),
    "corner_clip": dict(format="corner", clip=0.3),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", DECODE_CASES)
def test_box_decode(case, opset, tmp_path):
    """Anchors as a run-time input (Faster R-CNN decodes against its proposals)."""
    sym = mx.sym.contrib.box_decode(mx.sym.var("data"), mx.sym.var("anchors"), **DECODE_CASES[case])
    batches = [{"data": RNG.randn(2, 10, 4).astype(np.float32)}, {"data": RNG.randn(3, 10, 4).astype(np.float32)}]
    runs = run_both(sym, batches, tmp_path, opset, fixed={"anchors": corner_boxes(1, 10)}, name=case)
    assert_same(runs, case, rtol=1e-6)


@pytest.mark.parametrize("opset", OPSETS)
def test_box_encode(opset, tmp_path):
    names = ("samples", "matches", "anchors", "refs")
    sym = mx.sym.Group(list(mx.sym.contrib.box_encode(*[mx.sym.var(n) for n in names],
                                                      mx.sym.var("means"), mx.sym.var("stds"))))

    def batch(b):
        return {"samples": RNG.choice([-1.0, 0.0, 1.0], (b, 8)).astype(np.float32),
                "matches": RNG.randint(0, 3, (b, 8)).astype(np.float32),
                "anchors": corner_boxes(b, 8), "refs": corner_boxes(b, 3)}
    fixed = {"means": np.array([0.0, 0.1, -0.1, 0.0], np.float32),
             "stds": np.array([0.1, 0.1, 0.2, 0.2], np.float32)}
    runs = run_both(sym, [batch(2), batch(3)], tmp_path, opset, fixed=fixed, name="encode")
    assert_same(runs, "box_encode", rtol=1e-5)
    assert (runs[0][0][1] == 0).any() and (runs[0][0][1] == 1).any()


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("fmt", ["corner", "center"])
def test_box_iou(fmt, opset, tmp_path):
    lhs = corner_boxes(2, 5)
    lhs[0, 0] = [4, 4, 2, 6]  # x2 < x1: zero area in MXNet
    sym = mx.sym.contrib.box_iou(mx.sym.var("data"), mx.sym.var("rhs"), format=fmt)
    runs = run_both(sym, [{"data": lhs}, {"data": corner_boxes(3, 5)}], tmp_path, opset,
                    fixed={"rhs": corner_boxes(4)}, name=f"iou_{fmt}")
    assert_same(runs, f"box_iou {fmt}", rtol=1e-6)
    assert ((runs[0][0][0] > 0) & (runs[0][0][0] < 1)).any()


PRIOR_CASES = {
    "sizes_ratios": dict(sizes=(0.5, 0.25), ratios=(1, 2, 0.5)),
    "steps_offsets_clip": dict(sizes=(0.3,), ratios=(2.0, 3.0), steps=(0.1, 0.2), offsets=(0.3, 0.7), clip=True),
    "defaults": dict(),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", PRIOR_CASES)
def test_multibox_prior(case, opset, tmp_path):
    """Anchors of a 5x7 feature map, computed in the graph from its run-time shape."""
    sym = mx.sym.contrib.MultiBoxPrior(mx.sym.var("data"), **PRIOR_CASES[case])
    runs = run_both(sym, [{"data": RNG.randn(1, 3, 5, 7).astype(np.float32)},
                          {"data": RNG.randn(2, 3, 5, 7).astype(np.float32)}], tmp_path, opset, name=case)
    assert_same(runs, case)


@pytest.mark.parametrize("opset", OPSETS)
def test_multibox_prior_dynamic_size(opset, tmp_path):
    """Anchors follow the run-time feature-map size (no anchors stored in the file)."""
    sym = mx.sym.contrib.MultiBoxPrior(mx.sym.var("data"), sizes=(0.4, 0.2), ratios=(1, 2))
    sizes = [(1, 3, 5, 7), (2, 3, 6, 4), (1, 3, 9, 9)]
    runs = run_both(sym, [{"data": RNG.randn(*s).astype(np.float32)} for s in sizes], tmp_path, opset,
                    name="prior_dyn", axes={"data": {0: "batch", 2: "height", 3: "width"}})
    assert_same(runs, "dynamic feature map")
    assert [r[1][0].shape for r in runs] == [(1, 5 * 7 * 3, 4), (1, 6 * 4 * 3, 4), (1, 9 * 9 * 3, 4)]


# -- ROI pooling -------------------------------------------------------------------------------
# ONNX Runtime 1.32 has no RoiAlign-22 / MaxRoiPool-22 kernel: opset 23 files run in onnx's
# reference evaluator (RoiAlign) or are only checked (MaxRoiPool, checked on export).
ROI_OPSETS = (MIN_OPSET, 16, 21, MAX_OPSET)


def rois(count, batch):
    boxes = corner_boxes(count, scale=14.0)
    return np.concatenate([RNG.randint(0, batch, (count, 1)), boxes], 1).astype(np.float32)


ALIGN_CASES = {
    "ratio2": dict(pooled_size=(3, 2), spatial_scale=0.5, sample_ratio=2),
    "adaptive": dict(pooled_size=(2, 2), spatial_scale=1.0),
    "aligned": dict(pooled_size=(4, 4), spatial_scale=0.8, sample_ratio=1, aligned=True),
}


@pytest.mark.parametrize("opset", ROI_OPSETS)
@pytest.mark.parametrize("case", ALIGN_CASES)
def test_roi_align(case, opset, tmp_path):
    attrs = ALIGN_CASES[case]
    sym = mx.sym.contrib.ROIAlign(mx.sym.var("data"), mx.sym.var("rois"), **attrs, name=f"align_{case}")
    if attrs.get("aligned") and opset < 16:
        with pytest.raises(NotImplementedError, match=r"align_aligned.*aligned=True at opset 13.*opset >= 16"):
            export_onnx((sym, {}), tmp_path / "x.onnx", input_shape={"data": (2, 3, 12, 14), "rois": (7, 5)},
                        opset=opset, dynamic_batch=False)
        return
    runs = run_both(sym, [{"data": RNG.randn(2, 3, 12, 14).astype(np.float32)}], tmp_path, opset,
                    fixed={"rois": rois(7, 2)}, name=case, reference=opset >= 22)
    assert_same(runs, case, rtol=1e-5)


@pytest.mark.parametrize("opset", OPSETS)
def test_roi_align_skipped_rois(opset, tmp_path):
    """A negative batch index (FPN's ROIs of other pyramid levels) gives 0. MXNet 1.9.1 leaves
    those outputs unwritten and instead zeroes element n of the whole output for skipped ROI n
    (``top_data[n] = 0``, racing with the thread that writes ROI 0, so MXNet's value there is
    either): only the other ROIs, minus those elements, are compared with it."""
    data = RNG.randn(2, 3, 12, 14).astype(np.float32)
    sym = mx.sym.contrib.ROIAlign(mx.sym.var("data"), mx.sym.var("rois"), pooled_size=(2, 3),
                                  spatial_scale=0.5, sample_ratio=2)
    boxes = rois(6, 2)
    boxes[[1, 4], 0] = -1
    (ref, got), = run_both(sym, [{"data": data}], tmp_path, opset, fixed={"rois": boxes}, name="skip",
                           reference=opset >= 22)
    kept = [0, 2, 3, 5]
    assert got[0].flat[1] and got[0].flat[4]  # ROI 0's values: ours never clobbers them
    got[0].flat[[1, 4]] = ref[0].flat[[1, 4]] = 0
    np.testing.assert_allclose(got[0][kept], ref[0][kept], rtol=1e-5, atol=1e-5)
    assert not got[0][[1, 4]].any() and got[0][kept].any()


def test_roi_align_position_sensitive_is_refused(tmp_path):
    sym = mx.sym.contrib.ROIAlign(mx.sym.var("data"), mx.sym.var("rois"), pooled_size=(2, 2),
                                  spatial_scale=1.0, position_sensitive=True, name="psroi")
    with pytest.raises(NotImplementedError, match="psroi.*position_sensitive=True"):
        export_onnx((sym, {}), tmp_path / "x.onnx", input_shape={"data": (1, 8, 6, 6), "rois": (2, 5)},
                    dynamic_batch=False)


@pytest.mark.parametrize("opset", (MIN_OPSET, 21))
def test_roi_pooling(opset, tmp_path):
    sym = mx.sym.ROIPooling(mx.sym.var("data"), mx.sym.var("rois"), pooled_size=(3, 3), spatial_scale=0.7)
    runs = run_both(sym, [{"data": RNG.randn(2, 3, 12, 14).astype(np.float32)}], tmp_path, opset,
                    fixed={"rois": rois(6, 2)}, name="roipool")
    assert_same(runs, "ROIPooling")


# -- sorting ties, and symbol shapes GluonCV's detectors produce -----------------------------------
@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op", ["topk", "argsort"])
def test_sort_ties_small_rows(op, opset, tmp_path):
    """Full sorts (argsort; topk with 8k > n) of up to 16 elements are libstdc++ insertion
    sorts in MXNet: equal values keep their order, as ONNX TopK orders them. (Longer rows, or
    topk's partial_sort: MXNet's order among equal values is an artifact of libstdc++; the
    values agree, the tied indices may not.)"""
    fn = {"topk": lambda x: mx.sym.topk(x, k=5, ret_typ="both", axis=-1),
          "argsort": lambda x: mx.sym.argsort(x, axis=-1, is_ascend=False)}[op]
    sym = fn(mx.sym.var("data"))
    sym = mx.sym.Group(list(sym)) if isinstance(sym, (list, tuple)) else sym
    data = RNG.randint(0, 4, (2, 12)).astype(np.float32)
    runs = run_both(sym, [{"data": data}, {"data": RNG.randint(0, 4, (3, 12)).astype(np.float32)}],
                    tmp_path, opset, name=op)
    assert_same(runs, op)


class _Decoded(HybridBlock):
    """GluonCV's box decoder (it emits amp_multicast, which the symbol JSON drops), then
    optionally one Dense applied twice (repeated node names, as Mask R-CNN's top features)."""

    def __init__(self, shared):
        super().__init__()
        from gluoncv.nn.coder import NormalizedBoxCenterDecoder
        self.decoder = NormalizedBoxCenterDecoder(convert_anchor=True)
        self.shared = nn.Dense(4, flatten=False, in_units=4) if shared else None

    def hybrid_forward(self, F, x, anchors):
        boxes = self.decoder(x, anchors)
        return self.shared(boxes) + self.shared(x) if self.shared else boxes


@pytest.mark.parametrize("shared", [False, True])
def test_amp_multicast_and_repeated_block(shared, tmp_path):
    net = _Decoded(shared)
    net.initialize(mx.init.Xavier())
    x, anchors = RNG.randn(2, 6, 4).astype(np.float32), corner_boxes(1, 6)
    path = export_onnx(net, tmp_path / "net.onnx", input_shape=[x.shape, anchors.shape],
                       dynamic_axes={"data0": {0: "batch"}})
    got = _ort(path, {"data0": x, "data1": anchors})[0]
    np.testing.assert_allclose(got, net(mx.nd.array(x), mx.nd.array(anchors)).asnumpy(), rtol=1e-5, atol=1e-5)


# -- MultiBoxDetection ---------------------------------------------------------------------------
def multibox_inputs(batch, classes=4, anchors=12):
    """Class probabilities with ties (and a row below every threshold), offsets, and anchors on
    a coarse grid so that decoded boxes overlap; two anchors give boxes with IoU exactly 0.5."""
    probs = RNG.dirichlet(np.ones(classes), size=(batch, anchors)).astype(np.float32)
    probs[:, 0] = [0.0, 0.4, 0.4, 0.2][:classes]  # a tie between classes 1 and 2
    probs[:, 1] = [0.994, 0.002, 0.002, 0.002][:classes]  # background wins: below the threshold
    probs[:, 2:4, 1] = 0.9  # equal scores for anchors 2 and 3, class 1
    loc = (RNG.randn(batch, anchors, 4) * 0.3).astype(np.float32)
    loc[:, 2:4] = 0.0
    xy = RNG.randint(0, 4, (anchors, 2)) * 0.15
    grid = np.concatenate([xy, xy + 0.3], 1).astype(np.float32)
    grid[2], grid[3] = [0.0, 0.0, 0.5, 0.25], [0.0, 0.0, 0.25, 0.25]  # IoU exactly 0.5 once decoded
    return probs.transpose(0, 2, 1).copy(), loc.reshape(batch, -1), grid[None]


MULTIBOX_CASES = {
    "defaults": dict(),
    "topk": dict(nms_topk=5),
    "force_suppress_threshold": dict(force_suppress=True, threshold=0.3),
    "iou_exactly_at_threshold": dict(nms_threshold=0.5, clip=False),
    "no_nms": dict(nms_threshold=0.0),
    "variances_background": dict(variances=(0.2, 0.2, 0.1, 0.1), background_id=2, nms_topk=20),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", MULTIBOX_CASES)
def test_multibox_detection(case, opset, tmp_path):
    sym = mx.sym.contrib.MultiBoxDetection(*[mx.sym.var(n) for n in ("data", "loc", "anchors")],
                                           **MULTIBOX_CASES[case])
    batches = []
    for batch in (2, 3):
        probs, loc, anchors = multibox_inputs(batch)
        batches.append({"data": probs, "loc": loc})
    runs = run_both(sym, batches, tmp_path, opset, fixed={"anchors": anchors}, name=case)
    assert_same(runs, case, rtol=1e-6)
    out = runs[0][0][0]
    assert (out[..., 0] >= 0).any() and (out[..., 0] < 0).any()
    if case == "iou_exactly_at_threshold":  # suppressed at IoU == nms_threshold, as MXNet does
        second = np.flatnonzero((out[0, :, 2:] == [0, 0, 0.25, 0.25]).all(-1))
        assert len(second) == 1 and out[0, second[0], 0] == -1


# -- backbone pooling over a dynamic image size (SSD-VGG, ResNet-v1d R-CNNs) -----------------------
FULL_POOLS = {
    "vgg_stride1_max": dict(pool_type="max", kernel=(3, 3), stride=(1, 1), pad=(1, 1)),
    "v1d_shortcut_avg": dict(pool_type="avg", kernel=(2, 2), stride=(2, 2), count_include_pad=False),
    "stride1_avg_exclude_pad": dict(pool_type="avg", kernel=(3, 3), stride=(1, 1), pad=(1, 1),
                                    count_include_pad=False),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", FULL_POOLS)
def test_full_pooling_dynamic_size(case, opset, tmp_path):
    """'full' pooling exported with dynamic height/width, run at odd and even sizes."""
    sym = mx.sym.Pooling(mx.sym.var("data"), pooling_convention="full", **FULL_POOLS[case])
    sizes = [(1, 2, 8, 8), (2, 2, 7, 9), (1, 2, 5, 6)]
    runs = run_both(sym, [{"data": RNG.randn(*s).astype(np.float32)} for s in sizes], tmp_path, opset,
                    name=case, axes={"data": {0: "batch", 2: "height", 3: "width"}})
    assert_same(runs, case, rtol=1e-6)
