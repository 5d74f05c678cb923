"""Compare an exported object detector with MXNet, as MXNet's own ONNX test-suite does.

Detections: above a score threshold both backends find as many detections, and each ONNX
Runtime detection matches an MXNet one of the same class, score within 1e-3, box within 0.5 px
(:func:`export.deploy.detection.match`). Raw tensors: where no NMS is involved (the candidates
fed to every NMS - class ids, scores, decoded boxes -, anchors, the heatmap CenterNet's top-k
reads) the two must agree to float32 rounding.

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
from .source import block_params, block_symbol
from .to_onnx import export_onnx

SCORE_TOL, BOX_TOL = 1e-3, 0.5
RAW_OPS = {"_contrib_box_nms": (0,), "_contrib_box_decode": (1,), "topk": (0,)}


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
    """The internal outputs no NMS has touched yet, in graph order: each NMS's candidates, each
    box decoder's anchors and output, each top-k's input."""
    text = sym.tojson()  # without amp casts: internals and JSON then list the same nodes
    graph = json.loads(text)
    internals = mx.sym.load_json(text).get_internals()
    index = {}
    for k, (node, out, *_) in enumerate(json.loads(internals.tojson())["heads"]):
        index[(node, out)] = k
    picked = []
    for node_id, node in enumerate(graph["nodes"]):
        for slot in RAW_OPS.get(node["op"], ()):
            picked.append(index[tuple(node["inputs"][slot][:2])])
        if node["op"] == "_contrib_box_decode":
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


def mxnet_raw_tensors(net, batch):
    """MXNet's :func:`pre_nms_tensors` for ``batch`` (ROIAlign defined), as numpy arrays."""
    with defined_roi_align():
        sym = block_symbol(net, 1)
    group = mx.sym.Group(pre_nms_tensors(sym))
    arrays = {n: mx.nd.array(v) for n, v in block_params(net, sym).items()}
    arrays["data"] = mx.nd.array(batch)
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


def raw_max_error(net, batch, onnx_path, opset=None):
    """(:func:`relative_error` of ONNX Runtime against MXNet over :func:`pre_nms_tensors`,
    number of tensors compared)."""
    reference = mxnet_raw_tensors(net, batch)
    if not reference:
        return 0.0, 0
    return relative_error(onnx_raw_tensors(net, batch, onnx_path, opset), reference), len(reference)


__all__ = ["defined_roi_align", "pre_nms_tensors", "pick_threshold", "compare_detections",
           "mxnet_raw_tensors", "onnx_raw_tensors", "relative_error", "raw_max_error"]
