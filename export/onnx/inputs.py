"""Which axes of a symbol's run-time inputs vary in the ONNX graph (the inputs themselves are
resolved by :mod:`export.inputs`)."""
import numpy as np

from ..errors import InvalidInputError, InvalidTypeError
from ..inputs import PARAM_ATTRS
from .convert import BATCH_DIM


def _axes_spec(name, axes, rank):
    """``{axis: dim}`` from a dict (names given) or a list (axis 0: batch, else ``<input>_dim<k>``)."""
    if isinstance(axes, dict):
        items = list(axes.items())
    elif isinstance(axes, (list, tuple, set)):
        items = [(a, None) for a in axes]
    else:
        raise InvalidTypeError(f"dynamic axes of {name!r} must be a dict {{axis: name}} or a list of "
                        f"axes, not {type(axes).__name__}")
    spec = {}
    for axis, dim in items:
        if not isinstance(axis, (int, np.integer)) or not -rank <= axis < rank:
            raise InvalidInputError(f"dynamic axis {axis!r} of input {name!r} is out of range for its "
                             f"{rank}-D shape; give axes from 0 to {rank - 1}")
        axis = int(axis) % rank
        if dim is None:
            dim = BATCH_DIM if axis == 0 else f"{name}_dim{axis}"
        if not isinstance(dim, str) or not dim:
            raise InvalidInputError(f"dynamic axis {axis} of input {name!r} needs a non-empty name, got {dim!r}")
        spec[axis] = dim
    return spec


def dynamic_spec(sym, names, shapes, labels, dynamic_batch=True, dynamic_axes=None):
    """``{input: {axis: dim name}}`` of the axes that vary at run time.

    ``dynamic_axes`` (torch.onnx style), when given, decides alone: ``{"data0": {0: "batch",
    1: "seq"}}`` names the dims (axes sharing a name are one dim); ``{"data0": [0, 1]}`` names
    axis 0 ``batch`` and axis k ``data0_dim<k>``; unlisted inputs are static. Otherwise
    ``dynamic_batch``: True -> axis 0 of every input that is not parameter-like (``batch``;
    ``<input>_dim0`` where its size differs, e.g. ROIs beside images: one dim with ``batch``
    only if the graph ties them); a ``{name: axes}`` dict -> the list form; False -> none.
    """
    if dynamic_axes is None:
        if not dynamic_batch:
            return {}
        if isinstance(dynamic_batch, dict):
            dynamic_axes = dynamic_batch
        else:
            attrs = sym.attr_dict()
            batched = [n for n in names if shapes[n] and not any(k in attrs.get(n, {}) for k in PARAM_ATTRS)]
            return {n: {0: BATCH_DIM if shapes[n][0] == shapes[batched[0]][0] else f"{n}_dim0"}
                    for n in batched}
    if not isinstance(dynamic_axes, dict):
        raise InvalidTypeError(f"dynamic_axes must be a dict {{input: axes}}, not {type(dynamic_axes).__name__}")
    unknown = sorted(n for n in dynamic_axes if n not in names and n not in labels)
    if unknown:
        raise InvalidInputError(f"dynamic_axes names {unknown}, which are not run-time inputs; the "
                         f"inputs are {names}")
    return {n: _axes_spec(n, axes, len(shapes[n])) for n, axes in dynamic_axes.items()
            if n in names and axes}
