"""MXGraph -> onnx.ModelProto: one converter call per op node, in the symbol's topological order."""
import numpy as np
import onnx
from onnx import helper

from ..errors import InvalidInputError, InvalidTypeError, UnsupportedOperatorError  # noqa: F401  (re-exported)
from . import ops  # noqa: F401  (registers every converter)
from .graph import GraphBuilder
from .ops.np_aliases import NO_ONNX_MEANING
from .registry import MIN_OPSET, OpNode, first_opset, from_user, lookup, op_key
from .writer import append_initializers

DEFAULT_OPSET = 17
# Highest opset we test and stamp; bounded by the installed onnx package as well.
MAX_OPSET = min(onnx.defs.onnx_opset_version(), 23)
BATCH_DIM = "batch"  # the name of axis 0 when only the batch is dynamic
SMALL_CONSTANT = 64  # elements; constants up to this size stay in the checked skeleton


def check_opset(opset):
    if opset is None:
        return DEFAULT_OPSET
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise InvalidInputError(f"opset {opset!r} is not supported: choose an int from {MIN_OPSET} to "
                         f"{MAX_OPSET} (default {DEFAULT_OPSET})")
    return opset


def check_supported(mxgraph, opset):
    """Raise one error for the first op without a converter, before any work is done: the
    way out for an op of no ONNX meaning, the opset to export with when its converter starts
    later, else how to register one (``mxgraph``: an MXGraph, or nodes with op/name/attrs)."""
    nodes = getattr(mxgraph, "nodes", mxgraph)
    missing = [n for n in nodes if n.op != "null" and lookup(n.op, opset, n.attrs) is None]
    if not missing:
        return
    first, key = missing[0], op_key(missing[0].op, missing[0].attrs)
    others = sorted({op_key(n.op, n.attrs) for n in missing} - {key})
    also = f" (also unsupported: {', '.join(others)})" if others else ""
    if key in NO_ONNX_MEANING:
        raise UnsupportedOperatorError(
            f"MXNet op {key!r} (node {first.name!r}) has no ONNX meaning: {NO_ONNX_MEANING[key]}{also}")
    start = first_opset(first.op, first.attrs)
    if start is not None:
        raise UnsupportedOperatorError(
            f"MXNet op {key!r} (node {first.name!r}) needs opset {start} or newer, not opset {opset}"
            f"{also}; export with opset={start} or later")
    raise UnsupportedOperatorError(
        f"MXNet op {key!r} (node {first.name!r}) has no ONNX converter at opset {opset}{also}; "
        f"register your own with @export.onnx.register_converter({key!r}) (docs/converters.md), "
        "or see export.onnx.get_operator_support() for the supported ops and opsets")


def _convert(fn, node):
    """``fn(node)``; a user's converter (:func:`.registry.register_converter`) that returns
    something else than ONNX nodes writing ``node.outputs`` is named in one error."""
    nodes = fn(node)
    if not from_user(fn):
        return nodes
    what = f"the converter {getattr(fn, '__name__', fn)!r} registered for {op_key(node.op, node.attrs)!r}"
    if not isinstance(nodes, (list, tuple)) or not all(isinstance(n, onnx.NodeProto) for n in nodes):
        raise InvalidTypeError(f"{what} returned {type(nodes).__name__}; return a list of onnx.NodeProto "
                               "(an Emitter's .nodes)")
    written = {o for n in nodes for o in n.output}
    missing = [o for o in node.outputs if o not in written]
    if missing:
        raise InvalidInputError(f"{what} does not write {missing}; write each of node.outputs "
                                "(e.g. e('Relu', [x], out=node.outputs[0]))")
    return list(nodes)


def _value_info(name, dtype, shape, dims):
    """A typed value; a dynamic axis is named after its dim (or ``<value>_dim<axis>`` when
    it is not exactly one named dim)."""
    names = [None if d is None else (d.name or f"{name}_dim{i}") for i, d in enumerate(dims)]
    shape = [int(s) if n is None else n for s, n in zip(shape, names)]
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)


