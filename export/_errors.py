"""MXNet's errors as one line a user can act on: the reason without C++ traceback, and for an
input too small for the net, the smallest size it takes."""
import time

import mxnet as mx

from .errors import InputTooSmallError, InvalidInputError, mxnet_reason  # noqa: F401  (re-exported)

INT32_LIMIT = 2 ** 31 - 1  # MXNet's pip build indexes each dim with an int32
SCAN_SECONDS = 3  # the search for the smallest input size a net takes gives up after this


def checked_shape(what, name, shape):
    """``shape`` as an int tuple; a size that is not a positive integer MXNet can take (below
    2^31 per axis) is refused in one line."""
    try:
        dims = tuple(int(d) for d in shape)
        ok = all(1 <= d <= INT32_LIMIT and d == float(v) for d, v in zip(dims, shape))
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise InvalidInputError(f"{what} gives input {name!r} the shape {shape!r}: every size must be a positive "
                                "integer below 2^31, the batch too (for a variable batch export a fixed one with "
                                "dynamic axes)")
    return dims


def fits(sym, shapes):
    """Whether MXNet's shape inference accepts ``shapes`` (``{input name: shape}``) for ``sym``."""
    try:
        sym.infer_shape_partial(**shapes)
    except mx.base.MXNetError:
        return False
    return True


def check_input_size(sym, name, shape, fixed=None, limit=2048):
    """Raise :class:`InputTooSmallError` (naming the smallest square input size that fits) when
    the ``(N, C, H, W)`` ``shape`` of input ``name`` is too small for ``sym``; ``fixed`` gives
    the shapes of other inputs (e.g. params). Returns None when it fits, else MXNet's reason."""
    fixed = dict(fixed or {})
    try:
        sym.infer_shape_partial(**fixed, **{name: tuple(shape)})
        return None
    except mx.base.MXNetError as err:
        reason = mxnet_reason(err)
    if len(shape) == 4:
        # A linear scan, not bisection: some nets fit only some sizes (strides, concatenations);
        # bounded in time, as a graph that fits no size would take 2048 inferences to say so.
        deadline = time.monotonic() + SCAN_SECONDS
        smallest = next((s for s in range(1, limit + 1) if time.monotonic() > deadline
                         or fits(sym, dict(fixed, **{name: tuple(shape[:2]) + (s, s)}))), None)
        if time.monotonic() > deadline:
            smallest = None
        if smallest and smallest > min(shape[2:]):
            raise InputTooSmallError(f"input {tuple(shape)} is too small for this net ({reason}); "
                                     f"the smallest input size it takes is {smallest} "
                                     f"({shape[1]}x{smallest}x{smallest})")
    return reason
