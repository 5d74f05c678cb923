"""Symbol + params -> ONNX file: input resolution, checks, metadata, atomic save."""
import json

import numpy as np
import onnx

from .._errors import check_input_size, mxnet_reason
from . import mxgraph
from .convert import BATCH_DIM, check_opset, check_supported, to_model_parts
from ..inputs import InputSpec, resolve_inputs  # noqa: F401  (InputSpec re-exported)
from .inputs import dynamic_spec
from .npmode import is_numpy_op, shape_semantics, symbol_nodes
from .optimize import optimize as optimize_graph
from .registry import supported_ops
from .writer import append_initializers, save_model  # noqa: F401  (save_model re-exported)
from ..errors import InvalidInputError

def get_operator_support(opset=None):
    """``{MXNet op: [opsets where its converter changes]}``; with ``opset``, the sorted list of
    ops convertible at that opset (like ``mx.onnx.get_operator_support``)."""
    table = supported_ops()
    if opset is None:
        return table
    return sorted(op for op, versions in table.items() if min(versions) <= opset)


def numpy_interface_coverage(opset=None):
    """How much of MXNet's numpy interface (the ``_np_*``/``_npi_*``/``_npx_*`` ops the
    installed MXNet registers) converts at ``opset`` (default: the newest):
    ``{"registered", "with_onnx_meaning", "covered", "not_covered", "no_onnx_meaning"}``
    (the last two list the op names; an op of no ONNX meaning gets an error naming the way out)."""
    import mxnet as mx  # only here: importing export.onnx must not load MXNet
    from .convert import MAX_OPSET
    from .ops.np_aliases import NO_ONNX_MEANING
    names = sorted(n for n in mx.operator.get_all_registered_operators() if is_numpy_op(n))
    covered = set(get_operator_support(opset or MAX_OPSET))
    meaningful = [n for n in names if n not in NO_ONNX_MEANING]
    return {"registered": len(names), "with_onnx_meaning": len(meaningful),
            "covered": sum(n in covered for n in meaningful),
            "not_covered": [n for n in meaningful if n not in covered],
            "no_onnx_meaning": [n for n in names if n in NO_ONNX_MEANING]}


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
        if want and 0 not in want and -1 not in want and tuple(want) != tuple(value.shape):
            raise InvalidInputError(f"params do not match the symbol: {name!r} has shape "
                             f"{tuple(value.shape)} but the symbol needs {tuple(want)} for input "
                             f"shapes {shapes}; pass the params saved with this symbol")


def build_model(sym, params, inputs, input_dtypes=np.float32, opset=None,
                dynamic_batch=True, optimize=True, metadata=None, dynamic_axes=None):
    """Convert to an in-memory, checked ``onnx.ModelProto``; ``inputs``: an :class:`InputSpec`,
    or the input shapes (resolved here with ``input_dtypes``, see :func:`resolve_inputs`)."""
    inputs = resolve_inputs(sym, params, inputs, input_dtypes)
    model, weights = build_model_parts(sym, params, inputs, opset=opset, dynamic_batch=dynamic_batch,
                                       optimize=optimize, metadata=metadata, dynamic_axes=dynamic_axes)
    append_initializers(model.graph, weights)
    return model


def build_model_parts(sym, params, inputs, opset=None, dynamic_batch=True, optimize=True, metadata=None,
                      dynamic_axes=None):
    """As :func:`build_model`, but returns ``(model, weights)``: the weights as ``(name,
    array)`` pairs, not yet in the model, for :func:`save_model` to stream to the file.

    ``inputs``: the :class:`InputSpec` of :func:`resolve_inputs`. ``dynamic_axes``/``dynamic_batch``: see
    :func:`.inputs.dynamic_spec`. The model's ``metadata_props`` record the dynamic axes
    (``dynamic_axes``: input -> {axis: dim}) and any requested axis that had to be exported
    fixed (``fixed_axes``).
    """
    opset = check_opset(opset)
    graph_json = json.loads(sym.tojson())
    check_supported(symbol_nodes(graph_json), opset)  # before shape inference, which some cannot pass
    with shape_semantics(graph_json):  # numpy-mode graphs: numpy shapes (0-d scalars)
        check_param_shapes(sym, params, inputs.shapes)
        dynamic = dynamic_spec(sym, inputs.names, inputs.shapes, inputs.labels, dynamic_batch, dynamic_axes)
        graph = mxgraph.build(sym, params, inputs.names, inputs.shapes, inputs.dtypes, dynamic)
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


__all__ = ["get_operator_support", "numpy_interface_coverage", "InputSpec", "resolve_inputs", "build_model",
           "build_model_parts", "save_model", "BATCH_DIM"]
