"""Lower-precision variants of an exported model: calibrated INT8 and FP16, verified and timed.

``model.onnx`` (FP32) -> ``model.int8.onnx`` (:func:`quantize_int8`: static QDQ quantization
with onnxruntime, calibrated on real inputs) and ``model.fp16.onnx`` (:func:`convert_fp16`:
FP16 weights and compute, float32 inputs and outputs). :class:`PrecisionPlan` builds them inside
an artifact folder and checks them against FP32 (``export_artifact(..., precision=plan)``);
:mod:`.speed` times variants against each other. Modules load lazily, so inference (which
only needs :mod:`.layout`) does not import the quantization tooling.
"""
import importlib

_LAZY = {"quantize_int8": ".quantize", "convert_fp16": ".fp16", "Calibration": ".calibrate",
         "from_folder": ".calibrate", "Evaluation": ".plan", "PrecisionPlan": ".plan",
         "compare_latency": ".speed"}

__all__ = sorted(_LAZY) + ["PrecisionError"]


class PrecisionError(RuntimeError):
    """A variant could not be made, or disagrees with FP32 beyond its precision's tolerance."""


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
