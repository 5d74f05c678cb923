"""Give MXNet every core unless the user already chose.

MXNet 1.9.1 assumes hyper-threading and starts half the cores as OpenMP threads
(one of two here: ResNet-18 at batch 1 takes 47.5 ms instead of 25.2 ms), while
ONNX Runtime uses them all. OpenMP reads its settings when libmxnet loads, so
this must run before the first ``import mxnet``.

Override: set ``OMP_NUM_THREADS`` (or any ``MXNET_OMP_MAX_THREADS``) yourself,
or ``HYBRIDZOO_NO_THREADS=1`` to leave MXNet's default alone.
"""
import os
import sys
import warnings

_USER_SETTINGS = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "HYBRIDZOO_NO_THREADS")


def available_cores():
    """Cores this process may run on (respects taskset / cgroup affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def configure_threads():
    """Set OMP_NUM_THREADS to all cores before MXNet loads; return the count set, or None."""
    if any(key in os.environ for key in _USER_SETTINGS):
        return None
    if "mxnet" in sys.modules:
        warnings.warn(
            "mxnet was imported before hybridzoo, so it keeps its default of half the cores; "
            "import hybridzoo first or set OMP_NUM_THREADS before starting Python.",
            stacklevel=3,
        )
        return None
    cores = available_cores()
    os.environ["OMP_NUM_THREADS"] = str(cores)
    return cores
