"""Dynamic INT8 quantization for transformers, recurrent nets and MLPs: nothing to calibrate.

:func:`quantize_dynamic_int8` writes an INT8 copy of an FP32 ONNX file with onnxruntime's
``quantize_dynamic``: the weights of MatMul (per output column) and LSTM become int8 once, and
each activation feeding them is quantized at run time by a ``DynamicQuantizeLinear`` (uint8, its
range measured on the tensor itself), which ONNX Runtime fuses with the integer MatMul
(``DynamicQuantizeMatMul``). Our exporter writes a Dense layer as ``Gemm``; onnxruntime's dynamic
mode rewrites each plain Gemm as ``<name>_MatMul`` + ``<name>_Add`` and quantizes the MatMul.

Left in FP32 by design: embeddings (``Gather``: a table lookup gains nothing from int8, and its
rows are what the model is most sensitive to), LayerNormalization, Softmax, MatMuls of two
activations (attention scores), and ops onnxruntime cannot quantize dynamically (GRU, RNN). The
manifest records what was quantized and what stayed FP32 (:func:`op_summary`).

:func:`choose_method` picks static (calibrated QDQ) or dynamic quantization from the graph alone,
so zoo models, GluonNLP nets and user checkpoints get the same rule.
"""
import os
import tempfile
import time
from collections import Counter

import onnx

from . import PrecisionError

STATIC, DYNAMIC = "static", "dynamic"
METHODS = (STATIC, DYNAMIC)
CONV_OPS = ("Conv", "ConvTranspose")
DYNAMIC_OPS = ("MatMul", "LSTM")  # what onnxruntime's dynamic mode quantizes that pays off on CPU
INTEGER_OPS = ("DynamicQuantizeLSTM", "MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat")
FLOAT_OPS = ("Gather (embedding)", "LayerNormalization", "Softmax", "MatMul (two activations)", "MatMul", "Gemm",
             "GRU", "RNN", "LSTM", "Conv")


def choose_method(model):
    """``(method, reason)`` for an ``onnx.ModelProto``: static for graphs with convolutions
    (their activations have stable ranges a few hundred inputs calibrate), dynamic otherwise
    (transformers, recurrent nets, MLPs: ranges vary per input, and nothing needs calibrating)."""
    ops = {node.op_type for node in model.graph.node}
    if ops & set(CONV_OPS):
        return STATIC, "the graph has convolutions: static QDQ, calibrated"
    return DYNAMIC, "no convolutions (a transformer, recurrent net or MLP): dynamic, nothing to calibrate"


def quantize_dynamic_int8(source, target, keep_fp32=()):
    """Write ``target``, a dynamically quantized INT8 copy of the FP32 ONNX file ``source``;
    ``keep_fp32`` names nodes (of the FP32 graph, or ``first``/``last`` MatMul/Gemm) left in float.
    Returns what the manifest records."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from .convert import fp32_nodes, stamp_metadata
    from .serving import INT8
    from ..files.io import atomic_path

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hybridzoo-int8-") as tmp:
        prepared, quantized = os.path.join(tmp, "prepared.onnx"), os.path.join(tmp, "int8.onnx")
        # onnxruntime's basic optimizations fold the weights our exporter computes in the graph
        # (an LSTM's W and R are slices of one flat parameter): quantize_dynamic needs them constant.
        quant_pre_process(source, prepared, skip_symbolic_shape=True)
        model = onnx.load(prepared)
        props = {p.key: p.value for p in model.metadata_props if not p.key.startswith("onnx.quant")}
        kept = fp32_nodes(model, keep_fp32)
        before = Counter(_op_kind(node, model) for node in model.graph.node)
        del model
        try:  # a Gemm becomes <name>_MatMul inside quantize_dynamic: exclude it under both names
            quantize_dynamic(prepared, quantized, op_types_to_quantize=list(DYNAMIC_OPS), per_channel=True,
                             weight_type=QuantType.QInt8, nodes_to_exclude=kept + [f"{n}_MatMul" for n in kept],
                             extra_options={"MatMulConstBOnly": True})
        except Exception as err:  # onnxruntime raises many types
            raise PrecisionError(f"onnxruntime could not quantize {source} dynamically: "
                                 f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from err
        result = onnx.load(quantized)
    summary = op_summary(before, result)
    if not summary["quantized"]:
        raise PrecisionError(f"{source}: no MatMul, Gemm or LSTM with constant weights could be quantized (kept in "
                             f"FP32: {', '.join(kept) or 'none'}); INT8 would gain nothing, export FP32 or FP16 instead")
    stamp_metadata(result, props, INT8)
    with atomic_path(target) as tmp_target:
        onnx.save(result, tmp_target)
    return {"method": DYNAMIC, "format": "IntegerOps (dynamic)", "weights": "int8, per output channel",
            "activations": "uint8, quantized at run time (DynamicQuantizeLinear)",
            "tool": "onnxruntime.quantization.quantize_dynamic",
            **summary, "fp32_nodes": kept, "seconds": round(time.perf_counter() - started, 3)}


def op_summary(before, quantized):
    """``{"quantized": {op: count}, "fp32": {op: count}}``: the FP32 ops that became integer
    kernels, and those of :data:`FLOAT_OPS` left in float (embeddings, LayerNorm, softmax...)."""
    after = Counter(_op_kind(node, quantized) for node in quantized.graph.node)
    integer = {"MatMul": after["MatMulInteger"] + after["DynamicQuantizeMatMul"] + after["MatMulIntegerToFloat"],
               "LSTM": after["DynamicQuantizeLSTM"]}
    return {"quantized": {op: n for op, n in integer.items() if n},
            "fp32": {op: after[op] for op in FLOAT_OPS if after[op] and before[op]}}


def _op_kind(node, model):
    """The op type, with a Gather from a constant table (an embedding) told apart from index
    arithmetic (a Gather of shape values), and a MatMul of two activations (attention scores)
    from one with a weight."""
    if node.op_type in ("Gather", "MatMul"):
        constants = {t.name for t in model.graph.initializer}
        if node.op_type == "Gather":
            return "Gather (embedding)" if node.input[0] in constants else "Gather"
        return "MatMul" if node.input[1] in constants else "MatMul (two activations)"
    return node.op_type
