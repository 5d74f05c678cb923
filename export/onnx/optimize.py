"""Graph optimisations on the parsed MXNet graph, before conversion.

* identities (Dropout at inference, ``identity``/``_copy``/``BlockGrad``/``stop_gradient``) are
  aliased away;
* an inference BatchNorm on channel axis 1 whose input is a Convolution used by nothing else,
  with constant weights and statistics, is folded into that convolution's weight and bias.
"""
import numpy as np

from .attrs import attr_bool, attr_float, attr_int, attr_str
from .mxgraph import MXNode

IDENTITY_OPS = ("identity", "_copy", "BlockGrad", "stop_gradient")


def optimize(graph):
    """Apply both passes in place; return ``graph``."""
    remove_identities(graph)
    fold_batchnorm(graph)
    return graph


def remove_identities(graph):
    for node in graph.nodes:
        is_dropout = node.op == "Dropout" and attr_str(node.attrs, "mode", "training") != "always"
        if node.op in IDENTITY_OPS or is_dropout:
            graph.alias[node.outputs[0]] = graph.value(node.inputs[0])


def _producer(graph, value):
    for index, node in enumerate(graph.nodes):
        if value in node.outputs and node.outputs[0] not in graph.alias:
            return index, node
    return None, None


def _add_param(graph, value, name):
    graph.params[name] = value
    graph.nodes.append(MXNode(name, "null", {}, [], [name], [value.shape], [value.dtype],
                              [(None,) * value.ndim]))
    return (len(graph.nodes) - 1, 0)


def fold_batchnorm(graph):
    uses = graph.consumers()
    for bn in list(graph.nodes):
        if bn.op != "BatchNorm" or len(bn.outputs) != 1 or bn.outputs[0] in graph.alias:
            continue
        if attr_int(bn.attrs, "axis", 1) % len(bn.shapes[0]) != 1:
            continue
        source = graph.value(bn.inputs[0])
        _, conv = _producer(graph, source)
        stats = [graph.value(r) for r in bn.inputs[1:5]]
        if conv is None or conv.op != "Convolution" or uses.get(source) != 1:
            continue
        no_bias = attr_bool(conv.attrs, "no_bias")
        conv_params = [graph.value(r) for r in conv.inputs[1:2 if no_bias else 3]]
        if not all(name in graph.params for name in stats + conv_params):
            continue
        gamma, beta, mean, var = (graph.params[n].astype(np.float64) for n in stats)
        if attr_bool(bn.attrs, "fix_gamma", True):
            gamma = np.ones_like(gamma)
        scale = gamma / np.sqrt(var + attr_float(bn.attrs, "eps", 1e-3))
        weight = graph.params[conv_params[0]]
        bias = np.zeros(len(scale)) if no_bias else graph.params[conv_params[1]].astype(np.float64)
        folded_w = weight * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
        folded_b = (bias - mean) * scale + beta
        conv.inputs = [conv.inputs[0],
                       _add_param(graph, folded_w.astype(weight.dtype), f"{conv.name}_folded_weight"),
                       _add_param(graph, folded_b.astype(weight.dtype), f"{conv.name}_folded_bias")]
        conv.attrs = dict(conv.attrs, no_bias="False")
        graph.alias[bn.outputs[0]] = source
