"""Converters: the fused RNN op (Gluon's rnn.RNN / LSTM / GRU layers) and its param concat.

MXNet packs every weight into one flat vector: all weights (layer, direction, i2h then h2h),
then all biases in the same order. Each layer becomes one ONNX RNN/LSTM/GRU node whose
W/R/B are sliced out of that vector in the graph (ORT folds them when the params are
constant) with the gates reordered: MXNet (cuDNN) LSTM gates are i,f,c,o and ONNX's i,o,f,c;
GRU r,z,n against ONNX z,r,h, with ``linear_before_reset`` (cuDNN's GRU).
"""
import numpy as np
from onnx import numpy_helper

from ..attrs import attr_bool, attr_int, attr_str
from ..registry import converter
from ._emit import Emitter, unsupported

# mode -> (ONNX op, gates, MXNet gate index for each ONNX gate slot)
_MODES = {"lstm": ("LSTM", 4, [0, 3, 1, 2]), "gru": ("GRU", 3, [1, 0, 2]),
          "rnn_tanh": ("RNN", 1, [0]), "rnn_relu": ("RNN", 1, [0])}


@converter("_rnn_param_concat")
def rnn_param_concat(node):
    e = Emitter(node)
    e("Concat", node.inputs, out=node.outputs[0], axis=attr_int(node.attrs, "dim", 0))
    return e.nodes


def _drop_zero_state(graph, name):
    """True when ``name`` is zeros made earlier (a Constant, or a ConstantOfShape when its
    shape follows a dynamic dim): Gluon's default begin state. ONNX's recurrent ops start from
    zeros when the state is omitted, so the file stays independent of the export batch; a
    Constant used only here is removed."""
    for onnx_node in reversed(graph.nodes):
        if name in onnx_node.output:
            if onnx_node.op_type not in ("Constant", "ConstantOfShape") or not onnx_node.attribute:
                return False
            if numpy_helper.to_array(onnx_node.attribute[0].t).any():
                return False
            if onnx_node.op_type == "Constant":
                graph.nodes.remove(onnx_node)
            return True
    return False


class _Params:
    """Slices of MXNet's flat parameter vector, reordered to ONNX's gate order."""

    def __init__(self, e, flat, gates, order, hidden):
        self.e, self.flat, self.gates, self.order, self.hidden = e, flat, gates, order, hidden
        self.offset = 0

    def take(self, shape):
        """The next ``prod(shape)`` values as an array of ``shape`` with gate blocks reordered."""
        e, size = self.e, int(np.prod(shape))
        flat = e("Slice", [self.flat, e.int64([self.offset], "start"), e.int64([self.offset + size], "end")])
        self.offset += size
        blocks = e("Reshape", [flat, e.int64([self.gates, -1], "blocks")])
        reordered = e("Gather", [blocks, e.int64(self.order, "gate_order")], axis=0)
        return e("Reshape", [reordered, e.int64([1] + list(shape), "shape")])


@converter("RNN")
def rnn(node):
    mode = attr_str(node.attrs, "mode")
    if mode not in _MODES:
        raise unsupported(node, f"mode={mode!r}", "use lstm, gru, rnn_tanh or rnn_relu")
    for key, fix in (("projection_size", "drop the projection"), ("lstm_state_clip_min", "drop the clip"),
                     ("lstm_state_clip_max", "drop the clip")):
        if node.attrs.get(key, "None") != "None":
            raise unsupported(node, f"{key}={node.attrs[key]}", fix)
    if attr_bool(node.attrs, "use_sequence_length"):
        raise unsupported(node, "use_sequence_length=True", "pad the sequences and mask the output")
    op_type, gates, order = _MODES[mode]
    hidden, layers = attr_int(node.attrs, "state_size"), attr_int(node.attrs, "num_layers", 1)
    dirs = 2 if attr_bool(node.attrs, "bidirectional") else 1
    width = node.in_shapes[0][2]
    e = Emitter(node)
    params = _Params(e, node.inputs[1], gates, order, hidden)
    weights = []  # per layer: (W, R) each [dirs, gates*H, in]
    for layer in range(layers):
        in_size = width if layer == 0 else dirs * hidden
        pairs = [(params.take((gates * hidden, in_size)), params.take((gates * hidden, hidden)))
                 for _ in range(dirs)]
        weights.append([e("Concat", list(ws), axis=0) for ws in zip(*pairs)])
    biases = []  # per layer: B [dirs, 2*gates*H] (input bias then recurrent bias)
    for layer in range(layers):
        per_dir = [e("Concat", [params.take((gates * hidden,)), params.take((gates * hidden,))], axis=1)
                   for _ in range(dirs)]
        biases.append(e("Concat", per_dir, axis=0))

    states = node.inputs[2:4]
    zero_state = {s: _drop_zero_state(node.graph, s) for s in dict.fromkeys(states)}
    x = node.inputs[0]
    attrs = dict(hidden_size=hidden, direction="bidirectional" if dirs == 2 else "forward")
    if op_type == "GRU":
        attrs["linear_before_reset"] = 1
    if op_type == "RNN":
        attrs["activations"] = ["Relu" if mode == "rnn_relu" else "Tanh"] * dirs
    final = [[] for _ in states]
    for layer, ((w, r), b) in enumerate(zip(weights, biases)):
        initial = []
        for state in states:
            if zero_state[state]:
                initial.append("")
            else:
                initial.append(e("Slice", [state, e.int64([layer * dirs], "start"),
                                           e.int64([(layer + 1) * dirs], "end")]))
        name = node.graph.unique(f"{node.name}_l{layer}")
        outs = [f"{name}_y", f"{name}_h"] + ([f"{name}_c"] if op_type == "LSTM" else [])
        e.multi(op_type, [x, w, r, b, ""] + initial, outs, **attrs)
        for acc, out in zip(final, outs[1:]):
            acc.append(out)
        # Y is [T, dirs, N, H] -> [T, N, dirs * H]
        last = layer == layers - 1
        y = e("Transpose", [outs[0]], perm=[0, 2, 1, 3])
        x = e("Reshape", [y, e.int64([0, 0, dirs * hidden], "y_shape")], out=node.outputs[0] if last else None)
    for acc, out in zip(final, node.outputs[1:]):
        e("Concat", acc, out=out, axis=0)
    return e.nodes
