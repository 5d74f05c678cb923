"""Compare an exported object detector with MXNet, as MXNet's own ONNX test-suite does.

Detections: above a score threshold both backends find as many detections, and each ONNX
Runtime detection matches an MXNet one of the same class, score within 1e-3, box within 0.5 px
(:func:`export.deploy.detection.match`). Raw tensors: where no NMS is involved (the candidates
fed to every NMS - class ids, scores, decoded boxes -, anchors, class scores, CenterNet's
heatmap) the two must agree to float32 rounding (:func:`raw_agreement`).

MXNet 1.9.1's ROIAlign skips a ROI whose batch index is negative - FPN detectors mask the ROIs
of other pyramid levels that way and sum the levels - without writing its output, and zeroes
element n of the whole output for skipped ROI n instead (``roi_align.cc``: ``top_data[n] = 0``).
FPN detectors therefore read uninitialized memory in MXNet: their imperative and hybridized
outputs differ. :func:`defined_roi_align` makes such ROIs pool to 0 (what the exported graph
computes) for the reference run.
"""
import contextlib
import json

import mxnet as mx
import numpy as np
import onnxruntime as ort

from .deploy import detection
from .blocks import block_params, block_symbol
from .to_onnx import export_onnx

SCORE_TOL, BOX_TOL = 1e-3, 0.5
RAW_RTOL = 1e-4
RAW_INPUTS = {"_contrib_box_nms": (0,), "_contrib_box_decode": (1,)}  # candidates, anchors
RAW_OUTPUTS = ("_contrib_box_decode", "softmax", "sigmoid")  # decoded boxes, class scores
NMS_OPS = ("_contrib_box_nms", "_contrib_MultiBoxDetection")


@contextlib.contextmanager
def defined_roi_align():
    """Within the block, ``F.contrib.ROIAlign`` gives 0 for ROIs with a negative batch index."""
    originals = mx.nd.contrib.ROIAlign, mx.sym.contrib.ROIAlign

    def wrap(F, roi_align):
        def defined(data, rois, *args, **kwargs):
            batch = F.slice_axis(rois, axis=1, begin=0, end=1)
            clamped = F.concat(F.relu(batch), F.slice_axis(rois, axis=1, begin=1, end=None), dim=1)
            pooled = roi_align(data, clamped, *args, **kwargs)
            return F.broadcast_mul(pooled, (batch >= 0).reshape((-1, 1, 1, 1)))
        return defined

    mx.nd.contrib.ROIAlign, mx.sym.contrib.ROIAlign = wrap(mx.nd, originals[0]), wrap(mx.sym, originals[1])
    try:
        yield
    finally:
        mx.nd.contrib.ROIAlign, mx.sym.contrib.ROIAlign = originals


def pre_nms_tensors(sym):
    """Internal outputs no NMS has touched, in graph order: each NMS's candidates, each box
    decoder's anchors and output, each softmax/sigmoid (class scores, CenterNet's heatmap) -
    none downstream of an NMS (R-CNNs' second stage runs on the proposals one keeps). Not
    CenterNet's top-k input: its peak mask (heatmap == max-pooled heatmap) flips wherever two
    neighbours differ by float rounding."""
    text = sym.tojson()  # without amp casts: internals and JSON then list the same nodes
    graph = json.loads(text)
    internals = mx.sym.load_json(text).get_internals()
    index = {}
    for k, (node, out, *_) in enumerate(json.loads(internals.tojson())["heads"]):
        index[(node, out)] = k
    after_nms, picked = set(), []
    for node_id, node in enumerate(graph["nodes"]):
        sources = [i[0] for i in node["inputs"]]
        if node["op"] in NMS_OPS or any(s in after_nms for s in sources):
            after_nms.add(node_id)
        for slot in RAW_INPUTS.get(node["op"], ()):
            if sources[slot] not in after_nms:
                picked.append(index[tuple(node["inputs"][slot][:2])])
        if node["op"] in RAW_OUTPUTS and node_id not in after_nms:
            picked.append(index[(node_id, 0)])
    return [internals[k] for k in picked]


def pick_threshold(scores, want=20, gap=2e-4):
    """A score threshold with about ``want`` (at least 3 when possible) reference detections
    above it, in the middle of a gap wider than ``gap`` between two scores, so that float noise
    (~1e-5 here) cannot move a detection across it."""
    ranked = np.sort(np.asarray(scores, np.float64))[::-1]
    for low in (3, 1):
        for i in range(min(want, len(ranked) - 1), low - 1, -1):
            if ranked[i - 1] - ranked[i] > gap:
                return float(ranked[i - 1] + ranked[i]) / 2
    return float(ranked[0] - gap) if len(ranked) else 0.5


def _rows_error(want, got):
    """Largest score/corner difference between two images' detections (``Detection`` lists)
    that pair one to one by class, nearest first; inf when they cannot."""
    if len(want) != len(got):
        return float("inf")
    free, worst = list(want), 0.0
    for det in got:
        gaps = [max([abs(det.score - w.score)] + [abs(a - b) for a, b in zip(det.box, w.box)])
                if w.class_id == det.class_id else float("inf") for w in free]
        if not gaps or min(gaps) == float("inf"):
            return float("inf")
        worst = max(worst, min(gaps))
        free.pop(int(np.argmin(gaps)))
    return worst


