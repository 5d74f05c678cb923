"""Lower-precision variants of an exported model: calibrated INT8 and FP16, verified and timed.

``model.onnx`` (FP32) -> ``model.int8.onnx`` (with onnxruntime: static QDQ quantization
calibrated on real inputs for graphs with convolutions, dynamic quantization otherwise) and
``model.fp16.onnx`` (FP16 weights and compute, float32 inputs and outputs). Modules, one job each:

- :mod:`.calibrate`: calibration samples (arrays or a folder through the manifest's preprocessing);
- :mod:`.convert`: ``quantize_int8``, ``convert_fp16`` and the BatchNorm rewrite before quantizing;
- :mod:`.dynamic`: ``quantize_dynamic_int8`` (int8 weights, activations quantized at run time:
  transformers, recurrent nets, MLPs) and ``choose_method``, static or dynamic from the graph;
- :mod:`.sequence`: judging a sequence model's variant: accuracy / agreement with all its
  inputs fed, or a language model's held-out perplexity;
- :mod:`.plan`: ``PrecisionPlan``, which builds the variants inside an artifact folder
  (``export_artifact(..., precision=plan)``) and checks them against FP32 on real inputs;
- :mod:`.serving`: the variants' file names and a same-run latency comparison. Inference
  imports only this one, so it never loads the quantization tooling.
"""


from ..errors import PrecisionError  # noqa: F401  (re-exported: callers import it from here)
