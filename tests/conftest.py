"""Shared test setup: import hybridzoo first (it sets MXNet's thread count), fix seeds."""
import os
import random

# Sleeping (not spinning) OpenMP workers: when other processes share the cores, spinning
# threads wait for descheduled peers in every op (ResNet-152 at 32x32: 8 s instead of 0.13 s).
os.environ["OMP_WAIT_POLICY"] = os.environ.get("OMP_WAIT_POLICY") or "PASSIVE"  # empty is unset

import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import pytest

from export.memory import release_memory

from _tools import load_tool

# Zoo nets hold reference cycles, so a finished test's weights wait for Python's rare full
# collections, and freed buffers stay in the heap: the suite grew to 7.9 GB. After a test that
# left the process this much larger, collect and trim (checking is cheap; collecting is not).
RELEASE_AFTER_MB = 512
_baseline = []


@pytest.fixture(autouse=True)
def _seed():
    random.seed(0)
    np.random.seed(0)
    mx.random.seed(0)
    yield


def _rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield  # fixtures the next test does not share are finalized by now
    if not os.path.exists("/proc/self/status"):
        return
    module_done = nextitem is None or nextitem.module is not item.module  # its fixtures are gone
    if not _baseline or module_done or _rss_mb() - _baseline[0] > RELEASE_AFTER_MB:
        release_memory()
        _baseline[:] = [_rss_mb()]


@pytest.fixture(scope="module")
def export_cli():
    """tools/export.py as a module (``export_cli.main(argv)`` returns the exit status)."""
    return load_tool("export")


@pytest.fixture(scope="module")
def infer_cli():
    """tools/infer.py as a module (``infer_cli.main(argv)`` returns the exit status)."""
    return load_tool("infer")