def to_model(mxgraph, opset, graph_name="mxnet_graph", check=True):
    """Convert; dynamic axes (``MXNode.dims``) are symbolic in the inputs and outputs;
    ``check`` runs the ONNX checker (full check) on the result."""
    model, weights = to_model_parts(mxgraph, opset, graph_name, check)
    append_initializers(model.graph, weights)
    return model


def to_model_parts(mxgraph, opset, graph_name="mxnet_graph", check=True):
    """As :func:`to_model`, but the weights (initializers above ``SMALL_CONSTANT`` elements)
    are returned as ``(name, array)`` pairs instead of copied into the model, so that
    :func:`.writer.write_model` can stream them to the file."""
    check_supported(mxgraph, opset)
    graph = GraphBuilder(opset, mxgraph.dim_sources)
    nodes, index = mxgraph.nodes, {}
    for i, node in enumerate(nodes):
        for j, out in enumerate(node.outputs):
            index[out] = (i, j)

    inputs = []
    for name in mxgraph.data_inputs:
        node = nodes[index[name][0]]
        graph.reserve(name)
        inputs.append(_value_info(name, node.dtypes[0], node.shapes[0], node.dims[0]))
    for name, value in mxgraph.params.items():
        graph.add_initializer(value, name, exact_name=True)
    for node in nodes:
        if node.op != "null" and node.outputs[0] not in mxgraph.alias:
            for out in node.outputs:
                graph.reserve(out)

    for node in nodes:
        if node.op == "null" or node.outputs[0] in mxgraph.alias:
            continue
        refs = node.inputs
        op_node = OpNode(
            name=node.name, op=node.op, attrs=node.attrs,
            inputs=[mxgraph.value(r) for r in refs], outputs=list(node.outputs),
            in_shapes=[nodes[r[0]].shapes[r[1]] for r in refs],
            in_dtypes=[nodes[r[0]].dtypes[r[1]] for r in refs],
            out_shapes=list(node.shapes), out_dtypes=list(node.dtypes), opset=opset, graph=graph,
            out_dims=list(node.dims), in_dims=[nodes[r[0]].dims[r[1]] for r in refs])
        graph.add_nodes(_convert(lookup(node.op, opset, node.attrs), op_node))

    outputs, seen = [], set(mxgraph.data_inputs)
    for ref in mxgraph.heads:
        node = nodes[ref[0]]
        want, have = node.outputs[ref[1]], mxgraph.value(ref)
        name = have
        if have in seen or have != want:  # aliased away, an input, or listed twice: copy it
            name = graph.unique(want)
            graph.add_nodes([helper.make_node("Identity", [have], [name], name=graph.unique(name))])
        seen.add(name)
        outputs.append(_value_info(name, node.dtypes[ref[1]], node.shapes[ref[1]], node.dims[ref[1]]))

    used = {i for n in graph.nodes for i in n.input}
    weights = {n for n in used if graph.is_constant(n) and graph.constant_value(n).size > SMALL_CONSTANT}
    model = onnx.ModelProto()
    model.graph.name = graph_name
    model.graph.node.extend(graph.nodes)
    model.graph.input.extend(inputs)
    model.graph.output.extend(outputs)
    append_initializers(model.graph, graph.initializers(used - weights))
    opset_id = model.opset_import.add()
    opset_id.domain, opset_id.version = "", opset
    model.ir_version = helper.find_min_ir_version_for([opset_id])
    model.producer_name, model.producer_version = "hybridzoo-export", _version() or "0"
    if check:
        check_skeleton(model, graph, weights)
    return model, graph.initializers(weights)


def check_skeleton(model, graph, weights):
    """``onnx.checker.check_model(full_check=True)`` on the model before its weights go in.

    Weights stand in as typed graph inputs of their exact shape and dtype, so the structural
    checks and full shape inference see everything they use (small constants such as shapes
    and axes stay initializers, as shape inference reads their values), without parsing and
    copying hundreds of MB of weights once more. The tests check whole files as well.
    """
    skeleton = onnx.ModelProto()
    skeleton.CopyFrom(model)
    for name in sorted(weights):
        value = graph.constant_value(name)
        skeleton.graph.input.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(value.dtype), list(value.shape)))
    onnx.checker.check_model(skeleton, full_check=True)


def _version():
    from ..files.versions import package_version
    return package_version()
