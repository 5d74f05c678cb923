"""Dynamic axes: which axes of every value follow which named input dim, found by inference.

The user names dynamic input axes (``{"data0": {0: "batch", 1: "seq"}}``). For each named dim,
one more ``infer_shape`` at a grown size of that dim marks every axis whose size changed, and
the ratio of the two sizes tells how it follows: the dim itself, a product of dims times a
constant (``batch * heads`` after a reshape), or some other way (``seq + 1`` after a concat).
Dims named apart whose growth MXNet rejects alone but accepts together (two inputs that meet
in one op) are one dim. A dim whose growth MXNet rejects otherwise (a reshape or a parameter
fixes it) cannot vary: it is exported fixed, with one warning naming the node, and recorded.
"""
import contextlib
import io
import re
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Tuple
from ..errors import InvalidInputError


@dataclass(frozen=True)
class SymDim:
    """The run-time size of a dynamic axis: ``coef`` times the product of the named dims
    ``dims``; ``coef`` is None when the axis follows them in some other way."""

    dims: Tuple[str, ...]
    coef: Optional[Fraction] = Fraction(1)

    @property
    def name(self):
        """The dim's name when the axis is exactly one named dim, else None."""
        return self.dims[0] if len(self.dims) == 1 and self.coef == 1 else None

    @property
    def known(self):
        """True when the size is ``coef * prod(dims)`` (computable from the inputs' shapes)."""
        return self.coef is not None


class DynamicAxisWarning(UserWarning):
    """A requested dynamic axis had to be exported fixed."""


