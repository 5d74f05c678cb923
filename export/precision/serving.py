"""Serving precision variants: where each lives in an artifact folder, and how fast each runs.

An artifact folder holds ``model.onnx`` (FP32) and, when exported with ``--quantize int8`` or
``--precision fp16``, ``model.int8.onnx`` and ``model.fp16.onnx`` beside it; the manifest's
``variants`` block lists them with their sha256. Every variant takes and returns float32, so the
same preprocessing and the same Triton config serve all of them.

:func:`compare_latency` times loaded :class:`~export.deploy.runtime.OnnxModel` variants in one
process: each round runs every variant once on the same random batch, the order rotating each
round, so load from other processes falls on all variants alike; figures are percentiles over
rounds, and ``speedup`` is FP32's median over the variant's (> 1: faster than FP32).
"""
import os
import time

import numpy as np

from ..deploy.timing import random_batch
from ..errors import InvalidInputError

FP32, INT8, FP16 = "fp32", "int8", "fp16"
PRECISIONS = (FP32, INT8, FP16)
FILE_NAMES = {FP32: "model.onnx", INT8: "model.int8.onnx", FP16: "model.fp16.onnx"}
HOW_TO_EXPORT = {INT8: "--quantize int8", FP16: "--precision fp16"}


def check_precision(precision):
    """``precision`` itself when it is one of :data:`PRECISIONS`, else a ValueError naming them."""
    if precision not in PRECISIONS:
        raise InvalidInputError(f"unknown precision {precision!r}: choose from {', '.join(PRECISIONS)}")
    return precision


def artifact_folder(model):
    """The artifact folder of ``model`` (the folder itself, or the folder holding a model file)."""
    return model if os.path.isdir(model) else os.path.dirname(os.path.abspath(model))


def variant_path(model, precision):
    """The file of ``precision`` in ``model``'s artifact folder; a ValueError says how to export it."""
    path = os.path.join(artifact_folder(model), FILE_NAMES[check_precision(precision)])
    if not os.path.isfile(path):
        how = HOW_TO_EXPORT.get(precision, "")
        raise InvalidInputError(f"{artifact_folder(model)} has no {precision} model ({FILE_NAMES[precision]}); "
                         f"export it with tools/export.py {how}".rstrip())
    return path


def available(model):
    """The precisions whose files exist in ``model``'s artifact folder, in :data:`PRECISIONS` order."""
    folder = artifact_folder(model)
    return [p for p in PRECISIONS if os.path.isfile(os.path.join(folder, FILE_NAMES[p]))]


def compare_latency(models, batch_sizes, repeats=50, warmup=3, seed=0):
    """One row per (batch, precision): p50/p90/p99 ms, items/s and speed-up against FP32."""
    rng = np.random.default_rng(seed)
    names = list(models)
    rows = []
    for batch in batch_sizes:
        first = next(iter(models.values()))
        if hasattr(first, "random_batch"):  # a sequence model: token ids, lengths, states
            data = first.random_batch(batch, rng)
        else:
            data = random_batch(rng, batch, first.sample_shape)  # refuses a batch that will not fit
        for model in models.values():
            for _ in range(warmup):
                model.run(data)
        times = {name: np.empty(repeats) for name in names}
        for round_ in range(repeats):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                start = time.perf_counter()
                models[name].run(data)
                times[name][round_] = time.perf_counter() - start
        p50s = {name: float(np.median(t)) for name, t in times.items()}
        for name in names:
            p50, p90, p99 = np.percentile(times[name], [50, 90, 99]) * 1e3
            rows.append({"batch": batch, "precision": name, "p50_ms": p50, "p90_ms": p90, "p99_ms": p99,
                         "throughput": batch * 1e3 / p50, "runs": repeats,
                         "speedup": p50s[FP32] / p50s[name] if FP32 in p50s else None})
    return rows
