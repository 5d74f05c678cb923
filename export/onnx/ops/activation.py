"""Converters: LeakyReLU (leaky, prelu, rrelu, elu, selu, gelu), the softmax family and the
training heads (identity, sigmoid or softmax at inference).

MXNet's gelu is the exact, erf-based one: 0.5 x (1 + erf(x / sqrt 2)); ONNX has no Gelu
before opset 20, so it is composed there. PReLU's slope is (C,) along axis 1, which ONNX's
unidirectional broadcasting only accepts shaped (C, 1, ..., 1).
"""
import math

import numpy as np
from onnx import helper

from ..attrs import attr_bool, attr_float, attr_int, attr_str
from ..registry import converter
from ._emit import Emitter, normalize_axis, onnx_dtype, unsupported

# MXNet's SELU constants (src/operator/leaky_relu-inl.h), more digits than ONNX's defaults.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_LAMBDA = 1.0507009873554804934193349852946


def _gelu(e, x, out):
    inner = e("Erf", [e("Mul", [x, e.const(1.0 / math.sqrt(2.0), hint="inv_sqrt2")])])
    half_x = e("Mul", [x, e.const(0.5, hint="half")])
    return e("Mul", [half_x, e("Add", [inner, e.const(1.0, hint="one")])], out=out)


@converter("LeakyReLU")
@converter("LeakyReLU", opset=20)  # gelu: ONNX's own (exact, erf-based) Gelu from opset 20
def leaky_relu(node):
    e = Emitter(node)
    act = attr_str(node.attrs, "act_type", "leaky")
    slope = attr_float(node.attrs, "slope", 0.25)
    x, out = node.inputs[0], node.outputs[0]
    if act == "leaky":
        e("LeakyRelu", [x], out=out, alpha=slope)
    elif act == "rrelu":  # inference mode: the mean of the random slope's range
        lower = attr_float(node.attrs, "lower_bound", 0.125)
        upper = attr_float(node.attrs, "upper_bound", 0.334)
        e("LeakyRelu", [x], out=out, alpha=(lower + upper) / 2.0)
        if len(node.outputs) > 1:  # the training-time random mask output: zeros at inference
            e("ConstantOfShape", [e("Shape", [x])], out=node.outputs[1],
              value=helper.make_tensor("value", onnx_dtype(node.out_dtypes[1]), [1], [0]))
    elif act == "prelu":
        ndim = len(node.in_shapes[0])
        gamma = node.inputs[1]
        if node.in_shapes[1] != (1,) and ndim > 2:
            gamma = e.per_channel(gamma, ndim, axis=1)
        e("PRelu", [x, gamma], out=out)
    elif act == "elu":
        e("Elu", [x], out=out, alpha=slope)
    elif act == "selu":
        e("Selu", [x], out=out, alpha=_SELU_ALPHA, gamma=_SELU_LAMBDA)
    elif act == "gelu" and node.opset >= 20:
        e("Gelu", [x], out=out, approximate="none")
    elif act == "gelu":
        _gelu(e, x, out)
    else:
        raise unsupported(node, f"act_type={act!r}", "use leaky, prelu, rrelu, elu, selu or gelu")
    return e.nodes


def _length_mask(e, x, lengths, axis, rank):
    """True where the position along ``axis`` is below the row's length (lengths: the data's
    shape without ``axis``); the positions come from the run-time shape."""
    count = e("Reshape", [e("Gather", [e("Shape", [x]), e.int64([axis], "axis")], axis=0),
                          e.int64([], "scalar")])
    steps = e("Range", [e.int64(0, "zero"), count, e.int64(1, "one")])
    steps = e.unsqueeze(steps, [i for i in range(rank) if i != axis])
    return e("Less", [steps, e.unsqueeze(e.cast(lengths, np.int64), [axis])])


def _softmax(node, onnx_op, negate=False):
    """softmax/log_softmax/softmin along ``axis`` with ``temperature`` and output ``dtype``;
    softmax with ``use_length``: positions at or beyond each row's length are left out and are
    0 in the output (a row of length 0 is all 0), as in MXNet."""
    e = Emitter(node)
    x = node.inputs[0]
    in_dtype, out_dtype = np.dtype(node.in_dtypes[0]), np.dtype(node.out_dtypes[0])
    if out_dtype != in_dtype:
        x = e.cast(x, out_dtype)
    temperature = attr_float(node.attrs, "temperature", 1.0)
    if negate:
        x = e("Neg", [x])
    if temperature != 1.0:
        x = e("Div", [x, e.const(temperature, out_dtype, "temperature")])
    rank = len(node.in_shapes[0])
    axis = normalize_axis(attr_int(node.attrs, "axis", -1), rank)
    if not attr_bool(node.attrs, "use_length") or len(node.inputs) < 2:
        e(onnx_op, [x], out=node.outputs[0], axis=axis)
        return e.nodes
    keep = _length_mask(e, x, node.inputs[1], axis, rank)
    lowest = e.const(np.finfo(out_dtype).min, out_dtype, "lowest")
    y = e(onnx_op, [e("Where", [keep, x, lowest])], axis=axis)
    e("Where", [keep, y, e.const(0.0, out_dtype, "zero")], out=node.outputs[0])
    return e.nodes


@converter("softmax")
def softmax(node):
    return _softmax(node, "Softmax")


@converter("log_softmax")
def log_softmax(node):
    return _softmax(node, "LogSoftmax")


@converter("softmin")
def softmin(node):
    return _softmax(node, "Softmax", negate=True)


@converter("SoftmaxActivation")
def softmax_activation(node):
    """mode='channel': softmax over axis 1; 'instance': over the last axis (MXNet flattens
    the input to 2-D keeping the last axis)."""
    e = Emitter(node)
    channel = attr_str(node.attrs, "mode", "instance") == "channel"
    e("Softmax", node.inputs[:1], out=node.outputs[0], axis=1 if channel else -1)
    return e.nodes


@converter("SoftmaxOutput", "Softmax")
def softmax_output(node):
    """At inference SoftmaxOutput is a softmax over axis 1 (or the last axis with
    ``preserve_shape``); the label input is ignored."""
    e = Emitter(node)
    x, out = node.inputs[0], node.outputs[0]
    ndim = len(node.in_shapes[0])
    if attr_bool(node.attrs, "preserve_shape"):
        e("Softmax", [x], out=out, axis=ndim - 1)
    elif attr_bool(node.attrs, "multi_output") or ndim == 2:
        e("Softmax", [x], out=out, axis=1)
    else:  # MXNet flattens everything after the batch axis
        flat = e("Flatten", [x], axis=1)
        e("Reshape", [e("Softmax", [flat], axis=1), e("Shape", [x])], out=out)
    return e.nodes


@converter("LinearRegressionOutput", "MAERegressionOutput", "SVMOutput", "MakeLoss", "make_loss",
           "_contrib_gradientmultiplier", "IdentityAttachKLSparseReg")
def identity_head(node):
    """Training heads and gradient-only ops: the identity at inference (labels are unused)."""
    e = Emitter(node)
    e("Identity", node.inputs[:1], out=node.outputs[0])
    return e.nodes


@converter("LogisticRegressionOutput")
def logistic_regression_output(node):
    e = Emitter(node)
    e("Sigmoid", node.inputs[:1], out=node.outputs[0])
    return e.nodes
