"""Reading an object detector's outputs: top boxes with labels, drawing them, comparing two runs.

GluonCV detectors (SSD, YOLOv3, Faster/Mask R-CNN, CenterNet) return ``(ids, scores, boxes)``
(Mask R-CNN adds masks): ids and scores ``(B, N, 1)`` or ``(B, N)``, boxes ``(B, N, 4)`` as
``[x1, y1, x2, y2]`` in input pixels, padding rows -1. Export one with its labels and GluonCV's
input normalisation so that ``tools/infer.py`` can use it::

    export_onnx(net, "ssd.onnx", input_shape=(1, 3, 512, 512), metadata=gluoncv_metadata(net.classes))

``match`` compares two runs as MXNet's own ONNX test-suite does: as many detections above the
threshold, each one matching a detection of the same class, score and box within tolerance.
"""
import os
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw

from ..files.io import atomic_path
from .preprocess import InputError

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
COLORS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324")


def gluoncv_metadata(classes):
    """ONNX metadata for a GluonCV detector: its labels and GluonCV's test-time normalisation
    (RGB / 255, ImageNet mean and std, a straight resize to the input size)."""
    return {"task": "detection", "labels": list(classes), "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD)}


@dataclass(frozen=True)
class Detection:
    class_id: int
    score: float
    box: Tuple[float, float, float, float]  # x1, y1, x2, y2
    label: Optional[str] = None

    def to_dict(self):
        return {"class": self.class_id, "label": self.label, "score": self.score,
                "box": [round(v, 2) for v in self.box]}


def is_detector(output_shapes):
    """True for GluonCV's layout: ids and scores (B, N[, 1]), boxes (B, N, 4), masks optional."""
    shapes = [tuple(s) for s in output_shapes]
    if len(shapes) not in (3, 4) or len(shapes[2]) != 3 or shapes[2][-1] != 4:
        return False
    return all(s[:2] == shapes[2][:2] and (len(s) == 2 or s[2:] == (1,)) for s in shapes[:2])


def parse(outputs, labels=None):
    """Per image, its detections (padding rows dropped), highest score first."""
    ids, scores, boxes = (np.asarray(o) for o in outputs[:3])
    ids, scores = ids.reshape(ids.shape[:2]), scores.reshape(scores.shape[:2])
    images = []
    for row_ids, row_scores, row_boxes in zip(ids, scores, boxes):
        keep = np.flatnonzero((row_ids >= 0) & (row_scores >= 0))
        keep = keep[np.argsort(-row_scores[keep], kind="stable")]
        images.append([Detection(int(row_ids[i]), float(row_scores[i]), tuple(map(float, row_boxes[i])),
                                 _label(labels, int(row_ids[i]))) for i in keep])
    return images


def _label(labels, index):
    return labels[index] if labels and 0 <= index < len(labels) else None


def top(detections, threshold=0.5, k=None):
    """Detections with score >= ``threshold``, at most ``k``."""
    kept = [d for d in detections if d.score >= threshold]
    return kept[:k] if k else kept


def match(reference, candidate, threshold, score_tol=1e-3, box_tol=0.5):
    """Compare one image's detections: ``{"reference", "candidate", "matched", "unmatched"}``
    counts above ``threshold``; a candidate matches an unused reference detection of the same
    class with |score difference| <= ``score_tol`` and every box coordinate within ``box_tol``."""
    ref, got = top(reference, threshold), top(candidate, threshold)
    used, unmatched = set(), []
    for det in got:
        for i, other in enumerate(ref):
            if i not in used and other.class_id == det.class_id \
                    and abs(other.score - det.score) <= score_tol \
                    and max(abs(a - b) for a, b in zip(other.box, det.box)) <= box_tol:
                used.add(i)
                break
        else:
            unmatched.append(det)
    return {"reference": len(ref), "candidate": len(got), "matched": len(used), "unmatched": unmatched}


def run_all(model, samples, batch_size=8):
    """Every output of an :class:`~.runtime.OnnxModel` for ``samples``, batch by batch."""
    size = model.fixed_batch or batch_size
    per_output = None
    for start in range(0, len(samples), size):
        chunk = np.stack(samples[start:start + size]).astype(np.float32)
        count = len(chunk)
        if model.fixed_batch and count < size:
            chunk = np.concatenate([chunk, np.zeros((size - count,) + chunk.shape[1:], np.float32)])
        outputs = [o[:count] for o in model.session.run(None, {model.input_name: chunk})]
        per_output = outputs if per_output is None else [np.concatenate(p) for p in zip(per_output, outputs)]
    return per_output


def detect(model, paths, threshold=0.5, k=10, batch_size=8):
    """Top detections per input, boxes in the original image's pixels (input pixels for .npy)."""
    names, samples = model.load(paths)
    if not samples:
        raise InputError("no inputs to run: the files hold no samples")
    images = parse(run_all(model, samples, batch_size), model.labels)
    results = []
    for name, found in zip(names, images):
        size = _image_size(name)
        found = [_to_image(d, size, model.preprocess) for d in top(found, threshold, k)]
        results.append({"input": name, "image_size": size, "detections": found})
    return results


def _image_size(name):
    if name.lower().endswith(".npy") or "[" in os.path.basename(name):
        return None
    with Image.open(name) as image:
        return image.size


def _to_image(det, size, preprocess):
    """Map a box from model-input pixels back to the image (straight resize or resize + crop)."""
    if size is None or preprocess is None:
        return det
    (width, height), (in_h, in_w) = size, preprocess.input_size
    if preprocess.resize:
        ratio = preprocess.resize / min(width, height)
        scaled_w, scaled_h = max(in_w, round(width * ratio)), max(in_h, round(height * ratio))
        left, top_ = (scaled_w - in_w) // 2, (scaled_h - in_h) // 2
        sx, sy = scaled_w / width, scaled_h / height
    else:
        left, top_, sx, sy = 0, 0, in_w / width, in_h / height
    x1, y1, x2, y2 = det.box
    box = ((x1 + left) / sx, (y1 + top_) / sy, (x2 + left) / sx, (y2 + top_) / sy)
    return Detection(det.class_id, det.score, box, det.label)


def draw(image_path, detections, out_path):
    """Save ``image_path`` with ``detections`` (image pixels) drawn on it, atomically."""
    with Image.open(image_path) as image:
        canvas = image.convert("RGB")
    pen = ImageDraw.Draw(canvas)
    width = max(2, round(min(canvas.size) / 200))
    for det in detections:
        color = COLORS[det.class_id % len(COLORS)]
        pen.rectangle(det.box, outline=color, width=width)
        text = f"{det.label if det.label is not None else det.class_id} {det.score:.2f}"
        x, y = det.box[0], max(0.0, det.box[1] - 12)
        pen.rectangle(pen.textbbox((x, y), text), fill=color)
        pen.text((x, y), text, fill="white")
    fmt = os.path.splitext(out_path)[1].lstrip(".").upper().replace("JPG", "JPEG") or "PNG"
    with atomic_path(out_path) as tmp:
        canvas.save(tmp, format=fmt)
    return out_path


def draw_results(results, out):
    """Draw each image result of :func:`detect`: ``out`` is the file for one image, a folder
    (``<out>/<image stem>.png``) for several. Returns the written paths."""
    images = [r for r in results if r["image_size"] is not None]
    if len(images) != len(results):
        raise InputError("--draw needs image inputs (PNG, JPEG, ...), not .npy arrays")
    if len(images) == 1 and not os.path.isdir(out):
        return [draw(images[0]["input"], images[0]["detections"], out)]
    if os.path.isfile(out):
        raise InputError(f"--draw {out}: is a file, but {len(images)} images need a folder")
    return [draw(r["input"], r["detections"],
                 os.path.join(out, os.path.splitext(os.path.basename(r["input"]))[0] + ".png"))
            for r in images]
