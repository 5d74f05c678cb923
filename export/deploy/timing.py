"""What timing a model needs: random input batches that fit in memory, and wall-clock runs."""
import os
import time

import numpy as np

from ..errors import InvalidInputError


def available_memory():
    """Bytes a new allocation can get without swapping (Linux MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def random_batch(rng, batch, sample_shape):
    """A float32 ``(batch, *sample_shape)`` batch of standard normal values; refused (one line) when
    the input and as much again for the model's work would not fit in the memory available."""
    needed, available = 2 * 4 * batch * int(np.prod(sample_shape)), available_memory()
    if available is not None and needed > available:
        largest = max(1, batch * available // needed)
        raise InvalidInputError(f"batch {batch} needs at least {needed / 1e9:.1f} GB (its input and as much again "
                                f"for the model), more than the {available / 1e9:.1f} GB of memory available; "
                                f"use batches under {largest}")
    return rng.standard_normal((batch,) + tuple(sample_shape), dtype=np.float32)


def time_calls(fn, repeats, warmup=0):
    """Wall time in seconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return times
