"""Convert an exported FP32 ONNX file into its INT8 and FP16 variants.

:func:`quantize_int8`: static quantization with onnxruntime.quantization. QDQ format
(QuantizeLinear/DequantizeLinear pairs around each quantized op, which ONNX Runtime fuses into
integer kernels), int8 weights per output channel, uint8 activations per tensor with ranges
calibrated on real inputs. ``keep_fp32`` names nodes to leave in float: ``"first"`` (the first
Conv/Gemm/MatMul, which sees the raw input), ``"last"`` (the last one: the classifier) and node
names of the FP32 graph.

:func:`batchnorm_as_conv` runs first. ONNX Runtime has no integer BatchNormalization, and a
BatchNormalization our exporter could not fold into a preceding layer (DenseNet's pre-activation
BN after a Concat) would stay in float, wrapped in Dequantize/Quantize and layout transposes
that cost more than the convolutions gain (DenseNet-121: INT8 1.3x faster instead of 2.3x). As a
1x1 depthwise convolution with BN's folded per-channel scale and shift it quantizes like any
Conv: one weight per channel, quantized per channel, hence exactly; the shift is the bias.
(ONNX Runtime's FP32 NCHWc optimizer makes the same rewrite.)

:func:`convert_fp16`: onnxconverter-common's ``convert_float_to_float16`` with
``keep_io_types=True``, which casts the input to float16 after the graph input and the output
back to float32 before the graph output, so callers, preprocessing and the Triton config stay
as for FP32. Meant for GPU serving; its speed on a GPU is untested here.
"""
import os
import tempfile
import time
import warnings

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnxconverter_common import float16
from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from . import PrecisionError
from .calibrate import METHODS
from .serving import FP16, INT8
from ..files.io import atomic_path
from ..errors import InvalidInputError

COMPUTE_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
POSITIONS = ("first", "last")
DEFAULT_KEEP_FP32 = ()  # docs/precision.md: what quantizing everything costs on digits


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
        fixed_batch = model.graph.input[0].type.tensor_type.shape.dim[0].dim_value or None
        props = {p.key: p.value for p in model.metadata_props if not p.key.startswith("onnx.quant")}
        del model  # the FP32 weights, once more (VGG-11: 0.5 GB) while onnxruntime calibrates
        try:
            quantize_static(prepared, quantized, calibration.reader(input_name, fixed_batch), quant_format=QuantFormat.QDQ,
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
    stamp_metadata(result, props, INT8)
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
            raise InvalidInputError(f"cannot keep {item!r} in FP32: not 'first', 'last' or a node of the graph "
                             f"(its Conv/Gemm/MatMul nodes: {', '.join(compute[:8])}{' ...' if len(compute) > 8 else ''})")
        if name not in kept:
            kept.append(name)
    return kept


def stamp_metadata(model, props, precision):
    """The FP32 file's metadata ``props`` (model, preprocessing, labels) plus ``precision``."""
    helper.set_model_props(model, dict(props, precision=precision))


def batchnorm_as_conv(model):
    """Rewrite, in place, every BatchNormalization on a 4-D input with constant parameters as a
    1×1 depthwise Conv; return how many were rewritten."""
    graph = model.graph
    constants = {t.name: t for t in graph.initializer}
    ranks = _ranks(model)
    rewritten = 0
    for index, node in enumerate(graph.node):
        if node.op_type != "BatchNormalization" or len(node.output) != 1 or ranks.get(node.input[0]) != 4:
            continue
        if not all(name in constants for name in node.input[1:5]):
            continue
        gamma, beta, mean, var = (numpy_helper.to_array(constants[n]).astype(np.float64) for n in node.input[1:5])
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        scale = gamma / np.sqrt(var + eps)
        weight, bias = f"{node.name or node.output[0]}_as_conv_weight", f"{node.name or node.output[0]}_as_conv_bias"
        graph.initializer.extend([
            numpy_helper.from_array(scale.reshape(-1, 1, 1, 1).astype(np.float32), weight),
            numpy_helper.from_array((beta - mean * scale).astype(np.float32), bias)])
        conv = helper.make_node("Conv", [node.input[0], weight, bias], list(node.output), name=node.name,
                                group=len(scale), kernel_shape=[1, 1])
        graph.node.remove(node)
        graph.node.insert(index, conv)
        rewritten += 1
    _drop_unused_initializers(graph)
    return rewritten


def _ranks(model):
    inferred = onnx.shape_inference.infer_shapes(model)
    values = list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
    return {v.name: len(v.type.tensor_type.shape.dim) for v in values if v.type.tensor_type.HasField("shape")}


def _drop_unused_initializers(graph):
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


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
    stamp_metadata(converted, props, FP16)
    onnx.checker.check_model(converted)
    with atomic_path(target) as tmp:
        onnx.save(converted, tmp)
    return {"weights": "float16", "inputs_outputs": "float32 (Cast at the graph boundary)",
            "tool": "onnxconverter_common.float16.convert_float_to_float16(keep_io_types=True)",
            "seconds": round(time.perf_counter() - started, 3)}
