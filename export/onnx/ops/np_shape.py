"""Converters: the numpy interface's shape ops (reshape, transpose, squeeze, concatenate,
stack, moveaxis, roll, atleast_Nd, vstack, tril, pad, diff, rot90).

``_np_reshape`` (numpy's ``newshape``, -1 only) and ``_npx_reshape`` (MXNet's codes -1...-6,
``reverse``) both reshape to the inferred output shape through ``Emitter.reshape``, which
keeps dynamic axes dynamic, so neither re-implements the codes. Where numpy drops every axis
(``squeeze`` of all-ones) the result is 0-d, not MXNet's legacy (1,).
"""
import ast

import numpy as np

from ..attrs import attr_int, attr_str, attr_tuple
from ..registry import converter
from ._emit import Emitter, normalize_axis, unsupported
from .shape import INT64_MAX, INT64_MIN, _slice


def _axes(node, key="axis", ndim=None):
    """numpy's ``axis``: None -> None; an int or tuple -> sorted non-negative axes."""
    ndim = len(node.in_shapes[0]) if ndim is None else ndim
    axes = attr_tuple(node.attrs, key)
    return None if axes is None else sorted(normalize_axis(a, ndim) for a in axes)


def _to_output(e, node, x, index=0):
    """``x`` reshaped to output ``index`` (dynamic axes kept)."""
    return e.reshape(x, out_index=index, out=node.outputs[index])


@converter("_np_squeeze")
def squeeze(node):
    shape = node.in_shapes[0]
    axes = _axes(node)
    dynamic = set(node.in_dynamic_axes[0]) if node.in_dims else set()
    if axes is None:
        if any(shape[i] == 1 for i in dynamic):
            raise unsupported(node, "squeeze without axis on a dynamic axis of size 1",
                              "pass axis=... or export with that axis > 1")
        axes = [i for i, d in enumerate(shape) if d == 1]
    e = Emitter(node)
    if axes:
        e.squeeze(node.inputs[0], axes, out=node.outputs[0])
    else:
        e("Identity", node.inputs[:1], out=node.outputs[0])
    return e.nodes


@converter("_npi_concatenate")
def concatenate(node):
    """numpy's concatenate along ``axis``; axis=None concatenates the flattened inputs."""
    e = Emitter(node)
    if node.attrs.get("axis", "0") == "None":
        parts = [e("Reshape", [x, e.int64([-1])]) for x in node.inputs]
        e("Concat", parts, out=node.outputs[0], axis=0)
    else:
        axis = normalize_axis(attr_int(node.attrs, "axis", 0), len(node.in_shapes[0]))
        e("Concat", node.inputs, out=node.outputs[0], axis=axis)
    return e.nodes


def _at_least(x, shape, ndim, e, where):
    """``x`` of ``shape`` with 1s added to reach ``ndim`` axes: ``where`` is numpy's rule
    (atleast_2d: in front; atleast_3d: (N,) -> (1, N, 1), (M, N) -> (M, N, 1))."""
    if len(shape) >= ndim:
        return x
    axes = where[len(shape)]
    return e.unsqueeze(x, axes) if axes else x


_ATLEAST = {1: {0: [0]}, 2: {0: [0, 1], 1: [0]}, 3: {0: [0, 1, 2], 1: [0, 2], 2: [2]}}
_STACKS = {"_npi_hstack": (1, None), "_npi_vstack": (2, 0), "_npi_dstack": (3, 2),
           "_npi_column_stack": (None, 1)}


def _atleast(ndim):
    def convert(node):
        e = Emitter(node)
        for x, shape, out in zip(node.inputs, node.in_shapes, node.outputs):
            y = _at_least(x, shape, ndim, e, _ATLEAST[ndim])
            e("Identity", [y], out=out)
        return e.nodes
    return convert


for _n in (1, 2, 3):
    converter(f"_np_atleast_{_n}d")(_atleast(_n))


def _stack(ndim, axis):
    """hstack (axis 1, 0 for 1-D inputs), vstack, dstack, column_stack (1-D -> columns)."""
    def convert(node):
        e = Emitter(node)
        if ndim is None:  # column_stack
            parts = [e.unsqueeze(x, [1]) if len(s) == 1 else x for x, s in zip(node.inputs, node.in_shapes)]
            at = 1
        else:
            parts = [_at_least(x, s, ndim, e, _ATLEAST[ndim]) for x, s in zip(node.inputs, node.in_shapes)]
            at = axis if axis is not None else (0 if len(node.in_shapes[0]) == 1 else 1)
        e("Concat", parts, out=node.outputs[0], axis=at)
        return e.nodes
    return convert


for _name, (_ndim, _axis) in _STACKS.items():
    converter(_name)(_stack(_ndim, _axis))


