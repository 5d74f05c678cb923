"""Give MXNet every core, with OpenMP threads that sleep while they wait, unless the user chose.

MXNet 1.9.1 assumes hyper-threading and starts half the cores as OpenMP threads
(one of two here: ResNet-18 at batch 1 takes 47.5 ms instead of 25.2 ms), while
ONNX Runtime uses them all. Its OpenMP threads spin while they wait for work, which on a
machine with other busy processes made training 6-19x slower (lenet_bn epoch: 18.6-47.9 s
spinning, 2.5-3.0 s with ``OMP_WAIT_POLICY=PASSIVE``), while PASSIVE cost inference at most
1.7x (python tools/bench_threads.py; docs/performance.md, Threads). OpenMP reads both settings when libmxnet
loads, so this must run before the first ``import mxnet``.

Override: set ``OMP_NUM_THREADS`` (or ``MXNET_OMP_MAX_THREADS``) or ``OMP_WAIT_POLICY``
yourself, or ``HYBRIDZOO_NO_THREADS=1`` to leave MXNet's defaults alone.
"""
import os
import sys
import warnings

_USER_SETTINGS = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "HYBRIDZOO_NO_THREADS")
WAIT_POLICY = "PASSIVE"


def available_cores():
    """Cores this process may run on (respects taskset / cgroup affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def configure_threads():
    """Set OMP_NUM_THREADS to all cores and OMP_WAIT_POLICY to PASSIVE before MXNet loads, each
    unless the user set it; return the thread count set, or None."""
    if "HYBRIDZOO_NO_THREADS" in os.environ:
        return None
    # An empty value (``OMP_WAIT_POLICY= cmd``) is unset, for us and for libgomp, which would
    # otherwise print "Invalid value for environment variable" in every process.
    for key in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS"):
        if key in os.environ and not os.environ[key].strip():
            del os.environ[key]
    if "mxnet" in sys.modules:
        if not any(key in os.environ for key in _USER_SETTINGS):
            warnings.warn(
                "mxnet was imported before hybridzoo, so it keeps its default of half the cores; "
                "import hybridzoo first or set OMP_NUM_THREADS before starting Python.",
                stacklevel=3,
            )
        return None
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    if any(key in os.environ for key in _USER_SETTINGS):
        return None
    cores = available_cores()
    os.environ["OMP_NUM_THREADS"] = str(cores)
    return cores
