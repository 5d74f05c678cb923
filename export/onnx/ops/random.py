"""Converters: random sampling (F.random.uniform/normal and their ``_like`` forms,
F.sample_multinomial).

The draws cannot equal MXNet's (another generator), only follow the same distribution with
the same shape and dtype. As in MXNet, each run of a session draws afresh and a new session
(process) starts from the same seed (``onnxruntime.set_seed`` changes it). MXNet's other
distributions (gamma, exponential, Poisson, ...) have no ONNX op and stay unsupported.

Opset 22 re-versioned these ops (bfloat16); ONNX Runtime 1.32 has no kernel for the new
versions, so files at opsets 22-23 are valid ONNX but need opset <= 21 to run in ONNX Runtime
(as RoiAlign and MaxRoiPool do).
"""
import numpy as np
from onnx import numpy_helper

from ..attrs import attr_bool, attr_float, attr_tuple
from ..registry import converter
from ._emit import Emitter, onnx_dtype

_DISTRIBUTIONS = {  # MXNet op -> (ONNX op, ((ONNX attribute, MXNet attribute, default), ...))
    "_random_uniform": ("RandomUniform", (("low", "low", 0.0), ("high", "high", 1.0))),
    "_random_normal": ("RandomNormal", (("mean", "loc", 0.0), ("scale", "scale", 1.0))),
    "_random_uniform_like": ("RandomUniformLike", (("low", "low", 0.0), ("high", "high", 1.0))),
    "_random_normal_like": ("RandomNormalLike", (("mean", "loc", 0.0), ("scale", "scale", 1.0))),
}


def _attrs(node):
    onnx_op, names = _DISTRIBUTIONS[node.op]
    return onnx_op, {key: attr_float(node.attrs, mx_key, default) for key, mx_key, default in names}


@converter("_random_uniform", "_random_normal")
def random_sample(node):
    """A fixed-shape draw; where the shape follows a dynamic dim (``shape=(0, C)`` inferred
    from a consumer), the ``Like`` form of the op over a run-time shaped tensor."""
    e = Emitter(node)
    onnx_op, attrs = _attrs(node)
    dtype = onnx_dtype(node.out_dtypes[0])
    shape = tuple(int(s) for s in node.out_shapes[0])
    dims = node.out_dims[0] if node.out_dims else ()
    if not any(d is not None for d in dims):
        e(onnx_op, [], out=node.outputs[0], shape=list(shape), dtype=dtype, **attrs)
        return e.nodes
    zero = numpy_helper.from_array(np.zeros(1, node.out_dtypes[0]), "value")
    template = e("ConstantOfShape", [e.shape_tensor(shape, dims)], value=zero)
    e(onnx_op + "Like", [template], out=node.outputs[0], dtype=dtype, **attrs)
    return e.nodes


@converter("_random_uniform_like", "_random_normal_like")
def random_like(node):
    e = Emitter(node)
    onnx_op, attrs = _attrs(node)
    e(onnx_op, [node.inputs[0]], out=node.outputs[0], dtype=onnx_dtype(node.out_dtypes[0]), **attrs)
    return e.nodes


@converter("_sample_multinomial")
def sample_multinomial(node):
    """Samples from the categorical distributions along the last axis of ``data``
    (probabilities), ``shape`` draws per distribution: output ``data.shape[:-1] + shape``
    (a 1-D ``data`` with ``shape=()``: (1,)); ``get_prob`` adds each draw's log-probability.
    ONNX's Multinomial takes 2-D log-probabilities and returns (rows, draws) in int32/int64."""
    e = Emitter(node)
    classes = int(node.in_shapes[0][-1])
    draws = int(np.prod(attr_tuple(node.attrs, "shape", ()) or (1,)))
    log_prob = e("Log", [e("Reshape", [node.inputs[0], e.int64([-1, classes])])])
    out_dtype = np.dtype(node.out_dtypes[0])
    index_dtype = out_dtype if out_dtype in (np.int32, np.int64) else np.dtype(np.int64)
    samples = e("Multinomial", [log_prob], sample_size=draws, dtype=onnx_dtype(index_dtype))
    if index_dtype == out_dtype:
        e.reshape(samples, 0, out=node.outputs[0])
    else:  # MXNet also returns the indices as uint8 or floats
        e.cast(e.reshape(samples, 0), out_dtype, out=node.outputs[0])
    if attr_bool(node.attrs, "get_prob"):
        index = samples if index_dtype == np.int64 else e.cast(samples, np.int64)
        picked = e("GatherElements", [log_prob, index], axis=1)
        e.reshape(picked, 1, out=node.outputs[1])
    return e.nodes
