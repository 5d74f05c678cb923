"""GluonCV detectors, one reduced representative per family, exported and compared with MXNet.

Built offline (``pretrained=False, pretrained_base=False``) with test weights that give
distinct scores (``hybridzoo.testing.gluoncv_detectors``). Each family is compared as MXNet's own ONNX
test-suite compares detectors: as many detections above a threshold, each ONNX Runtime one
matching an MXNet one of the same class, score within 1e-3 and box within 0.5 px; and the raw
tensors no NMS has touched (candidates, decoded boxes, anchors, class scores, heatmap) agree to
float32 rounding: within 1e-4 of MXNet, or no further from MXNet's float64 result than twice
MXNet's own float32 error (random-weight MobileNets and R-CNN proposals amplify rounding). SSD, YOLOv3 and CenterNet are exported with a dynamic batch and image size and run
at two sizes; GluonCV's R-CNNs fix the batch at 1 (their graph reshapes to it) and are
exported with a dynamic image size.
"""
import json
import warnings

import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import onnxruntime as ort
import pytest
from mxnet.gluon import HybridBlock, nn
from PIL import Image

from _tools import error_lines, run_tool
from export import export_onnx
from export.deploy import detection
from export.deploy.detection import gluoncv_metadata
from export.verify_detection import compare_detections, defined_roi_align, raw_agreement
from hybridzoo.testing.gluoncv_detectors import FAMILIES, build_detector

# family: (input size, proposals kept by R-CNNs, second input size (H, W))
SETUPS = {
    "ssd": (256, None, (192, 320)),
    "yolo3": (256, None, (320, 224)),
    "faster_rcnn": (192, 16, (224, 160)),
    "faster_rcnn_fpn": (192, 16, (256, 192)),
    "mask_rcnn": (192, 16, (160, 224)),
    "center_net": (256, None, (192, 256)),
}
RCNN = ("faster_rcnn", "faster_rcnn_fpn", "mask_rcnn")
IMAGE_AXES = {"data": {0: "batch", 2: "height", 3: "width"}}


def images(batch, height, width, seed):
    return np.random.RandomState(seed).uniform(-1, 1, (batch, 3, height, width)).astype(np.float32)


@pytest.mark.parametrize("family", list(SETUPS))
def test_detector_family(family, tmp_path):
    size, rois, (height, width) = SETUPS[family]
    net = build_detector(FAMILIES[family], seed=0, size=size, rois=rois, context=defined_roi_align)
    net.hybridize()
    path = tmp_path / f"{family}.onnx"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_onnx(net, path, input_shape=(1, 3, size, size), dynamic_axes=IMAGE_AXES)
    fixed = [str(w.message) for w in caught if "fixed" in str(w.message)]
    assert bool(fixed) == (family in RCNN), fixed  # R-CNNs: the batch only is fixed

    batch = 1 if family in RCNN else 2
    runs = [images(1, size, size, seed=1), images(batch, height, width, seed=2)]
    for data in runs:
        result = compare_detections(net, data, path)
        scores = [d.score for d in result["reference"][0]]
        top = sorted(scores, reverse=True)[:20]
        assert len(set(top)) == len(top), f"{family}: reference scores are not distinct"
        for report in result["images"]:
            assert report["reference"] >= 3, f"{family}: too few detections above {result['threshold']}"
            counts = {k: report[k] for k in ("reference", "candidate", "matched")}
            assert report["candidate"] == report["reference"] == report["matched"], \
                f"{family} {data.shape}: {counts} above {result['threshold']:.4f}, first " \
                f"unmatched: {report['unmatched'][:1]}"
        if family == "mask_rcnn":  # masks of the rows both backends put in the same place
            (ref_ids, ref_scores, ref_boxes, ref_masks), (ids, scores, boxes, masks) = result["outputs"]
            same = (ids == ref_ids)[..., 0] & (np.abs(scores - ref_scores) <= 1e-3)[..., 0] & \
                (np.abs(boxes - ref_boxes) <= 0.5).all(-1) & (ref_scores[..., 0] > 0)
            assert same.sum() >= 3 and np.abs(masks[same] - ref_masks[same]).max() <= 1e-3
    first, second = (compare_detections(net, d, path)["reference"][0] for d in runs)
    assert [d.box for d in first[:5]] != [d.box for d in second[:5]], f"{family}: input-blind"

    raw = raw_agreement(net, runs[0], tmp_path / f"{family}-raw.onnx")
    assert raw["tensors"] >= 1 and raw["ok"], f"{family}: raw tensors differ: {raw}"


