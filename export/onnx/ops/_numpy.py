"""Shared by the numpy-interface converters: run a legacy op's converter in another dtype.

Most ``_np*`` ops compute what a legacy op computes, with numpy's dtypes: operands of mixed
dtypes are promoted, ``/`` on integers is true division, comparisons return bool, and a float
function of an integer array (``np.exp(int32)`` in MXNet 1.9.1) computes in float and casts
back. :func:`delegate` casts the inputs to the computing dtype, calls the legacy converter on
a view of the node in that dtype, and casts the outputs to the node's own dtypes.
"""
from dataclasses import replace

import numpy as np

from ..registry import lookup
from ._emit import Emitter


def is_int(dtype):
    return np.issubdtype(np.dtype(dtype), np.integer) or np.dtype(dtype) == np.bool_


def float_of(dtype):
    """``dtype`` if it is a float, else float32 (numpy mode's default float)."""
    return np.dtype(np.float32) if is_int(dtype) else np.dtype(dtype)


def delegate(node, legacy, dtype=None, attrs=None, out_dtype=None):
    """``legacy``'s converter applied to ``node`` computed in ``dtype`` (default: the output's):
    inputs cast to it; outputs computed in ``out_dtype`` (default ``dtype``) and cast to the
    node's dtypes where those differ."""
    dtype = np.dtype(dtype or node.out_dtypes[0])
    out_dtype = np.dtype(out_dtype or dtype)
    e = Emitter(node)
    inputs = [x if np.dtype(t) == dtype else e.cast(x, dtype) for x, t in zip(node.inputs, node.in_dtypes)]
    outputs = [o if np.dtype(t) == out_dtype else node.graph.unique(f"{o}_{out_dtype.name}")
               for o, t in zip(node.outputs, node.out_dtypes)]
    view = replace(node, op=legacy, attrs=node.attrs if attrs is None else attrs, inputs=inputs,
                   outputs=outputs, in_dtypes=[dtype] * len(inputs), out_dtypes=[out_dtype] * len(outputs))
    nodes = e.nodes + lookup(legacy, node.opset)(view)
    tail = Emitter(node)
    for have, want, t in zip(outputs, node.outputs, node.out_dtypes):
        if have != want:
            tail.cast(have, t, out=want)
    return nodes + tail.nodes


def via(legacy, dtype=None, **kwargs):
    """A converter delegating to ``legacy``; ``dtype(node)`` picks the computing dtype."""
    def convert(node):
        return delegate(node, legacy, dtype(node) if dtype else None, **kwargs)
    convert.__doc__ = f"numpy form of {legacy}"
    return convert
