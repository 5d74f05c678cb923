"""Read MXNet's ``.params`` file (a named NDArray list) as numpy views of a memory map.

``mx.nd.load`` + ``asnumpy`` copies every weight twice (into MXNet, then into numpy); a private
(copy-on-write) memory map reads the bytes only when they are used, and its arrays are
writable without touching the file. Only the layout MXNet writes for dense arrays on a
little-endian host is parsed here; for other layouts MXNet writes (sparse, older versions)
:func:`read` returns ``None`` and the caller falls back to ``mx.nd.load``. A file in the list
format whose headers are cut or hold values MXNet never writes is refused here: ``mx.nd.load``
trusts the counts and sizes it reads and allocated 7-12 GB for one flipped byte (fuzzing).

Layout (MXNet ``src/ndarray/ndarray.cc``: ``NDArray::Save`` and the list writer of
``MXNDArraySave``), all little-endian:
  uint64 0x112, uint64 reserved, uint64 n, n arrays, uint64 n, n names (uint64 length, UTF-8)
  array: uint32 magic (V2 0xF993FAC9 / V3 0xF993FACA), int32 storage type (0 = dense),
         int32 ndim, ndim x int64 dims, int32 dev_type, int32 dev_id, int32 type flag, data
"""
import math
import mmap
import os
import struct
import sys

import numpy as np

from .errors import InvalidInputError

LIST_MAGIC = 0x112
ARRAY_MAGICS = (0xF993FAC9, 0xF993FACA)
# mshadow type flags -> numpy (the dtypes asnumpy gives for them)
DTYPES = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32, 5: np.int8,
          6: np.int64, 7: np.bool_}


class _Unsupported(Exception):
    """A layout this reader leaves to ``mx.nd.load``."""


class _Damaged(Exception):
    """The file starts as MXNet writes params, but a header holds what MXNet never writes (a
    flipped byte): handed to ``mx.nd.load`` it could allocate gigabytes for a garbage size."""


class _Truncated(_Damaged):
    """The file starts as MXNet writes params but ends early (an interrupted copy or save)."""


MAX_NDIM = 32
MXNET_FLAGS = range(13)  # mshadow type flags MXNet knows (bfloat16 = 12); DTYPES: those parsed here
LEGACY_NDIM = 32  # before V2 an array started with its ndim, not a magic


def read(path):
    """``{name: np.ndarray}`` in file order, or ``None`` when the file needs ``mx.nd.load``. A
    file in MXNet's list format that is truncated or damaged raises :class:`InvalidInputError`
    (never handed to MXNet, which trusts the sizes it reads)."""
    if sys.byteorder != "little":
        return None
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 24:
            return None
        buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    try:
        return _parse(buffer, size)
    except _Truncated as err:
        raise InvalidInputError(f"cannot read params file {path!r}: it is {err}; copy or save it again") from None
    except _Damaged as err:
        raise InvalidInputError(f"cannot read params file {path!r}: it is damaged ({err}); copy or save it "
                                "again") from None
    except (_Unsupported, struct.error):
        return None
    except UnicodeDecodeError:
        raise InvalidInputError(f"cannot read params file {path!r}: its parameter names are not UTF-8 text "
                                "(a damaged file?); copy or save it again") from None


def truncation(path):
    """How a params file MXNet wrote was cut short (``"truncated (N bytes, ...)"``), else None."""
    if sys.byteorder != "little" or os.path.getsize(path) < 24:
        return None
    with open(path, "rb") as f:
        buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    try:
        _parse(buffer, len(buffer))
    except _Truncated as err:
        return str(err)
    except (_Damaged, _Unsupported, struct.error, UnicodeDecodeError):
        return None
    return None


def _parse(buffer, size):
    pos = 0

    def take(fmt):
        nonlocal pos
        if pos + struct.calcsize(fmt) > size:  # only reached after the list magic matched
            raise _Truncated(f"truncated ({size} bytes, cut inside its array headers)")
        values = struct.unpack_from(fmt, buffer, pos)
        pos += struct.calcsize(fmt)
        return values

    magic, _, count = take("<QQQ")
    if magic != LIST_MAGIC:
        raise _Unsupported
    if count > (size - 24) // 32:  # the smallest array MXNet writes takes 32 bytes of headers
        raise _Damaged(f"it says it holds {count} arrays, more than {size} bytes can")
    arrays = []
    for _ in range(count):
        array_magic, storage, ndim = take("<Iii")
        if array_magic not in ARRAY_MAGICS:
            if array_magic > LEGACY_NDIM or arrays:  # one file holds arrays of one format
                raise _Damaged(f"array {len(arrays) + 1} starts with {array_magic:#x}, not an array header")
            raise _Unsupported  # the format before V2
        if storage not in (0, 1, 2) or not -1 <= ndim <= MAX_NDIM:
            raise _Damaged(f"array {len(arrays) + 1} has storage type {storage} and {ndim} dims")
        if storage != 0 or ndim <= 0:
            raise _Unsupported  # sparse, or unknown/scalar shape
        dims = take(f"<{ndim}q")
        _, _, flag = take("<iii")
        if flag not in MXNET_FLAGS or min(dims) < 0:
            raise _Damaged(f"array {len(arrays) + 1} has dtype flag {flag} and shape {dims}")
        if flag not in DTYPES:
            raise _Unsupported
        dtype = np.dtype(DTYPES[flag])
        elements = math.prod(dims)  # Python ints: a damaged header cannot overflow to a small size
        if pos + elements * dtype.itemsize > size:
            raise _Truncated(f"truncated ({size} bytes, but array {len(arrays) + 1} of {count} "
                                 f"ends at byte {pos + elements * dtype.itemsize})")
        if elements:
            arrays.append(np.frombuffer(buffer, dtype, elements, pos).reshape(dims))
        else:
            arrays.append(np.zeros(dims, dtype))
        pos += elements * dtype.itemsize
    (names,) = take("<Q")
    if names != count:
        raise _Unsupported  # an unnamed list: mx.nd.load returns a list
    params = {}
    for array in arrays:
        (length,) = take("<Q")
        if pos + length > size:
            raise _Truncated(f"truncated ({size} bytes, cut inside the parameter names)")
        params[bytes(buffer[pos:pos + length]).decode("utf-8")] = array
        pos += length
    if pos != size:
        raise _Unsupported  # trailing bytes: not a file MXNet wrote
    return params