def infer_quietly(internals, shapes):
    """``(out_shapes, None)`` or ``(None, (node, reason))`` when MXNet rejects ``shapes``
    (MXNet also prints the arguments to stdout on failure: kept out of the user's output).
    A given input keeps its given shape: numpy ``hstack``/``dstack`` report their inputs'
    stacking axis as unknown (-1) back, though their own output is determined."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            _, out_shapes, _ = internals.infer_shape_partial(**shapes)
        if out_shapes is not None:
            names = internals.list_outputs()
            out_shapes = [tuple(shapes[n]) if n in shapes else s for n, s in zip(names, out_shapes)]
    except Exception as err:  # noqa: BLE001 (MXNetError: MXNet's reason is reported)
        text = " ".join(str(err).split())
        found = re.search(r"Error in operator (\S+?):\s*(.*)", text)
        node, reason = (found.group(1), found.group(2)) if found else (None, text)
        reason = re.sub(r"^\[[0-9:]+\] \S+: ", "", reason)  # MXNet's time and source line
        if reason.startswith("Check failed:"):  # keep the explanation, not the C++ condition
            reason = reason.rsplit(": ", 1)[-1]
        return None, (node, reason[:300])
    if out_shapes is None or any(s is None or 0 in s or -1 in s for s in out_shapes):
        return None, (None, "shapes are not determined")
    return out_shapes, None


def _trial(internals, shapes, places, size, new):
    """Out shapes with ``places`` grown from ``size`` to ``new``; a place ``k`` times ``size``
    at export (a dim tied to another one ``batch * heads``) grows to ``k * new``."""
    trial = dict(shapes)
    for name, axis in places:
        grown = new * (shapes[name][axis] // size)
        trial[name] = tuple(grown if i == axis else d for i, d in enumerate(trial[name]))
    return infer_quietly(internals, trial)


def _grown(internals, shapes, places, size):
    """Out shapes at another size of ``places``: 2 s + 1, else s + 1 provided s - 1 works too
    (an axis bounded above, e.g. by a position table of max_length rows; both, so that a size
    a floor division happens to map to the same shapes is not taken for a dynamic axis), else
    2 s (a ``-4`` reshape splitting the axis in two halves).
    Returns (new size, out shapes) or (None, (node, reason))."""
    out, error = _trial(internals, shapes, places, size, 2 * size + 1)
    if out is not None:
        return 2 * size + 1, out
    out, _ = _trial(internals, shapes, places, size, size + 1)
    if out is not None and (size < 2 or _trial(internals, shapes, places, size, size - 1)[0] is not None):
        return size + 1, out
    out, _ = _trial(internals, shapes, places, size, 2 * size) if size > 1 else (None, None)
    return (2 * size, out) if out is not None else (None, error)


def _group(spec, shapes):
    """``{dim: [(input, axis)]}`` in order; every place of a dim must have one export size."""
    places = {}
    for name, axes in spec.items():
        for axis, dim in axes.items():
            places.setdefault(dim, []).append((name, axis))
    for dim, where in places.items():
        sizes = {shapes[n][a] for n, a in where}
        if len(sizes) > 1:
            listed = ", ".join(f"{n} axis {a} = {shapes[n][a]}" for n, a in where)
            raise InvalidInputError(f"dynamic dim {dim!r} has different sizes in the input shapes ({listed}); "
                             "give axes that share a name the same size")
    return places


def _ties(internals, shapes, places, failed):
    """Dims named apart that the graph ties (mx2onnx-style ``None`` dims of two inputs that
    meet in one op, or one ``heads`` times the other): each fails to grow alone; grown together
    (each in proportion to its export size) they vary as one dim. Pairs are tried first, then
    the rest of one export size together (three inputs added up); a dim fixed for another
    reason stays apart. Returns ``[(dims, (size, grown size, out shapes))]``: the first (and
    smallest) dim names the tie and its size is the one recorded."""
    ties, left = [], list(failed)

    def tie(group):
        group = sorted(group, key=lambda d: failed[d][0])
        size = failed[group[0]][0]
        if any(failed[d][0] % size for d in group):
            return
        new, out = _grown(internals, shapes, [p for d in group for p in places[d]], size)
        if new is not None:
            ties.append((group, (size, new, out)))
            left[:] = [d for d in left if d not in group]

    for a, b in [(a, b) for i, a in enumerate(failed) for b in list(failed)[i + 1:]]:
        if a in left and b in left:
            tie([a, b])
    for size in dict.fromkeys(failed[d][0] for d in left):
        same = [d for d in left if failed[d][0] == size]
        if len(same) > 1:
            tie(same)
    return ties


def resolve(internals, shapes, spec):
    """Grow each named dim of ``spec`` (``{input: {axis: dim}}``); returns
    ``(grown, places, fixed)``: ``grown`` ``{dim: (export size, grown size, out shapes)}``,
    ``places`` ``{dim: [(input, axis)]}`` of the dims that vary, ``fixed`` the records of
    those that cannot (each also warned about once)."""
    places = _group(spec, shapes)
    grown, failed = {}, {}
    for dim, where in places.items():
        size = shapes[where[0][0]][where[0][1]]
        new, out = _grown(internals, shapes, where, size)
        if new is None:
            failed[dim] = (size, out)
        else:
            grown[dim] = (size, new, out)
    for group, (size, new, out) in _ties(internals, shapes, places, failed):
        grown[group[0]] = (size, new, out)
        places[group[0]] = [p for d in group for p in places[d]]
        for dim in group:
            failed.pop(dim)
        for dim in group[1:]:
            places.pop(dim)
    fixed = []
    for dim, (size, (node, reason)) in failed.items():
        record = {"dim": dim, "size": int(size), "axes": [[n, int(a)] for n, a in places.pop(dim)],
                  "node": node, "reason": reason}
        fixed.append(record)
        where = ", ".join(f"{n} axis {a}" for n, a in record["axes"])
        at = f"node {node!r}" if node else "shape inference"
        warnings.warn(f"dynamic axis {dim!r} ({where}) cannot vary: {at} rejects another size "
                      f"({reason}); exported fixed at {size}", DynamicAxisWarning, stacklevel=4)
    return grown, places, fixed


def axis_dims(base, grown, index):
    """Per axis of output ``index``: None (static) or the :class:`SymDim` it follows; every
    axis follows some other way when a dim changes the rank (``squeeze`` over a dim of 1)."""
    reshaped = tuple(d for d, g in grown.items() if len(g[2][index]) != len(base[index]))
    if reshaped:
        return tuple(SymDim(reshaped, None) for _ in base[index])
    dims = []
    for axis, size in enumerate(base[index]):
        follows = [(d, g) for d, g in grown.items() if g[2][index][axis] != size]
        if not follows:
            dims.append(None)
            continue
        names = tuple(d for d, _ in follows)
        product = 1
        for _, (old, _, _) in follows:
            product *= old
        coef = Fraction(int(size), product)
        # a product of dims: growing one dim scales the axis by that dim's own ratio
        proportional = all(Fraction(int(out[index][axis]), int(size)) == Fraction(new, old)
                           for _, (old, new, out) in follows)
        dims.append(SymDim(names, coef if proportional else None))
    return tuple(dims)


def spec_names(places):
    """``{input: {axis: dim}}`` of the dims that vary (for metadata and value_info)."""
    spec = {}
    for dim, where in places.items():
        for name, axis in where:
            spec.setdefault(name, {})[axis] = dim
    return spec
