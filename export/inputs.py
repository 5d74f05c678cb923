"""The run-time inputs of a symbol: which they are, their shapes and dtypes, resolved once per
export into an :class:`InputSpec` (:func:`resolve_inputs`) that every later step takes.

Training labels of Module-API heads (``SoftmaxOutput``'s ``softmax_label``...) are not run-time
inputs: shapes and dtypes may be given for them (old scripts pass them) and are dropped, with
one warning naming them.
"""
import json
import warnings
from dataclasses import dataclass
from typing import Dict, List, Set

import numpy as np

from .block_inputs import gluon_input_names
from .errors import InvalidInputError

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


def _is_weight(sym_attrs, name):
    attrs = sym_attrs.get(name, {})
    return any(k in attrs for k in PARAM_ATTRS + ("__shape__",)) or name.endswith(PARAM_SUFFIXES)


def check_param_names(sym, params):
    """Every param must be an input of the symbol (else they were saved for another one); the
    error names a few strays and a few of the symbol's weights that are missing."""
    inputs = sym.list_inputs()
    stray = sorted(set(params) - set(inputs))
    if stray:
        attrs = sym.attr_dict()
        missing = [n for n in inputs if n not in params and _is_weight(attrs, n)]
        lacking = f" and {len(missing)} of its weights are missing ({few(missing)})" if missing else ""
        raise InvalidInputError(f"params do not match the symbol (saved for another model?): {len(stray)} params "
                         f"are not inputs of the symbol ({few(stray)}){lacking}; pass the params saved "
                         "with this symbol")


@dataclass(frozen=True)
class InputSpec:
    """A symbol's run-time inputs, resolved once per export (:func:`resolve_inputs`); every step
    after it takes this and never re-derives names, shapes or dtypes."""
    names: List[str]                 # run-time inputs, in symbol order
    labels: Set[str]                 # training-label inputs, left out of the graph
    shapes: Dict[str, tuple]         # name -> shape, batch axis included
    dtypes: Dict[str, np.dtype]      # name -> dtype


def resolve_inputs(sym, params, input_shapes, input_dtypes=np.float32, what="input_shape", forward_order=False):
    """Check that ``params`` belong to ``sym`` and name the shapes and dtypes the caller gave
    (a tuple, a list in symbol order, labels optional, or a dict) after the symbol's run-time
    inputs; one warning names the training labels left out. ``forward_order``: a list for
    inputs Gluon named ``data0``, ``data1``... is in the block's forward-argument order."""
    if isinstance(input_shapes, InputSpec):
        return input_shapes
    check_param_names(sym, params)
    labels = label_inputs(sym)
    names, everything = data_inputs(sym, params, labels), feedable_inputs(sym, params)
    if forward_order:
        input_shapes = in_forward_order(names, input_shapes, is_shape=True)
        input_dtypes = in_forward_order(names, input_dtypes)
    shapes = name_shapes(names, input_shapes, what, everything=everything)
    dtypes = name_dtypes(names, input_dtypes, everything)
    warn_dropped_labels(sym, params, labels)
    return InputSpec(names, labels, shapes, dtypes)
