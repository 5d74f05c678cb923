"""The MXNet symbol as a plain node list with inferred shapes, dtypes and dynamic axes.

One ``infer_shape``/``infer_type`` pass over ``get_internals()`` gives every visible output's
shape and dtype; one more ``infer_shape`` per named dynamic dim marks the axes that follow it
(see :mod:`.dims`). The graph optimisations in :mod:`.optimize` edit this structure, not the
symbol.
"""
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import dims as dynamic
from ..errors import InvalidInputError


@dataclass
class MXNode:
    name: str
    op: str                      # "null" for variables
    attrs: Dict[str, str]
    inputs: List[Tuple[int, int]]  # (producer node index, output index)
    outputs: List[str] = field(default_factory=list)   # value names of visible outputs
    shapes: List[tuple] = field(default_factory=list)
    dtypes: List[np.dtype] = field(default_factory=list)
    dims: List[Tuple[Optional[dynamic.SymDim], ...]] = field(default_factory=list)

    @property
    def batch_axes(self):
        """Per output, the axes that vary at run time (any named dim)."""
        return [tuple(i for i, d in enumerate(out) if d is not None) for out in self.dims]


@dataclass
class MXGraph:
    nodes: List[MXNode]
    heads: List[Tuple[int, int]]
    params: Dict[str, np.ndarray]   # constant inputs (become initializers)
    data_inputs: List[str]          # run-time inputs, symbol order
    alias: Dict[str, str] = field(default_factory=dict)  # removed value -> replacement
    dim_sources: Dict[str, Tuple[str, int]] = field(default_factory=dict)  # dim -> (input, axis)
    dynamic: Dict[str, Dict[int, str]] = field(default_factory=dict)  # input -> {axis: dim}
    fixed: List[dict] = field(default_factory=list)  # requested dynamic dims exported fixed

    def value(self, ref):
        node_index, out_index = ref
        name = self.nodes[node_index].outputs[out_index]
        while name in self.alias:
            name = self.alias[name]
        return name

    def consumers(self):
        """``{value name: number of uses}`` over op nodes and heads (after aliasing)."""
        uses = {}
        for node in self.nodes:
            if node.op != "null":
                for ref in node.inputs:
                    uses[self.value(ref)] = uses.get(self.value(ref), 0) + 1
        for ref in self.heads:
            uses[self.value(ref)] = uses.get(self.value(ref), 0) + 1
        return uses


def shapes_summary(shapes, names):
    return {n: shapes[n] for n in names if n in shapes}


def unique_node_names(sym):
    """``sym`` with repeated op-node names made unique (MXNet repeats a name when one block is
    applied twice; ONNX value names must be unique). Variables keep their names. The symbol is
    rebuilt from its JSON when that drops nodes: ``tojson`` leaves out amp_cast/amp_multicast
    (GluonCV's box decoders emit them), which ``get_internals`` would still list."""
    graph_json = json.loads(sym.tojson())
    seen, renamed = {n["name"] for n in graph_json["nodes"] if n["op"] == "null"}, False
    for node in graph_json["nodes"]:
        if node["op"] == "null":
            continue
        name, k = node["name"], 0
        while name in seen:
            k += 1
            name = f"{node['name']}_{k}"
            renamed = True
        node["name"] = name
        seen.add(name)
    if not renamed and '"op": "amp_' not in sym.tojson(remove_amp_cast=False):
        return sym, graph_json
    import mxnet as mx  # only here: importing export.onnx must not load MXNet
    return mx.sym.load_json(json.dumps(graph_json)), graph_json


def _keep_given_input_shapes(nodes, input_shapes, spec):
    """A run-time input keeps the shape it was given: MXNet's inference can report another
    one of the same size (numpy ``concatenate(axis=None)`` flattens its inputs' shapes)."""
    for node in nodes:
        given = input_shapes.get(node.name) if node.op == "null" else None
        if given is not None and tuple(node.shapes[0]) != tuple(given):
            axes = spec.get(node.name, {})
            node.shapes[0] = tuple(given)
            node.dims[0] = tuple(dynamic.SymDim((axes[a],)) if a in axes else None for a in range(len(given)))


def build(sym, params, data_inputs, input_shapes, input_dtypes, dynamic_axes):
    """Parse ``sym`` into an :class:`MXGraph`.

    ``data_inputs``: the run-time inputs in order (labels of training heads left out: MXNet
    infers their shapes and the converters ignore them). ``input_shapes``/``input_dtypes``:
    run-time input name -> shape/dtype. ``dynamic_axes``: ``{input: {axis: dim name}}``.
    """
    sym, graph_json = unique_node_names(sym)
    internals = sym.get_internals()
    out_names = internals.list_outputs()

    shapes = {n: tuple(v.shape) for n, v in params.items()}
    shapes.update({n: tuple(input_shapes[n]) for n in data_inputs})
    out_shapes, error = dynamic.infer_quietly(internals, shapes)
    if out_shapes is None:
        node, reason = error
        at = f" (node {node!r})" if node else ""
        raise InvalidInputError(f"cannot infer shapes from input shapes "
                         f"{shapes_summary(shapes, data_inputs)}{at}: {reason}; give the shape "
                         "of every run-time input, batch axis included")
    grown, places, fixed = dynamic.resolve(internals, shapes, dynamic_axes)
    dtypes = {n: v.dtype for n, v in params.items()}
    dtypes.update({n: np.dtype(input_dtypes[n]) for n in data_inputs})
    _, out_types, _ = internals.infer_type(**dtypes)
    if out_types is None or any(t is None for t in out_types):
        raise InvalidInputError(f"input dtypes {dtypes} do not determine every dtype in the symbol")

    nodes, k = [], 0
    for raw in graph_json["nodes"]:
        attrs = {a: v for a, v in (raw.get("attrs") or raw.get("attr") or {}).items()
                 if not a.startswith("__")}
        node = MXNode(raw["name"], raw["op"], attrs, [(i[0], i[1]) for i in raw["inputs"]])
        while k < len(out_names) and internals[k].name == raw["name"]:
            node.outputs.append(out_names[k])
            node.shapes.append(tuple(out_shapes[k]))
            node.dtypes.append(np.dtype(out_types[k]))
            node.dims.append(dynamic.axis_dims(out_shapes, grown, k))
            k += 1
            if node.op == "null":
                break
        if not node.outputs:
            raise InvalidInputError(f"internal error: cannot match outputs of node {raw['name']!r}")
        nodes.append(node)
    _keep_given_input_shapes(nodes, {n: input_shapes[n] for n in data_inputs}, dynamic.spec_names(places))
    heads = [(h[0], h[1]) for h in graph_json["heads"]]
    used = {nodes[i].name for i in graph_json["arg_nodes"]}
    kept = {n: np.asarray(v) for n, v in params.items() if n in used}
    sources = {dim: where[0] for dim, where in places.items()}
    return MXGraph(nodes, heads, kept, data_inputs, dim_sources=sources,
                   dynamic=dynamic.spec_names(places), fixed=fixed)
