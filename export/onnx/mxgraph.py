"""The MXNet symbol as a plain node list with inferred shapes, dtypes and batch axes.

One ``infer_shape``/``infer_type`` pass over ``get_internals()`` gives every visible output's
shape and dtype; a second ``infer_shape`` at another batch size marks the axes that follow the
batch. The graph optimisations in :mod:`.optimize` edit this structure, not the symbol.
"""
import json
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np


@dataclass
class MXNode:
    name: str
    op: str                      # "null" for variables
    attrs: Dict[str, str]
    inputs: List[Tuple[int, int]]  # (producer node index, output index)
    outputs: List[str] = field(default_factory=list)   # value names of visible outputs
    shapes: List[tuple] = field(default_factory=list)
    dtypes: List[np.dtype] = field(default_factory=list)
    batch_axes: List[tuple] = field(default_factory=list)


@dataclass
class MXGraph:
    nodes: List[MXNode]
    heads: List[Tuple[int, int]]
    params: Dict[str, np.ndarray]   # constant inputs (become initializers)
    data_inputs: List[str]          # run-time inputs, symbol order
    alias: Dict[str, str] = field(default_factory=dict)  # removed value -> replacement

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


def _infer(internals, shapes, names):
    try:
        _, out_shapes, _ = internals.infer_shape(**shapes)
    except Exception as err:  # MXNetError carries MXNet's own explanation
        raise ValueError(f"cannot infer shapes from input shapes {shapes_summary(shapes, names)}: "
                         f"{str(err).splitlines()[0]}") from None
    if out_shapes is None or any(s is None or 0 in s for s in out_shapes):
        raise ValueError(f"input shapes {shapes_summary(shapes, names)} do not determine every "
                         "shape in the symbol; give the shape of every run-time input")
    return out_shapes


def _rename_repeated_outputs(nodes):
    """A block applied twice (Mask R-CNN's top features) repeats node and output names in the
    symbol; every op output after the first of a name gets a ``_N`` suffix (values are unique)."""
    taken = {out for node in nodes for out in node.outputs}
    seen = set()
    for node in nodes:
        for j, out in enumerate(node.outputs):
            if out in seen and node.op != "null":
                n = 1
                while f"{out}_{n}" in taken:
                    n += 1
                node.outputs[j] = f"{out}_{n}"
                taken.add(node.outputs[j])
            seen.add(node.outputs[j])


def shapes_summary(shapes, names):
    return {n: shapes[n] for n in names if n in shapes}


def build(sym, params, data_inputs, input_shapes, input_dtypes, batch_axes):
    """Parse ``sym`` into an :class:`MXGraph`.

    ``data_inputs``: the run-time inputs in order (labels of training heads left out: MXNet
    infers their shapes and the converters ignore them). ``input_shapes``/``input_dtypes``: run-time input name -> shape/dtype. ``batch_axes``: input
    name -> axes that carry the batch (varied in a second inference to find them everywhere).
    """
    import mxnet as mx  # noqa: PLC0415 (the rest of this module needs no MXNet)
    text = sym.tojson()  # drops amp_cast/amp_multicast nodes (gluoncv's box decoders emit them)
    graph_json = json.loads(text)
    internals = mx.sym.load_json(text).get_internals()  # so internals match the JSON's nodes
    out_names = internals.list_outputs()

    shapes = {n: tuple(v.shape) for n, v in params.items()}
    shapes.update({n: tuple(input_shapes[n]) for n in data_inputs})
    out_shapes = _infer(internals, shapes, data_inputs)
    grown = dict(shapes)
    for name, axes in batch_axes.items():
        grown[name] = tuple(d * 2 + 1 if i in axes else d for i, d in enumerate(shapes[name]))
    grown_shapes = _infer(internals, grown, data_inputs)
    dtypes = {n: v.dtype for n, v in params.items()}
    dtypes.update({n: np.dtype(input_dtypes[n]) for n in data_inputs})
    _, out_types, _ = internals.infer_type(**dtypes)
    if out_types is None or any(t is None for t in out_types):
        raise ValueError(f"input dtypes {dtypes} do not determine every dtype in the symbol")

    # internal output k is output heads[k][1] of node heads[k][0] (names can repeat)
    owner = {}
    for k, (node_id, _, *_) in enumerate(json.loads(internals.tojson())["heads"]):
        owner.setdefault(node_id, []).append(k)
    nodes = []
    for node_id, raw in enumerate(graph_json["nodes"]):
        attrs = {a: v for a, v in (raw.get("attrs") or raw.get("attr") or {}).items()
                 if not a.startswith("__")}
        node = MXNode(raw["name"], raw["op"], attrs, [(i[0], i[1]) for i in raw["inputs"]])
        for k in owner.get(node_id, ()):
            node.outputs.append(out_names[k])
            node.shapes.append(tuple(out_shapes[k]))
            node.dtypes.append(np.dtype(out_types[k]))
            node.batch_axes.append(tuple(
                i for i, (a, b) in enumerate(zip(out_shapes[k], grown_shapes[k])) if a != b))
        if not node.outputs:
            raise ValueError(f"internal error: cannot match outputs of node {raw['name']!r}")
        nodes.append(node)
    _rename_repeated_outputs(nodes)
    heads = [(h[0], h[1]) for h in graph_json["heads"]]
    used = {nodes[i].name for i in graph_json["arg_nodes"]}
    kept = {n: np.asarray(v) for n, v in params.items() if n in used}
    return MXGraph(nodes, heads, kept, data_inputs)
