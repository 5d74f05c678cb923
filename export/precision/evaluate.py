"""Compare a variant's outputs with FP32 on real inputs: accuracy, top-1 agreement, max error.

With labels (a labelled test split, for trained weights) both accuracies are measured; without
(untrained weights, or calibration images with no labels) only agreement and the error, which say
how far the variant moved from FP32 but not whether it is still right.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import onnxruntime as ort

from ..deploy.runtime import session_options

# float16's machine epsilon is 9.8e-4; 1e-2 of the output scale leaves room for ~10 epsilons of
# rounding accumulated through a deep net (measured: 4e-4 for ResNet-50, 5e-4 for DenseNet-121),
# while a conversion bug (a wrong cast, a clamped activation) shows as errors of order 1.
FP16_RTOL = 1e-2
EVAL_BATCH = 32


@dataclass
class Evaluation:
    """Inputs to compare on (preprocessed, ``(N, *sample_shape)``), their labels if known, their origin."""

    inputs: np.ndarray
    source: str
    labels: Optional[np.ndarray] = None


def run_file(path, inputs, batch=EVAL_BATCH, threads=None):
    """The first output of the ONNX file ``path`` over ``inputs``, run in batches on the CPU."""
    session = ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    fixed = session.get_inputs()[0].shape[0]
    size = fixed if isinstance(fixed, int) else batch
    outputs = []
    for start in range(0, len(inputs), size):
        chunk = np.ascontiguousarray(inputs[start:start + size], dtype=np.float32)
        count = len(chunk)
        if count < size and isinstance(fixed, int):  # a fixed-batch file: pad the last batch
            chunk = np.concatenate([chunk, np.zeros((size - count,) + chunk.shape[1:], np.float32)])
        outputs.append(session.run(None, {name: chunk})[0][:count])
    return np.concatenate(outputs).astype(np.float32)


def compare(reference, candidate, evaluation, label):
    """``{"inputs", "samples", "top1_agreement", "max_abs_error", ...}`` of two output arrays;
    accuracies (fraction) and the drop in points when ``evaluation`` has labels."""
    ref, out = reference.reshape(len(reference), -1), candidate.reshape(len(candidate), -1)
    result = {"inputs": evaluation.source, "samples": int(len(ref)),
              "top1_agreement": float(np.mean(ref.argmax(1) == out.argmax(1))),
              "max_abs_error": float(np.abs(ref - out).max()), "max_abs_fp32": float(np.abs(ref).max())}
    if evaluation.labels is not None:
        labels = np.asarray(evaluation.labels).reshape(-1)
        fp32 = float(np.mean(ref.argmax(1) == labels))
        ours = float(np.mean(out.argmax(1) == labels))
        result.update({"fp32_accuracy": fp32, f"{label}_accuracy": ours,
                       "accuracy_drop_points": round(100 * (fp32 - ours), 4)})
    return result


def fp16_tolerance(reference):
    """The FP16 agreement tolerance: ``FP16_RTOL * max(1, max|FP32 output|)``."""
    return FP16_RTOL * max(1.0, float(np.abs(reference).max()))
