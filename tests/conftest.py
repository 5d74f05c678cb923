"""Shared test setup: import hybridzoo first (it sets MXNet's thread count), fix seeds."""
import os
import random

# Sleeping (not spinning) OpenMP workers: when other processes share the cores, spinning
# threads wait for descheduled peers in every op (ResNet-152 at 32x32: 8 s instead of 0.13 s).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seed():
    random.seed(0)
    np.random.seed(0)
    mx.random.seed(0)
    yield
