"""Build the requested variants of an artifact's ``model.onnx`` and check each against FP32.

``export_artifact(net, out, precision=PrecisionPlan(int8=True, calibration=...))`` calls
:meth:`PrecisionPlan.write` inside its staging folder, so the variants land with the rest of the
artifact or not at all. What the checks compare on:

- ``evaluation`` given (a labelled test split: trained weights): FP32 and variant accuracy, their
  top-1 agreement and max error;
- otherwise up to ``CHECK_SAMPLES`` calibration-style inputs (the calibration pool), or seeded
  random inputs for FP16 without calibration data: agreement and max error, with a warning that
  accuracy is not judged.

Without labels the figures say how far a variant moved from FP32, not whether it is still
right. INT8 is a trade and its figures are reported; FP16 must agree with FP32 within
:data:`FP16_RTOL` of the output scale, else :class:`PrecisionError`. :func:`format_variants`
turns the results into the lines tools/export.py prints.
"""
import os
from dataclasses import dataclass
from typing import Optional

import numpy as np
import onnx
import onnxruntime as ort

from . import PrecisionError
from .calibrate import Calibration, select
from .convert import DEFAULT_KEEP_FP32, convert_fp16, quantize_int8
from .dynamic import DYNAMIC, METHODS, STATIC, choose_method, quantize_dynamic_int8
from .sequence import PERPLEXITY_WARN_PERCENT, FeedEvaluation
from .serving import FILE_NAMES, FP16, FP32, INT8
from ..files.io import sha256_file
from ..deploy.feeds import input_roles, random_feeds
from ..deploy.runtime import session_options
from ..errors import InvalidInputError

CHECK_SAMPLES = 64  # calibration-style inputs compared when there is no labelled test split
RANDOM_SAMPLES = 16  # seeded random inputs for FP16 when there are no real ones
RANDOM_SEQUENCES, RANDOM_STEPS = 64, 32  # seeded random sequences for a multi-input graph without data
INT8_DROP_WARN_POINTS = 0.5  # warn when INT8 loses more test accuracy than this
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


@dataclass
class PrecisionPlan:
    """Which variants to write, with their calibration and evaluation data. ``method``: INT8 by
    static (calibrated) or dynamic quantization; None chooses from the graph
    (:func:`~export.precision.dynamic.choose_method`). ``calibration_hint``: why there is no
    calibration data (e.g. "the imagenet dataset is not available here"), for the error static
    quantization then raises. ``evaluation``: an :class:`Evaluation` (one image input) or an
    object with ``check(fp32_path, path, precision)`` (:mod:`.sequence`)."""

    int8: bool = False
    fp16: bool = False
    calibration: Optional[Calibration] = None
    keep_fp32: tuple = DEFAULT_KEEP_FP32
    evaluation: Optional[object] = None
    trained: Optional[bool] = None
    method: Optional[str] = None
    calibration_hint: Optional[str] = None

    def __post_init__(self):
        if self.method not in (None,) + METHODS:
            raise InvalidInputError(f"unknown quantization method {self.method!r}: choose from {', '.join(METHODS)}")

    @property
    def precisions(self):
        return [p for p, wanted in ((INT8, self.int8), (FP16, self.fp16)) if wanted]

    def write(self, folder, source_name=FILE_NAMES[FP32], check=True):
        """Write the variants beside ``folder/source_name``; return ``(manifest entries, check reports)``."""
        source = os.path.join(folder, source_name)
        entries, checks = {}, {}
        method, reason = self._method(source) if self.int8 else (None, None)
        evaluation = self._evaluation(source) if check else None
        reference = run_file(source, evaluation.inputs) if check and isinstance(evaluation, Evaluation) else None
        for precision in self.precisions:
            target = os.path.join(folder, FILE_NAMES[precision])
            if precision == INT8 and method == DYNAMIC:
                info = dict(quantize_dynamic_int8(source, target, self.keep_fp32), method_reason=reason)
            elif precision == INT8:
                info = dict(quantize_int8(source, target, self.calibration, self.keep_fp32), method=STATIC,
                            method_reason=reason, calibration=self.calibration.record())
            else:
                info = convert_fp16(source, target)
            entries[precision] = dict(_files(folder, precision, source_name), **info)
            if check:
                # dynamic ranges span the batch: judge one input per run, as a single request is served
                batch = 1 if precision == INT8 and method == DYNAMIC else EVAL_BATCH
                checks[precision] = self._check(precision, target, reference, evaluation, source, batch)
        return entries, checks

    def _method(self, source):
        """``(method, why)``; static without calibration data raises an InvalidInputError naming what the
        graph needs (images for one image input; for token ids and the like: dynamic, nothing)."""
        model = onnx.load(source, load_external_data=False)
        method, reason = (self.method, "chosen (--quantize-method)") if self.method else choose_method(model)
        if method == STATIC and self.calibration is None:
            roles = input_roles(model)
            if len(roles) == 1 and len(roles[0].dims) == 4:
                raise InvalidInputError(f"no calibration data{': ' + self.calibration_hint if self.calibration_hint else ''}; "
                                 "pass --calib DIR with a few hundred of the model's training images (or "
                                 "preprocessed .npy arrays)")
            raise InvalidInputError(f"static INT8 calibrates one image input, and this model takes {len(roles)} "
                             f"({', '.join(f'{r.name}: {r.role}' for r in roles)}); sequence models are quantized "
                             "dynamically: use --quantize-method dynamic (the default for graphs without "
                             "convolutions), which needs no calibration data")
        return method, reason

    def _evaluation(self, source):
        if self.evaluation is not None:
            return self.evaluation
        roles = input_roles(source)
        if len(roles) > 1 or roles[0].role != "tensor":  # token ids, lengths, states: all fed
            feeds = random_feeds(roles, RANDOM_SEQUENCES, RANDOM_STEPS)
            return FeedEvaluation(feeds, f"seeded random inputs ({RANDOM_SEQUENCES} x {RANDOM_STEPS} steps; "
                                         "no real data given)")
        if self.calibration is not None:
            pool = self.calibration.pool
            inputs = pool[select(len(pool), CHECK_SAMPLES, seed=1)]
            return Evaluation(inputs, f"calibration-style inputs ({self.calibration.source})")
        shape = _sample_shape(source)
        inputs = np.random.default_rng(0).standard_normal((RANDOM_SAMPLES,) + shape).astype(np.float32)
        return Evaluation(inputs, "seeded standard-normal inputs (no real data given)")

    def _check(self, precision, path, reference, evaluation, source, batch=EVAL_BATCH):
        if isinstance(evaluation, Evaluation):
            result = dict(compare(reference, run_file(path, evaluation.inputs, batch), evaluation, precision), batch=batch)
        else:
            result = evaluation.check(source, path, precision)
        result.update(file=FILE_NAMES[precision], warning=None)
        if precision == FP16:
            result["tolerance"] = FP16_RTOL * max(1.0, result["max_abs_fp32"])
            result["passed"] = result["max_abs_error"] <= result["tolerance"]
            if not result["passed"]:
                raise PrecisionError(f"{FILE_NAMES[FP16]} disagrees with FP32 (max error {result['max_abs_error']:.3g} > "
                                     f"tolerance {result['tolerance']:.3g} on {evaluation.source}); nothing was "
                                     "written. Please report it with the model name and options")
        if "perplexity_change_percent" in result:
            if result["perplexity_change_percent"] > PERPLEXITY_WARN_PERCENT and precision == INT8:
                result["warning"] = (f"INT8 raises held-out perplexity by {result['perplexity_change_percent']:.2f} % "
                                     f"(limit {PERPLEXITY_WARN_PERCENT} %); try keeping layers in FP32 (--keep-fp32)")
            elif self.trained is False:
                result["warning"] = "untrained weights: perplexity cannot be judged; train the model for a meaningful check"
        elif getattr(evaluation, "labels", None) is None:
            result["warning"] = ("untrained weights: accuracy cannot be judged; train the model "
                                 "(tools/train.py) for a meaningful check" if self.trained is False else
                                 "no labelled test split for this data: accuracy not measured")
        elif result["accuracy_drop_points"] > INT8_DROP_WARN_POINTS and precision == INT8:
            result["warning"] = (f"INT8 loses {result['accuracy_drop_points']:.2f} points of test accuracy; try "
                                 + ("keeping layers in FP32 (--keep-fp32)" if "relative_error" in result else
                                    "another calibration method, more samples, or keeping layers in FP32"))
        return result


