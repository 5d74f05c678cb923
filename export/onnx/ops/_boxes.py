"""Helpers shared by the detection converters: run-time sizes and box columns.

Every size the detection converters need (rows, batch, K) is read from the input's run-time
shape, never from the export-time shape, so the same graph works when the batch or the
image size (hence the number of anchors or proposals) is dynamic.
"""
import numpy as np

INT64_MAX = np.iinfo(np.int64).max


def dims(e, x, start, end=None):
    """``Shape(x)[start:end]`` as a 1-D int64 tensor (``end=None``: to the last axis)."""
    ends = e.int64([INT64_MAX if end is None else end], "end")
    return e("Slice", [e("Shape", [x]), e.int64([start], "start"), ends])


def scalar(e, one_element):
    """A 1-element tensor as a 0-D tensor (for Range)."""
    return e("Reshape", [one_element, e.int64([], "scalar")])


def columns(e, x, start, stop, axis=-1):
    """``x[..., start:stop]`` (the last axis by default), axes kept."""
    return e("Slice", [x, e.int64([start], "start"), e.int64([stop], "stop"), e.int64([axis], "axis")])


def column(e, x, index):
    """``x[..., index]`` with the last axis dropped."""
    return e.squeeze(columns(e, x, index, index + 1), [-1])


def split4(e, x):
    """The four coordinates ``x[..., 0:1]`` ... ``x[..., 3:4]`` (last axis kept, size 1)."""
    return [columns(e, x, i, i + 1) for i in range(4)]


def batch_gather_rows(e, data, index):
    """``data[b, index[b, k], :]`` for ``data`` (B, N, W) and int64 ``index`` (B, K)."""
    return e("GatherND", [data, e.unsqueeze(index, [2])], batch_dims=1)


def descending_rank(e, count, dtype=np.float32):
    """``[K, K-1, ..., 1]`` as ``dtype`` for a run-time 1-element ``count`` K: a strictly
    decreasing key that keeps an already sorted order through a later sort or NMS."""
    rank = e("Range", [scalar(e, count), e.int64(0, "zero"), e.int64(-1, "minus_one")])
    return e.cast(rank, dtype)


def filled(e, shape, value, dtype):
    """A tensor of run-time ``shape`` (1-D int64) filled with ``value``."""
    return e("Expand", [e.const(np.full((1,), value), dtype, "fill"), shape])
