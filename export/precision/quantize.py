"""Static INT8 quantization of an exported ONNX file with onnxruntime.quantization.

QDQ format (QuantizeLinear/DequantizeLinear pairs around each quantized op, which ONNX Runtime
fuses into integer kernels), int8 weights per output channel, uint8 activations per tensor with
ranges calibrated on real inputs. ``keep_fp32`` names nodes to leave in float: ``"first"`` (the
first Conv/Gemm/MatMul, which sees the raw input), ``"last"`` (the last one: the classifier) and
node names of the FP32 graph.
"""
import os
import tempfile
import time

import onnx
from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from . import PrecisionError
from .calibrate import METHODS
from .layout import INT8
from .prepare import batchnorm_as_conv
from ..artifacts.io import atomic_path

COMPUTE_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
POSITIONS = ("first", "last")
DEFAULT_KEEP_FP32 = ()  # README "INT8 and FP16": what quantizing everything costs on digits


def quantize_int8(source, target, calibration, keep_fp32=DEFAULT_KEEP_FP32):
    """Write ``target``, an INT8 QDQ copy of the FP32 ONNX file ``source``, calibrated with
    ``calibration`` (a :class:`~export.precision.calibrate.Calibration`). Returns what the
    manifest records: the settings, the nodes kept in FP32 and the seconds it took."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hybridzoo-int8-") as tmp:
        prepared, quantized = os.path.join(tmp, "prepared.onnx"), os.path.join(tmp, "int8.onnx")
        # Symbolic shape inference (it needs sympy) helps models with dynamic shapes beyond the
        # batch axis; our graphs are static but for the batch, which onnx's own inference covers.
        quant_pre_process(source, prepared, skip_symbolic_shape=True)
        model = onnx.load(prepared)
        if batchnorm_as_conv(model):
            onnx.save(model, prepared)
        kept = fp32_nodes(model, keep_fp32)
        input_name = model.graph.input[0].name
        try:
            quantize_static(prepared, quantized, calibration.reader(input_name), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=METHODS[calibration.method], nodes_to_exclude=kept,
                            extra_options={"CalibStridedMinMax": 1})
        except Exception as err:  # onnxruntime raises many types (ValueError, RuntimeError, its own)
            raise PrecisionError(f"onnxruntime could not quantize {source}: "
                                 f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from err
        result = onnx.load(quantized)
    if not any(node.op_type == "QuantizeLinear" for node in result.graph.node):
        raise PrecisionError(f"{source}: no operator could be quantized (kept in FP32: {', '.join(kept) or 'none'}); "
                             "INT8 would gain nothing, export FP32 or FP16 instead")
    _stamp_metadata(result, onnx.load(source, load_external_data=False))
    with atomic_path(target) as tmp_target:
        onnx.save(result, tmp_target)
    return {"format": "QDQ", "weights": "int8, per output channel", "activations": "uint8, per tensor",
            "tool": "onnxruntime.quantization.quantize_static", "fp32_nodes": kept,
            "seconds": round(time.perf_counter() - started, 3)}


def fp32_nodes(model, keep):
    """Node names meant by ``keep`` (``first``/``last``/node names) in ``model``; unknown names raise."""
    compute = [node.name for node in model.graph.node if node.op_type in COMPUTE_OPS]
    names = {node.name for node in model.graph.node}
    kept = []
    for item in keep:
        if item in POSITIONS:
            if not compute:
                continue
            name = compute[0] if item == "first" else compute[-1]
        elif item in names:
            name = item
        else:
            raise ValueError(f"cannot keep {item!r} in FP32: not 'first', 'last' or a node of the graph "
                             f"(its Conv/Gemm/MatMul nodes: {', '.join(compute[:8])}{' ...' if len(compute) > 8 else ''})")
        if name not in kept:
            kept.append(name)
    return kept


def _stamp_metadata(model, source):
    """The FP32 file's metadata (model, preprocessing, labels) plus ``precision``."""
    props = {p.key: p.value for p in source.metadata_props}
    props["precision"] = INT8
    onnx.helper.set_model_props(model, props)
