"""FP16 copy of an exported ONNX file: half-precision weights and compute, float32 inputs and outputs.

onnxconverter-common's ``convert_float_to_float16`` with ``keep_io_types=True`` casts the input
to float16 after the graph input and the output back to float32 before the graph output, so
callers, preprocessing and the Triton config stay exactly as for FP32. Meant for GPU serving: on
a CPU, ONNX Runtime runs many float16 ops through float32 fallbacks.
"""
import time
import warnings

import onnx
from onnxconverter_common import float16

from .layout import FP16
from ..artifacts.io import atomic_path


def convert_fp16(source, target):
    """Write ``target``, the FP16 copy of the FP32 ONNX file ``source``; return what the manifest records."""
    started = time.perf_counter()
    model = onnx.load(source)
    props = {p.key: p.value for p in model.metadata_props}
    with warnings.catch_warnings():
        # One warning per weight below float16's smallest normal or above 1e4, which the converter
        # clamps into range (by design: that is the conversion); the check against FP32 judges it.
        warnings.simplefilter("ignore", UserWarning)
        converted = float16.convert_float_to_float16(model, keep_io_types=True)
    props["precision"] = FP16
    onnx.helper.set_model_props(converted, props)
    onnx.checker.check_model(converted)
    with atomic_path(target) as tmp:
        onnx.save(converted, tmp)
    return {"weights": "float16", "inputs_outputs": "float32 (Cast at the graph boundary)",
            "tool": "onnxconverter_common.float16.convert_float_to_float16(keep_io_types=True)",
            "seconds": round(time.perf_counter() - started, 3)}