# -- tools/infer.py on a detector ---------------------------------------------------------------
class TinyDetector(HybridBlock):
    """A detector in GluonCV's output layout in a few ops: a conv predicts per-cell class
    scores and box offsets, decoded against fixed anchors, then class-aware NMS."""

    def __init__(self, classes=3, **kwargs):
        super().__init__(**kwargs)
        self.classes = ["cat", "dog", "bird"][:classes]
        self.head = nn.Conv2D(classes + 4, 3, padding=1, in_channels=3)
        self.anchors = self.params.get_constant("anchors", _grid_anchors(8, 16.0))

    def hybrid_forward(self, F, x, anchors):
        pred = F.Pooling(self.head(x), kernel=(8, 8), stride=(8, 8), pool_type="avg")  # 64 -> 8
        pred = F.transpose(pred, axes=(0, 2, 3, 1)).reshape((0, -1, len(self.classes) + 4))
        scores = F.softmax(F.slice_axis(pred, axis=-1, begin=0, end=len(self.classes)), axis=-1)
        boxes = F.contrib.box_decode(F.slice_axis(pred, axis=-1, begin=len(self.classes), end=None),
                                     anchors, format="corner")
        ids = F.argmax(scores, axis=-1, keepdims=True)
        rows = F.concat(ids, F.max(scores, axis=-1, keepdims=True), boxes, dim=-1)
        rows = F.contrib.box_nms(rows, overlap_thresh=0.5, id_index=0, topk=20, valid_thresh=0.01)
        return [F.slice_axis(rows, axis=-1, begin=b, end=e) for b, e in ((0, 1), (1, 2), (2, 6))]


def _grid_anchors(cells, step):
    centers = (np.arange(cells) + 0.5) * step
    cy, cx = np.meshgrid(centers, centers, indexing="ij")
    half = step * 0.75
    return np.stack([cx - half, cy - half, cx + half, cy + half], -1).reshape(1, -1, 4).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_detector(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    net = TinyDetector()
    mx.random.seed(7)  # module scope: set up before the per-test seeding
    net.initialize(mx.init.Xavier(magnitude=3))
    path = export_onnx(net, folder / "tiny.onnx", input_shape=(1, 3, 64, 64),
                       metadata=gluoncv_metadata(net.classes))
    rng = np.random.default_rng(0)
    for name, size in (("wide.jpg", (120, 80)), ("tall.png", (60, 90))):
        Image.fromarray(rng.integers(0, 255, size[::-1] + (3,), dtype=np.uint8)).save(folder / name)
    return net, path, folder


def test_infer_prints_top_boxes_with_labels(tiny_detector, tmp_path):
    net, path, folder = tiny_detector
    result = run_tool("infer", path, folder / "wide.jpg", "--threshold", "0.2", "--top-k", "4", "--json",
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (found,) = json.loads(result.stdout)["detections"]
    assert 1 <= len(found["detections"]) <= 4 and found["image_size"] == [120, 80]
    # the same boxes, independently: plain onnxruntime on GluonCV's preprocessing, scaled back
    pixels = np.asarray(Image.open(folder / "wide.jpg").convert("RGB").resize((64, 64), Image.BILINEAR),
                        np.float32) / 255
    batch = ((pixels - detection.IMAGENET_MEAN) / detection.IMAGENET_STD).transpose(2, 0, 1)[None]
    ids, scores, boxes = ort.InferenceSession(str(path)).run(None, {"data": batch.astype(np.float32)})
    best = int(np.argmax(scores[0, :, 0]))
    first = found["detections"][0]
    assert first["label"] == net.classes[int(ids[0, best, 0])]
    assert abs(first["score"] - scores[0, best, 0]) < 1e-2
    expected = boxes[0, best] * np.array([120 / 64, 80 / 64, 120 / 64, 80 / 64])
    np.testing.assert_allclose(first["box"], expected, atol=2.0)  # float vs 8-bit resize
    assert all(d["score"] >= 0.2 for d in found["detections"])


def test_infer_draws_boxes(tiny_detector, tmp_path):
    _, path, folder = tiny_detector
    out = tmp_path / "boxes.png"
    result = run_tool("infer", path, folder / "tall.png", "--threshold", "0", "--draw", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "box(es)" in result.stdout and f"boxes drawn: {out}" in result.stdout
    with Image.open(out) as drawn, Image.open(folder / "tall.png") as original:
        assert drawn.size == original.size
        assert (np.asarray(drawn.convert("RGB")) != np.asarray(original.convert("RGB"))).any()
    both = tmp_path / "drawn"
    result = run_tool("infer", path, folder, "--draw", both, "--threshold", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in both.iterdir()) == ["tall.png", "wide.png"]


def test_infer_draw_needs_images(tiny_detector, tmp_path):
    _, path, _ = tiny_detector
    np.save(tmp_path / "x.npy", np.zeros((3, 64, 64), np.float32))
    result = run_tool("infer", path, tmp_path / "x.npy", "--draw", tmp_path / "o.png", cwd=tmp_path)
    assert result.returncode == 1 and error_lines(result.stderr) == [  # 1: an input cannot be used
        "error: --draw needs image inputs (PNG, JPEG, ...), not .npy arrays"]
    assert not (tmp_path / "o.png").exists()
