"""Give memory back between big steps, so exporting model after model (or backend after backend)
needs about one model's memory, not the sum of all of them; and refuse, before allocating, an
export that cannot fit in the machine's memory."""
import ctypes
import ctypes.util
import gc
import math

import mxnet as mx

from .deploy.timing import available_memory as available_bytes  # MXNet-free, shared with inference
from .errors import InsufficientMemoryError


def _malloc_trim():
    """glibc's ``malloc_trim`` or None elsewhere. Freed numpy/ORT/MXNet buffers below glibc's
    (dynamic, up to 32 MB) mmap threshold stay in the heap until trimmed; nothing in the
    standard library or numpy returns them, hence the ctypes call."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


_TRIM = _malloc_trim()


def release_memory():
    """Collect garbage, let MXNet finish pending work and return freed heap pages to the OS."""
    gc.collect()
    mx.nd.waitall()
    if _TRIM is not None:
        _TRIM(0)


# An export holds the weights several times at its peak (the net, the ONNX writer's arrays, the
# reloaded symbol and the ONNX Runtime session while checking) and runs the check on a batch of
# up to 3: the sum of every array's size, times this, is what it may need.
SAFETY_FACTOR = 3


def estimated_bytes(sym, shapes):
    """``(weights, activations)`` in bytes at float32 from MXNet's shape inference over every
    array of ``sym`` at ``shapes`` (``{input: shape}``); sizes it cannot infer count 0."""
    internals = sym.get_internals()
    try:
        _, out_shapes, _ = internals.infer_shape_partial(**shapes)
    except mx.base.MXNetError:
        return 0, 0  # a shape that does not fit: reported by the shape checks, not here
    inputs = set(sym.list_inputs())
    weights = activations = 0
    for name, shape in zip(internals.list_outputs(), out_shapes or []):
        size = 4 * math.prod(shape) if shape and 0 not in shape else 0
        if name in inputs:
            weights += size
        else:
            activations += size
    return weights, activations


def check_fits_memory(sym, shapes, fix="export a smaller input size or free memory"):
    """Raise :class:`InsufficientMemoryError` when exporting ``sym`` at ``shapes`` would need
    more than the available memory, before anything is allocated."""
    weights, activations = estimated_bytes(sym, shapes)
    need, available = SAFETY_FACTOR * (weights + activations), available_bytes()
    if available is not None and need > available:
        gib = 2 ** 30
        raise InsufficientMemoryError(
            f"exporting at input shape(s) {', '.join(str(tuple(s)) for s in shapes.values())} needs about "
            f"{need / gib:.1f} GB ({weights / gib:.1f} GB of weights and {activations / gib:.1f} GB of activations, "
            f"x{SAFETY_FACTOR} for the copies an export holds) but {available / gib:.1f} GB is available; {fix}")
