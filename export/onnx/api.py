"""Symbol + params -> ONNX file: input resolution, checks, metadata, atomic save."""
import json
import os
import tempfile

import numpy as np
import onnx

from .._errors import check_input_size, mxnet_reason
from ..artifacts.io import atomic_path
from . import mxgraph
from .convert import BATCH_DIM, check_opset, to_model_parts
from .optimize import optimize as optimize_graph
from .registry import supported_ops
from .writer import append_initializers, raw_size, write_model

# Protobuf cannot serialise a message over 2 GiB; stay clear of the limit.
EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 2 ** 24
PARAM_ATTRS = ("__lr_mult__", "__wd_mult__", "__init__")
# Names Gluon and the Module API give weights (for error messages only).
PARAM_SUFFIXES = ("_weight", "_bias", "_gamma", "_beta", "_running_mean", "_running_var",
                  "_moving_mean", "_moving_var", "_alpha")


def get_operator_support(opset=None):
    """``{MXNet op: [opsets where its converter changes]}``; with ``opset``, the sorted list of
    ops convertible at that opset (like ``mx.onnx.get_operator_support``)."""
    table = supported_ops()
    if opset is None:
        return table
    return sorted(op for op, versions in table.items() if min(versions) <= opset)


# Training heads whose inputs after the first are labels, unused at inference.
LABEL_HEADS = ("SoftmaxOutput", "LinearRegressionOutput", "LogisticRegressionOutput",
               "MAERegressionOutput", "SVMOutput")


def label_inputs(sym):
    """Variables fed only into the label slot of training heads (mx2onnx drops them too)."""
    nodes = json.loads(sym.tojson())["nodes"]
    label_uses, other_uses = set(), set()
    for node in nodes:
        for slot, (src, _, _) in enumerate(node["inputs"]):
            if nodes[src]["op"] == "null":
                is_label = node["op"] in LABEL_HEADS and slot > 0
                (label_uses if is_label else other_uses).add(nodes[src]["name"])
    return label_uses - other_uses


def data_inputs(sym, params, shapes=None):
    """Symbol inputs the user feeds at run time: not params, and not training labels unless
    ``shapes`` (a dict of input shapes) names them."""
    labels = label_inputs(sym) - set(shapes if isinstance(shapes, dict) else ())
    return [n for n in sym.list_inputs() if n not in params and n not in labels]


def name_shapes(names, shapes, what="input_shape"):
    """A tuple (one input), a list (symbol input order) or a dict -> ``{name: shape}``."""
    if isinstance(shapes, dict):
        unknown = sorted(set(shapes) - set(names))
        missing = [n for n in names if n not in shapes]
        if unknown or missing:
            raise ValueError(f"{what} names {unknown or ''}{' not in the symbol' if unknown else ''}"
                             f"{'; missing ' + str(missing) if missing else ''}; the run-time "
                             f"inputs are {names}")
        return {n: tuple(shapes[n]) for n in names}
    if isinstance(shapes, tuple) or (isinstance(shapes, list) and shapes
                                      and all(isinstance(d, (int, np.integer)) for d in shapes)):
        shapes = [tuple(shapes)]
    shapes = list(shapes or [])
    if len(shapes) != len(names):
        weights = [n for n in names if n.endswith(PARAM_SUFFIXES)]
        hint = (f"; {len(weights)} of them look like weights missing from params ({few(weights)}): "
                "pass the params saved with this symbol" if weights else
                "; give one shape per input, batch axis included")
        raise ValueError(f"{what} has {len(shapes)} shape(s) but the symbol has {len(names)} "
                         f"run-time input(s) not found in params ({few(names)}){hint}")
    return {n: tuple(int(d) for d in s) for n, s in zip(names, shapes)}


def few(names, count=3):
    """``'a', 'b', 'c'`` or ``'a', 'b', 'c', ...``: a readable sample of a long list."""
    shown = ", ".join(repr(n) for n in names[:count])
    return shown if len(names) <= count else f"{shown}, ..."


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
        raise ValueError(f"params do not match the symbol (saved for another model?): {len(stray)} params "
                         f"are not inputs of the symbol ({few(stray)}){lacking}; pass the params saved "
                         "with this symbol")