def _files(folder, precision, source_name):
    path, source = os.path.join(folder, FILE_NAMES[precision]), os.path.join(folder, source_name)
    return {"file": FILE_NAMES[precision], "precision": precision, "sha256": sha256_file(path),
            "bytes": os.path.getsize(path), "source": {"file": source_name, "sha256": sha256_file(source)}}


def _sample_shape(path):
    dims = onnx.load(path, load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    return tuple(d.dim_value or 1 for d in dims[1:])


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


def format_variants(variants, checks):
    """``(lines, warnings)`` from the manifest's ``variants`` and the report's ``precision`` block;
    a warning shared by several variants (untrained weights) is given once."""
    lines, warnings = [], {}
    for precision, entry in (variants or {}).items():
        how = entry.get("calibration")
        detail = ""
        kept = ", ".join(entry.get("fp32_nodes") or []) or "none"
        if how:
            detail = (f": {how['method']} on {how['samples']} of {how['pool']} samples ({how['source']}); "
                      f"FP32 layers: {kept}")
        elif entry.get("method") == DYNAMIC:
            ops = lambda counts: ", ".join(f"{op} x{n}" for op, n in counts.items()) or "none"
            detail = (f": dynamic (nothing calibrated); int8 {ops(entry['quantized'])}; FP32 ops "
                      f"{ops(entry['fp32'])}; FP32 layers: {kept}")
        lines.append(f"{precision:<5} {entry['file']}{detail} ({entry['seconds']:.1f} s)")
        check = (checks or {}).get(precision)
        if check is None:
            continue
        row = f"      {check['inputs']}, {check['samples']} samples:"
        if "fp32_accuracy" in check:
            row += (f" accuracy fp32 {check['fp32_accuracy']:.4f} -> {precision} {check[f'{precision}_accuracy']:.4f}"
                    f" ({0.0 - check['accuracy_drop_points']:+.2f} points),")
        if "fp32_perplexity" in check:
            row += (f" perplexity fp32 {check['fp32_perplexity']:.4f} -> {precision} "
                    f"{check[f'{precision}_perplexity']:.4f} ({check['perplexity_change_percent']:+.2f} %),")
        row += f" top-1 agreement {check['top1_agreement']:.4f}, max |err| {check['max_abs_error']:.2e}"
        if "relative_error" in check:
            row += f", relative error {check['relative_error']:.2e}"
        if "tolerance" in check:
            row += f" (tolerance {check['tolerance']:.1e}: {'pass' if check['passed'] else 'FAIL'})"
        lines.append(row)
        if len(check.get("outputs") or ()) > 1:
            lines.append("      per output: " + "; ".join(f"{name} top-1 {o['top1_agreement']:.4f}, relative error "
                                                        f"{o['relative_error']:.2e}" for name, o in check["outputs"].items()))
        if check.get("warning"):
            warnings.setdefault(check["warning"], []).append(precision)
    return lines, [f"{', '.join(names)}: {text}" for text, names in warnings.items()]
