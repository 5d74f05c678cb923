"""Converters: spatial transformer networks (``GridGenerator``, ``BilinearSampler``,
``SpatialTransformer``; MXNet's lenet-stn example).

MXNet's conventions, checked against MXNet 1.9.1: a grid is ``(N, 2, H, W)`` of normalised
``(x, y)`` in [-1, 1] where -1 and 1 are the centres of the corner pixels (ONNX GridSample's
``align_corners=1``); ``affine`` maps the target grid ``(linspace(-1, 1, W), linspace(-1, 1,
H), 1)`` through each row of ``(N, 6)`` as a 2x3 matrix; ``warp`` adds a pixel flow ``(N, 2,
H, W)`` to the pixel grid and normalises by ``(size - 1) / 2``; the sampler is bilinear and
reads zeros outside the image (``padding_mode="zeros"``). ONNX ``GridSample`` exists from
opset 16 (its mode ``bilinear`` is called ``linear`` from opset 20), so the samplers start there.
"""
import numpy as np

from ..attrs import attr_str, attr_tuple
from ..registry import converter
from ._emit import Emitter, unsupported


def _affine_grid(e, theta, size, out=None):
    """``(N, 6)`` affine matrices -> the ``(N, 2, H, W)`` sampling grid of target ``size``."""
    height, width = size
    x, y = np.meshgrid(np.linspace(-1, 1, width), np.linspace(-1, 1, height))
    base = np.stack([x.ravel(), y.ravel(), np.ones(height * width)])  # (3, H*W)
    matrices = e("Reshape", [theta, e.int64([-1, 2, 3])])
    points = e("MatMul", [matrices, e.const(base, hint="target_grid")])  # (N, 2, H*W)
    return e("Reshape", [points, e.int64([-1, 2, height, width])], out=out)


def _sample(e, data, grid, out):
    """Bilinear sampling of ``data`` at the ``(N, 2, H, W)`` grid, zeros outside."""
    mode = "linear" if e.node.opset >= 20 else "bilinear"
    points = e("Transpose", [grid], perm=[0, 2, 3, 1])  # ONNX wants (N, H, W, 2)
    return e("GridSample", [data, points], out=out, align_corners=1, mode=mode, padding_mode="zeros")


def _target_shape(node):
    size = attr_tuple(node.attrs, "target_shape", (0, 0))
    if len(size) != 2 or min(size) <= 0:
        raise unsupported(node, f"target_shape={size}", "give target_shape=(height, width)")
    return size


@converter("GridGenerator")
def grid_generator(node):
    kind = attr_str(node.attrs, "transform_type", "affine")
    e = Emitter(node)
    if kind == "affine":
        _affine_grid(e, node.inputs[0], _target_shape(node), out=node.outputs[0])
        return e.nodes
    if kind != "warp":
        raise unsupported(node, f"transform_type={kind!r}", "use 'affine' or 'warp'")
    if node.in_dims and any(d is not None for d in node.in_dims[0][2:]):
        raise unsupported(node, "a warp over a dynamic height/width", "export the flow's spatial axes fixed")
    height, width = node.in_shapes[0][2:]
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    pixels = e.const(np.stack([x, y])[None], hint="pixel_grid")  # (1, 2, H, W)
    half = e.const(np.reshape([(width - 1) / 2, (height - 1) / 2], (1, 2, 1, 1)), hint="half_size")
    moved = e("Div", [e("Add", [node.inputs[0], pixels]), half])
    e("Sub", [moved, e.const(1.0, hint="one")], out=node.outputs[0])
    return e.nodes


@converter("BilinearSampler", opset=16)
def bilinear_sampler(node):
    e = Emitter(node)
    _sample(e, node.inputs[0], node.inputs[1], node.outputs[0])
    return e.nodes


@converter("SpatialTransformer", opset=16)
def spatial_transformer(node):
    """An affine grid from ``loc`` sampled bilinearly: GridGenerator + BilinearSampler."""
    for key, only in (("transform_type", "affine"), ("sampler_type", "bilinear")):
        value = attr_str(node.attrs, key, only)
        if value != only:
            raise unsupported(node, f"{key}={value!r}", f"use {key}={only!r} (MXNet's only one)")
    e = Emitter(node)
    grid = _affine_grid(e, node.inputs[1], _target_shape(node))
    _sample(e, node.inputs[0], grid, node.outputs[0])
    return e.nodes