@converter("_np_moveaxis")
def moveaxis(node):
    ndim = len(node.in_shapes[0])
    source = [normalize_axis(a, ndim) for a in attr_tuple(node.attrs, "source")]
    dest = [normalize_axis(a, ndim) for a in attr_tuple(node.attrs, "destination")]
    rest = [a for a in range(ndim) if a not in source]
    perm = [None] * ndim
    for s, d in sorted(zip(source, dest), key=lambda p: p[1]):
        perm[d] = s
    perm = [p if p is not None else rest.pop(0) for p in perm]
    e = Emitter(node)
    e("Transpose", node.inputs[:1], out=node.outputs[0], perm=perm)
    return e.nodes


@converter("_np_roll")
def roll(node):
    """Each axis rolled by its shift: the last ``shift`` elements move to the front."""
    e = Emitter(node)
    x, shape = node.inputs[0], node.in_shapes[0]
    shifts, axes = attr_tuple(node.attrs, "shift"), attr_tuple(node.attrs, "axis")
    if axes is None:
        x, shape, axes = e("Reshape", [x, e.int64([-1])]), (int(np.prod(shape)),), (0,) * len(shifts)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    for shift, axis in zip(shifts, axes):
        axis = normalize_axis(axis, len(shape))
        if node.in_dims and axis in node.in_dynamic_axes[0]:
            raise unsupported(node, "rolling a dynamic axis", "roll a static axis")
        cut = shape[axis] - shift % shape[axis]
        tail = _slice(e, x, [cut], [INT64_MAX], [axis], [1], None)
        head = _slice(e, x, [0], [cut], [axis], [1], None)
        x = e("Concat", [tail, head], axis=axis)
    _to_output(e, node, x)
    return e.nodes


@converter("_npi_tril")
def tril(node):
    """Zero above diagonal ``k`` of the last two axes (a constant mask)."""
    rows, cols = node.in_shapes[0][-2:]
    mask = np.tril(np.ones((rows, cols), bool), attr_int(node.attrs, "k", 0))
    e = Emitter(node)
    zero = e.const(0, node.in_dtypes[0], "zero")
    e("Where", [e.const(mask, np.bool_, "mask"), node.inputs[0], zero], out=node.outputs[0])
    return e.nodes


@converter("_npi_pad")
def pad(node):
    """``pad_width`` as ((before, after), ...) per axis; constant, edge and reflect modes."""
    mode = attr_str(node.attrs, "mode", "constant")
    if mode not in ("constant", "edge", "reflect"):
        raise unsupported(node, f"mode={mode!r}", "use constant, edge or reflect")
    width = np.asarray(ast.literal_eval(node.attrs["pad_width"]), np.int64).reshape(-1, 2)
    e = Emitter(node)
    inputs = [node.inputs[0], e.int64(list(width[:, 0]) + list(width[:, 1]), "pads")]
    if mode == "constant":
        value = float(node.attrs.get("constant_values", 0) or 0)
        inputs.append(e.const(value, hint="value"))
    e("Pad", inputs, out=node.outputs[0], mode=mode)
    return e.nodes


@converter("_npi_diff")
def diff(node):
    """``n``-th forward difference along ``axis``."""
    axis = normalize_axis(attr_int(node.attrs, "axis", -1), len(node.in_shapes[0]))
    e = Emitter(node)
    x = node.inputs[0]
    for _ in range(attr_int(node.attrs, "n", 1)):
        upper = _slice(e, x, [1], [INT64_MAX], [axis], [1], None)
        lower = _slice(e, x, [0], [-1], [axis], [1], None)
        x = e("Sub", [upper, lower])
    e("Identity", [x], out=node.outputs[0])
    return e.nodes


@converter("_npi_rot90")
def rot90(node):
    """k quarter turns from axes[0] towards axes[1]: flips and a transpose."""
    ndim = len(node.in_shapes[0])
    a, b = (normalize_axis(v, ndim) for v in attr_tuple(node.attrs, "axes", (0, 1)))
    k = attr_int(node.attrs, "k", 1) % 4
    e = Emitter(node)
    x = node.inputs[0]
    perm = list(range(ndim))
    perm[a], perm[b] = perm[b], perm[a]
    flip = lambda y, axes: _slice(e, y, [-1] * len(axes), [INT64_MIN] * len(axes), axes,  # noqa: E731
                                  [-1] * len(axes), None)
    if k == 1:
        x = e("Transpose", [flip(x, [b])], perm=perm)
    elif k == 2:
        x = flip(x, [a, b])
    elif k == 3:
        x = flip(e("Transpose", [x], perm=perm), [b])
    e("Identity", [x], out=node.outputs[0])
    return e.nodes
