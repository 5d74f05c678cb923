"""Symbol + params -> ONNX file: input resolution, checks, metadata, atomic save."""
import json
import os

import numpy as np
import onnx

from .._errors import check_input_size, mxnet_reason
from ..files.io import atomic_path
from ..files.owner import work_dir
from . import mxgraph
from .convert import BATCH_DIM, check_opset, to_model_parts
from .inputs import (PARAM_ATTRS, PARAM_SUFFIXES, data_inputs, dynamic_spec,  # noqa: F401
                     feedable_inputs, few, label_inputs, name_dtypes, name_shapes,
                     warn_dropped_labels)
from .optimize import optimize as optimize_graph
from .registry import supported_ops
from .writer import append_initializers, raw_size, write_model
from ..errors import InvalidInputError
from ..finite import check_finite_params

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


def build_model(sym, params, input_shapes, input_dtypes=np.float32, opset=None,
                dynamic_batch=True, optimize=True, metadata=None, dynamic_axes=None):
    """Convert to an in-memory, checked ``onnx.ModelProto``."""
    model, weights = build_model_parts(sym, params, input_shapes, input_dtypes, opset,
                                       dynamic_batch, optimize, metadata, dynamic_axes)
    append_initializers(model.graph, weights)
    return model


def build_model_parts(sym, params, input_shapes, input_dtypes=np.float32, opset=None,
                      dynamic_batch=True, optimize=True, metadata=None, dynamic_axes=None):
    """As :func:`build_model`, but returns ``(model, weights)``: the weights as ``(name,
    array)`` pairs, not yet in the model, for :func:`save_model` to stream to the file.

    ``input_shapes``/``input_dtypes`` may include training-label inputs (dropped with one
    warning). ``dynamic_axes``/``dynamic_batch``: see :func:`.inputs.dynamic_spec`. The
    model's ``metadata_props`` record the dynamic axes (``dynamic_axes``: input -> {axis:
    dim}) and any requested axis that had to be exported fixed (``fixed_axes``).
    """
    opset = check_opset(opset)
    check_param_names(sym, params)
    check_finite_params(params, "retrain or pass other params")
    labels = label_inputs(sym)
    names, everything = data_inputs(sym, params, labels), feedable_inputs(sym, params)
    shapes = name_shapes(names, input_shapes, everything=everything)
    input_dtypes = name_dtypes(names, input_dtypes, everything)
    warn_dropped_labels(sym, params, labels)
    check_param_shapes(sym, params, shapes)
    spec = dynamic_spec(sym, names, shapes, dynamic_batch, dynamic_axes, labels)
    graph = mxgraph.build(sym, params, names, shapes, input_dtypes, spec)
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
    with work_dir(directory, f".{base}.") as tmp_dir:  # owned: removed by the next export if killed
        tmp = os.path.join(tmp_dir, base)
        onnx.save_model(model, tmp, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=base + ".data", size_threshold=0)
        onnx.checker.check_model(tmp, full_check=True)
        os.replace(os.path.join(tmp_dir, base + ".data"), os.path.join(directory, base + ".data"))
        os.replace(tmp, path)
    return path


__all__ = ["get_operator_support", "build_model", "build_model_parts", "save_model", "BATCH_DIM"]
