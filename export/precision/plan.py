"""Build the requested variants of an artifact's ``model.onnx`` and check each against FP32.

``export_artifact(net, out, precision=PrecisionPlan(int8=True, calibration=...))`` calls
:meth:`PrecisionPlan.write` inside its staging folder, so the variants land with the rest of the
artifact or not at all. What the checks compare on:

- ``evaluation`` given (a labelled test split: trained weights): FP32 and variant accuracy, their
  top-1 agreement and max error;
- otherwise up to ``CHECK_SAMPLES`` calibration-style inputs (the calibration pool), or seeded
  random inputs for FP16 without calibration data: agreement and max error, with a warning that
  accuracy is not judged.

INT8 is a trade and its figures are reported; FP16 must agree with FP32 within
:data:`~export.precision.evaluate.FP16_RTOL` of the output scale, else :class:`PrecisionError`.
"""
import os
from dataclasses import dataclass
from typing import Optional

import numpy as np
import onnx

from . import PrecisionError
from .calibrate import Calibration, select
from .evaluate import Evaluation, compare, fp16_tolerance, run_file
from .fp16 import convert_fp16
from .layout import FILE_NAMES, FP16, FP32, INT8
from .quantize import DEFAULT_KEEP_FP32, quantize_int8
from ..artifacts.io import sha256_file

CHECK_SAMPLES = 64  # calibration-style inputs compared when there is no labelled test split
RANDOM_SAMPLES = 16  # seeded random inputs for FP16 when there are no real ones
INT8_DROP_WARN_POINTS = 0.5  # warn when INT8 loses more test accuracy than this


@dataclass
class PrecisionPlan:
    """Which variants to write, with their calibration and evaluation data."""

    int8: bool = False
    fp16: bool = False
    calibration: Optional[Calibration] = None
    keep_fp32: tuple = DEFAULT_KEEP_FP32
    evaluation: Optional[Evaluation] = None
    trained: Optional[bool] = None

    def __post_init__(self):
        if self.int8 and self.calibration is None:
            raise ValueError("INT8 quantization needs calibration data: the model's training split or "
                             "a folder of its input images / .npy files")

    @property
    def precisions(self):
        return [p for p, wanted in ((INT8, self.int8), (FP16, self.fp16)) if wanted]

    def write(self, folder, source_name=FILE_NAMES[FP32], check=True):
        """Write the variants beside ``folder/source_name``; return ``(manifest entries, check reports)``."""
        source = os.path.join(folder, source_name)
        entries, checks = {}, {}
        evaluation = self._evaluation(source) if check else None
        reference = run_file(source, evaluation.inputs) if check else None
        for precision in self.precisions:
            target = os.path.join(folder, FILE_NAMES[precision])
            if precision == INT8:
                info = quantize_int8(source, target, self.calibration, self.keep_fp32)
                info["calibration"] = self.calibration.record()
            else:
                info = convert_fp16(source, target)
            entries[precision] = dict(_files(folder, precision, source_name), **info)
            if check:
                checks[precision] = self._check(precision, target, reference, evaluation)
        return entries, checks

    def _evaluation(self, source):
        if self.evaluation is not None:
            return self.evaluation
        if self.calibration is not None:
            pool = self.calibration.pool
            inputs = pool[select(len(pool), CHECK_SAMPLES, seed=1)]
            return Evaluation(inputs, f"calibration-style inputs ({self.calibration.source})")
        shape = _sample_shape(source)
        inputs = np.random.default_rng(0).standard_normal((RANDOM_SAMPLES,) + shape).astype(np.float32)
        return Evaluation(inputs, "seeded standard-normal inputs (no real data given)")

    def _check(self, precision, path, reference, evaluation):
        result = dict(compare(reference, run_file(path, evaluation.inputs), evaluation, precision),
                      file=FILE_NAMES[precision], warning=None)
        if precision == FP16:
            result["tolerance"] = fp16_tolerance(reference)
            result["passed"] = result["max_abs_error"] <= result["tolerance"]
            if not result["passed"]:
                raise PrecisionError(f"{FILE_NAMES[FP16]} disagrees with FP32 (max error {result['max_abs_error']:.3g} > "
                                     f"tolerance {result['tolerance']:.3g} on {evaluation.source}); nothing was "
                                     "written. Please report it with the model name and options")
        if evaluation.labels is None:
            result["warning"] = ("untrained weights: accuracy cannot be judged; train the model "
                                 "(tools/train.py) for a meaningful check" if self.trained is False else
                                 "no labelled test split for this data: accuracy not measured")
        elif result["accuracy_drop_points"] > INT8_DROP_WARN_POINTS and precision == INT8:
            result["warning"] = (f"INT8 loses {result['accuracy_drop_points']:.2f} points of test accuracy; try "
                                 "another calibration method, more samples, or keeping layers in FP32")
        return result


def _files(folder, precision, source_name):
    path, source = os.path.join(folder, FILE_NAMES[precision]), os.path.join(folder, source_name)
    return {"file": FILE_NAMES[precision], "precision": precision, "sha256": sha256_file(path),
            "bytes": os.path.getsize(path), "source": {"file": source_name, "sha256": sha256_file(source)}}


def _sample_shape(path):
    dims = onnx.load(path, load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    return tuple(d.dim_value or 1 for d in dims[1:])
