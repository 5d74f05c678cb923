"""Time precision variants against each other in one process, interleaved, on the same threads.

``compare_latency({"fp32": model, "int8": model8}, [1, 32])`` takes loaded
:class:`~export.deploy.runtime.OnnxModel` objects. Each round runs every variant once on the
same random batch, the order rotating each round, so load from other processes falls on all
variants alike; figures are percentiles over rounds, and ``speedup`` is FP32's median over the
variant's (> 1: faster than FP32).
"""
import time

import numpy as np

from .layout import FP32


def compare_latency(models, batch_sizes, repeats=50, warmup=3, seed=0):
    """One row per (batch, precision): p50/p90/p99 ms, items/s and speed-up against FP32."""
    rng = np.random.default_rng(seed)
    names = list(models)
    rows = []
    for batch in batch_sizes:
        shape = (batch,) + tuple(next(iter(models.values())).sample_shape)
        data = rng.standard_normal(shape).astype(np.float32)
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
