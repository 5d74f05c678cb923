"""The run-time inputs of a symbol: which they are, their shapes and dtypes, which axes vary.

Training labels of Module-API heads (``SoftmaxOutput``'s ``softmax_label``...) are not run-time
inputs: shapes and dtypes may be given for them (old scripts pass them) and are dropped, with
one warning naming them.
"""
import json
import warnings

import numpy as np

from ..block_inputs import gluon_input_names
from .convert import BATCH_DIM
from ..errors import InvalidInputError, InvalidTypeError

PARAM_ATTRS = ("__lr_mult__", "__wd_mult__", "__init__")
# Names Gluon and the Module API give weights (for error messages only).
PARAM_SUFFIXES = ("_weight", "_bias", "_gamma", "_beta", "_running_mean", "_running_var",
                  "_moving_mean", "_moving_var", "_alpha")
# Training heads whose inputs after the first are labels, unused at inference.
LABEL_HEADS = ("SoftmaxOutput", "LinearRegressionOutput", "LogisticRegressionOutput",
               "MAERegressionOutput", "SVMOutput")


def label_inputs(sym):
    """Variables fed only into the label slot of training heads (mx2onnx drops them too)."""
    text = sym.tojson()
    if not any(f'"op": "{head}"' in text for head in LABEL_HEADS):
        return set()  # no training head: skip parsing (detectors' JSON holds MBs of anchors)
    nodes = json.loads(text)["nodes"]
    label_uses, other_uses = set(), set()
    for node in nodes:
        for slot, (src, _, _) in enumerate(node["inputs"]):
            if nodes[src]["op"] == "null":
                is_label = node["op"] in LABEL_HEADS and slot > 0
                (label_uses if is_label else other_uses).add(nodes[src]["name"])
    return label_uses - other_uses


def data_inputs(sym, params, labels=None):
    """Symbol inputs the user feeds at run time: not params, not training labels
    (``labels``: :func:`label_inputs` when already known)."""
    labels = label_inputs(sym) if labels is None else labels
    return [n for n in sym.list_inputs() if n not in params and n not in labels]


def feedable_inputs(sym, params):
    """Every symbol input that is not a param, labels included, in symbol order."""
    return [n for n in sym.list_inputs() if n not in params]


def warn_dropped_labels(sym, params, labels=None):
    """One warning naming the label inputs left out of the graph (none: no warning)."""
    labels = label_inputs(sym) if labels is None else labels
    labels = [n for n in feedable_inputs(sym, params) if n in labels]
    if labels:
        warnings.warn(f"training label input(s) {', '.join(labels)} of the symbol's loss head(s) "
                      "are unused at inference: left out of the ONNX graph", UserWarning, stacklevel=3)
    return labels


def _per_input(names, values, everything, what, noun="shape(s)"):
    """A list per run-time input, or per input labels included (then the labels are dropped)."""
    values = list(values)
    if len(values) == len(names):
        return dict(zip(names, values))
    if len(values) == len(everything) and len(everything) > len(names):
        return {n: v for n, v in zip(everything, values) if n in names}
    labels = [n for n in everything if n not in names]
    also = f" (or {len(everything)} with the labels {few(labels)})" if labels else ""
    weights = [n for n in names if n.endswith(PARAM_SUFFIXES)]
    hint = (f"; {len(weights)} of them look like weights missing from params ({few(weights)}): "
            "pass the params saved with this symbol" if weights else "; give one per input")
    raise InvalidInputError(f"{what} has {len(values)} {noun} but the symbol has {len(names)} run-time "
                     f"input(s) not found in params ({few(names)}){also}{hint}")


def few(names, count=3):
    """``'a', 'b', 'c'`` or ``'a', 'b', 'c', ...``: a readable sample of a long list."""
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:count])
    return shown if len(names) <= count else f"{shown}, ..."


def name_shapes(names, shapes, what="input_shape", everything=None):
    """A tuple (one input), a list (symbol input order, labels optional) or a dict ->
    ``{name: shape}`` over ``names``; ``everything``: the inputs labels included."""
    everything = everything or names
    if isinstance(shapes, dict):
        unknown = sorted(set(shapes) - set(everything))
        missing = [n for n in names if n not in shapes]
        if unknown or missing:
            raise InvalidInputError(f"{what} names {unknown or ''}{' not in the symbol' if unknown else ''}"
                             f"{'; missing ' + str(missing) if missing else ''}; the run-time "
                             f"inputs are {names}")
        return {n: tuple(int(d) for d in shapes[n]) for n in names}
    if isinstance(shapes, tuple) or (isinstance(shapes, list) and shapes
                                      and all(isinstance(d, (int, np.integer)) for d in shapes)):
        shapes = [tuple(shapes)]
    named = _per_input(names, shapes or [], everything, what)
    return {n: tuple(int(d) for d in s) for n, s in named.items()}


def name_dtypes(names, dtypes, everything=None):
    """One dtype, a list (labels optional) or a dict -> ``{name: np.dtype}``."""
    if isinstance(dtypes, dict):
        return {n: np.dtype(dtypes[n]) for n in names}
    if not isinstance(dtypes, (list, tuple)):
        dtypes = [dtypes] * len(names)
    return {n: np.dtype(t) for n, t in _per_input(names, dtypes, everything or names, "in_types", "dtype(s)").items()}


def in_forward_order(names, values, is_shape=False):
    """A list for inputs named by Gluon (``data0``, ``data1``...: a block's forward arguments,
    which the symbol may list in another order) -> a dict by those names; else unchanged."""
    if isinstance(values, dict) or not isinstance(values, (list, tuple)):
        return values
    if is_shape and (isinstance(values, tuple) or all(isinstance(d, (int, np.integer)) for d in values)):
        return values  # one shape
    if len(values) != len(names) or sorted(names) != sorted(gluon_input_names(len(names))):
        return values
    return dict(zip(gluon_input_names(len(names)), values))


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


def dynamic_spec(sym, names, shapes, dynamic_batch=True, dynamic_axes=None, labels=None):
    """``{input: {axis: dim name}}`` of the axes that vary at run time.

    ``dynamic_axes`` (torch.onnx style), when given, decides alone: ``{"data0": {0: "batch",
    1: "seq"}}`` names the dims (axes sharing a name are one dim); ``{"data0": [0, 1]}`` names
    axis 0 ``batch`` and axis k ``data0_dim<k>``; unlisted inputs are static. Otherwise
    ``dynamic_batch``: True -> axis 0 of every input that is not parameter-like; a ``{name:
    axes}`` dict -> the list form; False -> none.
    """
    if dynamic_axes is None:
        if not dynamic_batch:
            return {}
        if isinstance(dynamic_batch, dict):
            dynamic_axes = dynamic_batch
        else:
            attrs = sym.attr_dict()
            return {n: {0: BATCH_DIM} for n in names if shapes[n]
                    and not any(k in attrs.get(n, {}) for k in PARAM_ATTRS)}
    if not isinstance(dynamic_axes, dict):
        raise InvalidTypeError(f"dynamic_axes must be a dict {{input: axes}}, not {type(dynamic_axes).__name__}")
    labels = label_inputs(sym) if labels is None else labels
    unknown = sorted(n for n in dynamic_axes if n not in names and n not in labels)
    if unknown:
        raise InvalidInputError(f"dynamic_axes names {unknown}, which are not run-time inputs; the "
                         f"inputs are {names}")
    return {n: _axes_spec(n, axes, len(shapes[n])) for n, axes in dynamic_axes.items()
            if n in names and axes}