def multibox_error(reference, outputs):
    """:func:`export.verify.max_error` for nets ending in ``MultiBoxDetection`` (rows
    ``[class, score, x1, y1, x2, y2]``, suppressed ones class -1): its rows are sorted by score,
    so scores closer than float32 rounding may come in either order, and such rows are compared
    as detections. Per image, those above a threshold in a gap of the reference's scores
    (:func:`pick_threshold`) must pair one to one by class; the error is the largest score or
    corner difference of a pair, inf when they do not pair. Other outputs: element by element."""
    if len(reference) != len(outputs):
        return float("inf")
    worst = 0.0
    for want, got in zip(reference, outputs):
        want, got = np.asarray(want, np.float64), np.asarray(got, np.float64)
        if want.shape != got.shape:
            return float("inf")
        if want.ndim != 3 or want.shape[-1] != 6:
            worst = max(worst, float(np.abs(want - got).max()))
            continue
        parse = lambda rows: detection.parse([rows[..., 0], rows[..., 1], rows[..., 2:]])
        for image_want, image_got in zip(parse(want), parse(got)):
            threshold = pick_threshold([d.score for d in image_want])
            worst = max(worst, _rows_error(detection.top(image_want, threshold), detection.top(image_got, threshold)))
    return worst


def _ort(path, batch):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: batch})


def compare_detections(net, batch, onnx_path, threshold=None):
    """Run ``batch`` through ``net`` (MXNet, ROIAlign defined) and the ONNX file; per image the
    :func:`~export.deploy.detection.match` report, plus the threshold used."""
    with defined_roi_align():
        reference = [o.asnumpy() for o in net(mx.nd.array(batch))]
    got = _ort(onnx_path, batch)
    ref_images, got_images = detection.parse(reference), detection.parse(got)
    if threshold is None:
        threshold = pick_threshold([d.score for d in ref_images[0]])
    reports = [detection.match(r, g, threshold, SCORE_TOL, BOX_TOL) for r, g in zip(ref_images, got_images)]
    return {"threshold": threshold, "images": reports, "reference": ref_images, "outputs": (reference, got)}


def mxnet_raw_tensors(net, batch, dtype="float32"):
    """MXNet's :func:`pre_nms_tensors` for ``batch`` (ROIAlign defined), as numpy arrays.
    ``dtype="float64"`` runs the graph in double precision: GluonCV hard-codes float32 in a few
    ops (``arange``, casts), which are switched to float64 in the symbol's JSON."""
    with defined_roi_align():
        sym = block_symbol(net, 1)
    group = mx.sym.Group(pre_nms_tensors(sym))
    if dtype != "float32":
        group = mx.sym.load_json(group.tojson().replace('"dtype": "float32"', f'"dtype": "{dtype}"'))
    arrays = {n: mx.nd.array(v, dtype=dtype) for n, v in block_params(net, sym).items()}
    arrays["data"] = mx.nd.array(batch, dtype=dtype)
    args = {n: arrays[n] for n in group.list_arguments()}
    aux = {n: arrays[n] for n in group.list_auxiliary_states()}
    return [o.asnumpy() for o in group.bind(mx.cpu(), args=args, aux_states=aux).forward()]


def onnx_raw_tensors(net, batch, onnx_path, opset=None):
    """The same tensors from the exported graph (written to ``onnx_path``) in ONNX Runtime."""
    sym = block_symbol(net, 1)
    group = mx.sym.Group(pre_nms_tensors(sym))
    params = {n: v for n, v in block_params(net, sym).items() if n in group.list_inputs()}
    export_onnx((group, params), onnx_path, input_shape={"data": batch.shape}, opset=opset,
                dynamic_batch=False)
    return _ort(onnx_path, batch)


def relative_error(got, reference):
    """max over tensors of max |got - reference| / max(1, max |reference|)."""
    return max((float(np.abs(g - r).max()) / max(1.0, float(np.abs(r).max()))
                for g, r in zip(got, reference)), default=0.0)


def raw_agreement(net, batch, onnx_path, opset=None):
    """Raw tensors of ONNX Runtime against MXNet, judged as float32 rounding: within
    ``RAW_RTOL`` of MXNet's float32 result, or - where deep nets amplify rounding - no further
    from MXNet's float64 result than twice MXNet's own float32 error (as tools/gluon_sweep.py).
    Returns ``{"tensors", "onnx_vs_mxnet", "mxnet_vs_float64", "onnx_vs_float64", "ok"}``."""
    reference = mxnet_raw_tensors(net, batch)
    got = onnx_raw_tensors(net, batch, onnx_path, opset) if reference else []
    found = {"tensors": len(reference), "onnx_vs_mxnet": relative_error(got, reference),
             "mxnet_vs_float64": None, "onnx_vs_float64": None}
    found["ok"] = found["onnx_vs_mxnet"] <= RAW_RTOL
    if not found["ok"]:
        exact = mxnet_raw_tensors(net, batch, "float64")
        found["mxnet_vs_float64"] = relative_error(reference, exact)
        found["onnx_vs_float64"] = relative_error(got, exact)
        found["ok"] = found["onnx_vs_float64"] <= max(RAW_RTOL, 2.0 * found["mxnet_vs_float64"])
    return found


__all__ = ["defined_roi_align", "pre_nms_tensors", "pick_threshold", "multibox_error", "compare_detections",
           "mxnet_raw_tensors", "onnx_raw_tensors", "relative_error", "raw_agreement"]
