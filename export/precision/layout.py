"""Where each precision variant of an artifact lives, and how inference finds it.

An artifact folder holds ``model.onnx`` (FP32) and, when exported with ``--quantize int8`` or
``--precision fp16``, ``model.int8.onnx`` and ``model.fp16.onnx`` beside it; the manifest's
``variants`` block lists them with their sha256. Every variant takes and returns float32, so the
same preprocessing and the same Triton config serve all of them.
"""
import os

FP32, INT8, FP16 = "fp32", "int8", "fp16"
PRECISIONS = (FP32, INT8, FP16)
FILE_NAMES = {FP32: "model.onnx", INT8: "model.int8.onnx", FP16: "model.fp16.onnx"}
HOW_TO_EXPORT = {INT8: "--quantize int8", FP16: "--precision fp16"}


def check_precision(precision):
    """``precision`` itself when it is one of :data:`PRECISIONS`, else a ValueError naming them."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: choose from {', '.join(PRECISIONS)}")
    return precision


def artifact_folder(model):
    """The artifact folder of ``model`` (the folder itself, or the folder holding a model file)."""
    return model if os.path.isdir(model) else os.path.dirname(os.path.abspath(model))


def variant_path(model, precision):
    """The file of ``precision`` in ``model``'s artifact folder; a ValueError says how to export it."""
    path = os.path.join(artifact_folder(model), FILE_NAMES[check_precision(precision)])
    if not os.path.isfile(path):
        how = HOW_TO_EXPORT.get(precision, "")
        raise ValueError(f"{artifact_folder(model)} has no {precision} model ({FILE_NAMES[precision]}); "
                         f"export it with tools/export.py {how}".rstrip())
    return path


def available(model):
    """The precisions whose files exist in ``model``'s artifact folder, in :data:`PRECISIONS` order."""
    folder = artifact_folder(model)
    return [p for p in PRECISIONS if os.path.isfile(os.path.join(folder, FILE_NAMES[p]))]