def check_param_shapes(sym, params, shapes):
    """Params must have the shapes the symbol infers for them from the input shapes."""
    try:
        arg_shapes, _, aux_shapes = sym.infer_shape_partial(**shapes)
    except Exception as err:  # noqa: BLE001 (MXNetError: report MXNet's reason)
        if len(shapes) == 1:  # an image input too small for the net: name the smallest size
            (name, shape), = shapes.items()
            check_input_size(sym, name, shape, {n: v.shape for n, v in params.items()})
        raise ValueError(f"input shapes {shapes} do not fit the symbol: {mxnet_reason(err)}") from None
    inferred = dict(zip(sym.list_arguments(), arg_shapes or []))
    inferred.update(zip(sym.list_auxiliary_states(), aux_shapes or []))
    for name, value in params.items():
        want = inferred.get(name)
        if want and 0 not in want and tuple(want) != tuple(value.shape):
            raise ValueError(f"params do not match the symbol: {name!r} has shape "
                             f"{tuple(value.shape)} but the symbol needs {tuple(want)} for input "
                             f"shapes {shapes}; pass the params saved with this symbol")


def batch_axes_of(sym, names, dynamic):
    """``dynamic``: True -> axis 0 of every data input that is not a parameter-like variable;
    a ``{name: axes}`` dict -> as given; False -> none."""
    if not dynamic:
        return {}
    if isinstance(dynamic, dict):
        return {n: tuple(a) for n, a in dynamic.items()}
    attrs = sym.attr_dict()
    return {n: (0,) for n in names if not any(k in attrs.get(n, {}) for k in PARAM_ATTRS)}


def build_model(sym, params, input_shapes, input_dtypes=np.float32, opset=None,
                dynamic_batch=True, optimize=True, metadata=None, dim_name=None):
    """Convert to an in-memory, checked ``onnx.ModelProto``."""
    model, weights = build_model_parts(sym, params, input_shapes, input_dtypes, opset,
                                       dynamic_batch, optimize, metadata, dim_name)
    append_initializers(model.graph, weights)
    return model


def build_model_parts(sym, params, input_shapes, input_dtypes=np.float32, opset=None,
                      dynamic_batch=True, optimize=True, metadata=None, dim_name=None):
    """As :func:`build_model`, but returns ``(model, weights)``: the weights as ``(name,
    array)`` pairs, not yet in the model, for :func:`save_model` to stream to the file."""
    opset = check_opset(opset)
    check_param_names(sym, params)
    names = data_inputs(sym, params, input_shapes)
    shapes = name_shapes(names, input_shapes)
    if not isinstance(input_dtypes, dict):
        dtypes = input_dtypes if isinstance(input_dtypes, (list, tuple)) else [input_dtypes] * len(names)
        if len(dtypes) != len(names):
            raise ValueError(f"in_types gives {len(dtypes)} dtype(s) for {len(names)} inputs {names}")
        input_dtypes = dict(zip(names, dtypes))
    check_param_shapes(sym, params, shapes)
    axes = batch_axes_of(sym, names, dynamic_batch)
    graph = mxgraph.build(sym, params, names, shapes, input_dtypes, axes)
    if optimize:
        optimize_graph(graph)
    model, weights = to_model_parts(graph, opset, dynamic_axes=bool(axes), dim_name=dim_name)
    if metadata:
        onnx.helper.set_model_props(model, {k: _meta_value(v) for k, v in metadata.items()})
    return model, weights


def _meta_value(value):
    return value if isinstance(value, str) else json.dumps(value)


def save_model(model, path, weights=()):
    """Write ``model`` (checked when built), plus ``weights`` (``(name, array)`` pairs appended
    to its initializers), atomically; external data (``<file>.data``) above protobuf's limit."""
    path = os.fspath(path)
    weights = list(weights)
    if raw_size(model, weights) < EXTERNAL_DATA_THRESHOLD:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                write_model(f, model, weights)  # the weights go from their arrays to the file
        return path
    if weights:
        full = onnx.ModelProto()
        full.CopyFrom(model)
        append_initializers(full.graph, weights)
        model = full
    # Large model: write model + data into a temporary folder beside ``path``, check the pair,
    # then move the data file and the model file into place.
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    with tempfile.TemporaryDirectory(prefix=f".{base}.", dir=directory) as tmp_dir:
        tmp = os.path.join(tmp_dir, base)
        onnx.save_model(model, tmp, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=base + ".data", size_threshold=0)
        onnx.checker.check_model(tmp, full_check=True)
        os.replace(os.path.join(tmp_dir, base + ".data"), os.path.join(directory, base + ".data"))
        os.replace(tmp, path)
    return path


__all__ = ["get_operator_support", "build_model", "build_model_parts", "save_model", "BATCH_DIM"]
