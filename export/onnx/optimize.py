"""Graph optimisations on the parsed MXNet graph, before conversion.

* identities (Dropout at inference, ``identity``/``_copy``/``BlockGrad``/``stop_gradient``) are
  aliased away;
* shape ops whose inputs are all params (GluonNLP reshapes and concatenates its attention
  weights in the graph) are computed here, so the file holds the weights as they are used;
* an inference BatchNorm on channel axis 1 whose input is a Convolution, or a FullyConnected
  with 2-D output (axis 1 = its units), used by nothing else, with constant weights and
  statistics, is folded into that layer's weight and bias.
"""
import numpy as np

from .attrs import attr_bool, attr_eps, attr_int, attr_str, attr_tuple
from .mxgraph import MXNode

IDENTITY_OPS = ("identity", "_copy", "BlockGrad", "stop_gradient")
FOLDABLE = ("Convolution", "FullyConnected")  # weight axis 0 is the output channel / unit


def optimize(graph):
    """Apply the passes in place; return ``graph``."""
    remove_identities(graph)
    fold_param_shapes(graph)
    fold_batchnorm(graph)
    return graph


def _fold_value(node, values):
    """numpy value of a shape op on param values (its output shape is known), or None."""
    axis = node.attrs.get("dim", node.attrs.get("axis", "0"))
    if node.op in ("Reshape", "reshape", "expand_dims", "Flatten", "flatten"):
        return values[0].reshape(node.shapes[0])
    if node.op in ("Concat", "concat", "_rnn_param_concat"):
        return np.concatenate(values, axis=int(axis))
    if node.op == "stack":
        return np.stack(values, axis=int(axis))
    if node.op == "transpose":
        axes = attr_tuple(node.attrs, "axes", ())
        return np.transpose(values[0], axes or None)
    return None


def fold_param_shapes(graph):
    """Replace reshape/concat/stack/transpose/expand_dims nodes whose inputs are all params
    by one param holding their result (in topological order, so chains fold)."""
    for node in list(graph.nodes):
        if node.op == "null" or len(node.outputs) != 1 or node.outputs[0] in graph.alias:
            continue
        names = [graph.value(r) for r in node.inputs]
        if not names or not all(n in graph.params for n in names):
            continue
        value = _fold_value(node, [graph.params[n] for n in names])
        if value is None or value.shape != tuple(node.shapes[0]):
            continue
        ref = _add_param(graph, np.ascontiguousarray(value, dtype=node.dtypes[0]), f"{node.name}_folded")
        graph.alias[node.outputs[0]] = graph.nodes[ref[0]].outputs[0]


def remove_identities(graph):
    for node in graph.nodes:
        is_dropout = node.op == "Dropout" and attr_str(node.attrs, "mode", "training") != "always"
        if node.op in IDENTITY_OPS or is_dropout:
            graph.alias[node.outputs[0]] = graph.value(node.inputs[0])


def _producers(graph):
    """``{value name: node}``, the first node producing each value (one pass, not one per BN)."""
    producers = {}
    for node in graph.nodes:
        if node.outputs and node.outputs[0] not in graph.alias:
            for value in node.outputs:
                producers.setdefault(value, node)
    return producers


def _add_param(graph, value, name):
    graph.params[name] = value
    graph.nodes.append(MXNode(name, "null", {}, [], [name], [value.shape], [value.dtype],
                              [(None,) * value.ndim]))
    return (len(graph.nodes) - 1, 0)


def fold_batchnorm(graph):
    uses, producers = graph.consumers(), _producers(graph)
    for bn in list(graph.nodes):
        if bn.op != "BatchNorm" or len(bn.outputs) != 1 or bn.outputs[0] in graph.alias:
            continue
        if attr_int(bn.attrs, "axis", 1) % len(bn.shapes[0]) != 1:
            continue
        source = graph.value(bn.inputs[0])
        conv = producers.get(source)
        stats = [graph.value(r) for r in bn.inputs[1:5]]
        if conv is None or conv.op not in FOLDABLE or uses.get(source) != 1:
            continue
        if conv.op == "FullyConnected" and len(bn.shapes[0]) != 2:  # axis 1 is not the units axis
            continue
        no_bias = attr_bool(conv.attrs, "no_bias")
        conv_params = [graph.value(r) for r in conv.inputs[1:2 if no_bias else 3]]
        if not all(name in graph.params for name in stats + conv_params):
            continue
        gamma, beta, mean, var = (graph.params[n].astype(np.float64) for n in stats)
        if attr_bool(bn.attrs, "fix_gamma", True):
            gamma = np.ones_like(gamma)
        scale = gamma / np.sqrt(var + attr_eps(bn, 1e-3))
        weight = graph.params[conv_params[0]]
        bias = np.zeros(len(scale)) if no_bias else graph.params[conv_params[1]].astype(np.float64)
        # The (large) weight is scaled in float32, as ONNX Runtime folds: float64 would cost twice
        # its memory and, on YOLOv3, a fifth of the export time, for under one ulp.
        work = np.promote_types(weight.dtype, np.float32)  # float16 weights: scaled in float32
        folded_w = (weight.astype(work, copy=False)
                    * scale.astype(work).reshape((-1,) + (1,) * (weight.ndim - 1))).astype(weight.dtype, copy=False)
        folded_b = (bias - mean) * scale + beta
        conv.inputs = [conv.inputs[0],
                       _add_param(graph, folded_w, f"{conv.name}_folded_weight"),
                       _add_param(graph, folded_b.astype(weight.dtype), f"{conv.name}_folded_bias")]
        conv.attrs = dict(conv.attrs, no_bias="False")
        graph.alias[bn.outputs[0]] = source
