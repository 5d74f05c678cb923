"""What a checkpoint's symbol says about its inputs: which it has, the shapes recorded with it
(the manifest.json ``export_symbol`` writes beside it, ``__shape__``/``__dtype__`` attrs of its
variables), and the values each takes (token ids below the ``input_dim`` of the Embedding they
feed; valid lengths up to the sequence's length).
"""
import ast
import json

import numpy as np

from ..errors import InvalidInputError
from ..inputs import data_inputs, label_inputs
from .specs import CheckpointInput

# Ops that pass an input's values through unchanged (so ids stay ids on the way to an Embedding).
PASS_THROUGH = {"Cast", "cast", "amp_cast", "Reshape", "reshape", "transpose", "SwapAxis", "swapaxes",
                "expand_dims", "Flatten", "flatten", "_copy", "identity", "BlockGrad", "stop_gradient",
                "squeeze", "slice", "slice_axis", "_npx_reshape", "_np_reshape", "_npi_cast"}
EMBEDDINGS = {"Embedding": 0, "_contrib_SparseEmbedding": 0, "_npx_embedding": 0}
# (op, input slot) that read valid lengths.
LENGTH_SLOTS = {("SequenceMask", 1), ("SequenceLast", 1), ("SequenceReverse", 1), ("softmax", 1),
                ("masked_softmax", 1), ("_npx_sequence_mask", 1)}
MX_DTYPES = {0: "float32", 1: "float64", 2: "float16", 3: "uint8", 4: "int32", 5: "int8", 6: "int64"}


def describe_inputs(sym, params, given=None, recorded=None):
    """The symbol's run-time inputs as :class:`CheckpointInput`, in symbol order: shapes and dtypes from
    ``given`` (name -> spec), else ``recorded`` (name -> ``(shape, dtype)``: a manifest's), else the
    symbol's ``__shape__`` attrs; value ranges read from the graph. Label inputs of training heads
    are not run-time inputs. An input without a shape raises one line naming it."""
    given, labels = dict(given or {}), label_inputs(sym)
    names = data_inputs(sym, params, labels)
    if not names:
        raise InvalidInputError("the symbol has no run-time input: every variable is in params; pass the params "
                                "saved with this symbol")
    unknown = sorted(set(given) - set(names) - labels)
    if unknown:
        raise InvalidInputError(f"--input names {', '.join(unknown)}, which the symbol does not take; its inputs "
                                f"are {', '.join(names)}")
    graph = json.loads(sym.tojson())
    found = dict(_attr_shapes(graph), **(recorded or {}))
    missing = [n for n in names if n not in given and n not in found]
    if missing:
        flags = " ".join(f"--input {n}:{example_shape(graph, n, params)}" for n in missing)
        raise InvalidInputError(f"input{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))} "
                                f"ha{'ve' if len(missing) > 1 else 's'} no shape recorded with the symbol: "
                                f"give {'them' if len(missing) > 1 else 'it'}, e.g. {flags}")
    shaped = {n: given[n] if n in given else CheckpointInput(n, *found[n]) for n in names}
    return [_with_values(graph, spec, shaped) for spec in shaped.values()]


def manifest_shapes(manifest):
    """``{name: (shape, dtype)}`` of a hybridzoo manifest's inputs (a dynamic batch becomes 1)."""
    return {i["name"]: (tuple(1 if d is None else int(d) for d in i["shape"]), i.get("dtype") or "float32")
            for i in (manifest or {}).get("inputs", []) if i.get("shape")}


def _attr_shapes(graph):
    found = {}
    for node in graph["nodes"]:
        attrs = node.get("attrs") or {}
        if node["op"] != "null" or "__shape__" not in attrs:
            continue
        shape = tuple(ast.literal_eval(attrs["__shape__"]))
        shape = (shape[0] or 1,) + shape[1:] if shape else shape
        if shape and all(shape):
            found[node["name"]] = (shape, MX_DTYPES.get(int(attrs.get("__dtype__", 0)), "float32"))
    return found


def _consumers(graph, name):
    """``(node, slot)`` pairs reading input ``name``, through ops that pass its values unchanged."""
    nodes = graph["nodes"]
    start = [i for i, n in enumerate(nodes) if n["op"] == "null" and n["name"] == name]
    reached, frontier = [], set(start)
    while frontier:
        following = set()
        for index, node in enumerate(nodes):
            for slot, (src, _, _) in enumerate(node["inputs"]):
                if src in frontier:
                    reached.append((node, slot))
                    if node["op"] in PASS_THROUGH and slot == 0:
                        following.add(index)
        frontier = following
    return reached


def _with_values(graph, spec, shaped):
    """``spec`` with the values its consumers take: ids, lengths, or U(-1, 1) floats."""
    uses = _consumers(graph, spec.name)
    dims = [int(n["attrs"]["input_dim"]) for n, slot in uses if EMBEDDINGS.get(n["op"]) == slot]
    if dims:
        return spec.with_(values="index", low=0, high=min(dims))
    reads_length = any((n["op"], slot) in LENGTH_SLOTS for n, slot in uses)
    if len(spec.shape) == 1 and (reads_length or "len" in spec.name.lower()):
        steps = [s.shape[1] for s in shaped.values() if s is not spec and len(s.shape) >= 2]
        return spec.with_(values="length", low=1, high=max(steps or [1]))
    return spec


def example_shape(graph, name, params=None):
    """A plausible ``SHAPE[:DTYPE]`` for input ``name`` from the first op reading it."""
    for node, slot in _consumers(graph, name):
        attrs, op = node.get("attrs") or {}, node["op"]
        if op in EMBEDDINGS:
            return "1x128:int32"
        if op == "Convolution" and slot == 0:
            spatial = len(ast.literal_eval(attrs.get("kernel", "(3, 3)")))
            return "x".join(["1", "3"] + ["224"] * spatial)
        if op == "FullyConnected" and slot == 0:
            weight = graph["nodes"][node["inputs"][1][0]]["name"]
            if params and weight in params:
                return f"1x{np.shape(params[weight])[1]}"
    return "1x3x224x224"
