"""Give memory back between big steps, so exporting model after model (or backend after backend)
needs about one model's memory, not the sum of all of them."""
import ctypes
import ctypes.util
import gc

import mxnet as mx


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
