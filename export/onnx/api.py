"""Symbol + params -> ONNX file: input resolution, checks, metadata, atomic save."""
import json
import os
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Set

import numpy as np
import onnx

from .._errors import check_input_size, mxnet_reason
from ..files.io import atomic_path
from . import mxgraph
from .convert import BATCH_DIM, check_opset, to_model_parts
from .inputs import (PARAM_ATTRS, PARAM_SUFFIXES, data_inputs, dynamic_spec,  # noqa: F401
                     feedable_inputs, few, in_forward_order, label_inputs, name_dtypes,
                     name_shapes, warn_dropped_labels)
from .optimize import optimize as optimize_graph
from .registry import supported_ops
from .writer import append_initializers, raw_size, write_model
from ..errors import InvalidInputError

# Protobuf cannot serialise a message over 2 GiB; stay clear of the limit.
EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 2 ** 24


def get_operator_support(opset=None):
    """``{MXNet op: [opsets where its converter changes]}``; with ``opset``, the sorted list of
    ops convertible at that opset (like ``mx.onnx.get_operator_support``)."""
    table = supported_ops()
    if opset is None:
        return table
    return sorted(op for op, versions in table.items() if min(versions) <= opset)


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


def check_param_shapes(sym, params, shapes):
    """Params must have the shapes the symbol infers for them from the input shapes."""
    try:
        arg_shapes, _, aux_shapes = sym.infer_shape_partial(**shapes)
    except Exception as err:  # noqa: BLE001 (MXNetError: report MXNet's reason)
        try:  # some ops (the RNN's param concat) infer only with the params' shapes given
            sym.infer_shape_partial(**shapes, **{n: v.shape for n, v in params.items()})
            return
        except Exception:  # noqa: BLE001
            pass
        if len(shapes) == 1:  # an image input too small for the net: name the smallest size
            (name, shape), = shapes.items()
            check_input_size(sym, name, shape, {n: v.shape for n, v in params.items()})
        raise InvalidInputError(f"input shapes {shapes} do not fit the symbol: {mxnet_reason(err)}") from None
    inferred = dict(zip(sym.list_arguments(), arg_shapes or []))
    inferred.update(zip(sym.list_auxiliary_states(), aux_shapes or []))
    for name, value in params.items():
        want = inferred.get(name)
        if want and 0 not in want and tuple(want) != tuple(value.shape):
            raise InvalidInputError(f"params do not match the symbol: {name!r} has shape "
                             f"{tuple(value.shape)} but the symbol needs {tuple(want)} for input "
                             f"shapes {shapes}; pass the params saved with this symbol")


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


def build_model(sym, params, inputs, input_dtypes=np.float32, opset=None,
                dynamic_batch=True, optimize=True, metadata=None, dynamic_axes=None):
    """Convert to an in-memory, checked ``onnx.ModelProto``."""
    model, weights = build_model_parts(sym, params, inputs, input_dtypes, opset,
                                       dynamic_batch, optimize, metadata, dynamic_axes)
    append_initializers(model.graph, weights)
    return model


def build_model_parts(sym, params, inputs, input_dtypes=np.float32, opset=None,
                      dynamic_batch=True, optimize=True, metadata=None, dynamic_axes=None):
    """As :func:`build_model`, but returns ``(model, weights)``: the weights as ``(name,
    array)`` pairs, not yet in the model, for :func:`save_model` to stream to the file.

    ``inputs``: an :class:`InputSpec`, or the input shapes (then resolved here with
    ``input_dtypes``, see :func:`resolve_inputs`). ``dynamic_axes``/``dynamic_batch``: see
    :func:`.inputs.dynamic_spec`. The model's ``metadata_props`` record the dynamic axes
    (``dynamic_axes``: input -> {axis: dim}) and any requested axis that had to be exported
    fixed (``fixed_axes``).
    """
    opset = check_opset(opset)
    spec = resolve_inputs(sym, params, inputs, input_dtypes)
    check_param_shapes(sym, params, spec.shapes)
    dynamic = dynamic_spec(sym, spec.names, spec.shapes, dynamic_batch, dynamic_axes, spec.labels)
    graph = mxgraph.build(sym, params, spec.names, spec.shapes, spec.dtypes, dynamic)
    if optimize:
        optimize_graph(graph)
    model, weights = to_model_parts(graph, opset)
    props = dict(metadata or {})
    if graph.dynamic:
        props["dynamic_axes"] = {n: {str(a): d for a, d in axes.items()} for n, axes in graph.dynamic.items()}
    if graph.fixed:
        props["fixed_axes"] = graph.fixed
    if props:
        onnx.helper.set_model_props(model, {k: _meta_value(v) for k, v in props.items()})
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


__all__ = ["get_operator_support", "InputSpec", "resolve_inputs", "build_model", "build_model_parts",
           "save_model", "BATCH_DIM"]
