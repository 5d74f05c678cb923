"""Lower-precision variants of an exported model: calibrated INT8 and FP16, verified and timed.

``model.onnx`` (FP32) -> ``model.int8.onnx`` (static QDQ quantization with onnxruntime,
calibrated on real inputs) and ``model.fp16.onnx`` (FP16 weights and compute, float32 inputs and
outputs). Modules, one job each:

- :mod:`.calibrate`: calibration samples (arrays or a folder through the manifest's preprocessing);
- :mod:`.convert`: ``quantize_int8``, ``convert_fp16`` and the BatchNorm rewrite before quantizing;
- :mod:`.plan`: ``PrecisionPlan``, which builds the variants inside an artifact folder
  (``export_artifact(..., precision=plan)``) and checks them against FP32 on real inputs;
- :mod:`.serving`: the variants' file names and a same-run latency comparison. Inference
  imports only this one, so it never loads the quantization tooling.
"""


from ..errors import PrecisionError  # noqa: F401  (re-exported: callers import it from here)
