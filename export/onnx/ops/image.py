"""Converters: the deterministic ``mx.image``/``npx.image`` tensor ops (``to_tensor``,
``normalize``, the flips, ``crop``), legacy names; the ``_npx__image_*`` names share them.

Images are HWC (or NHWC) until ``to_tensor`` makes them CHW float32 in [0, 1].
"""
import numpy as np

from ..attrs import attr_int, attr_tuple
from ..registry import converter
from ._emit import Emitter
from .shape import INT64_MIN, _slice


@converter("_image_to_tensor")
def to_tensor(node):
    """HWC (NHWC) of any dtype -> CHW (NCHW) float32 divided by 255."""
    e = Emitter(node)
    perm = [2, 0, 1] if len(node.in_shapes[0]) == 3 else [0, 3, 1, 2]
    x = e.cast(node.inputs[0], np.float32)
    e("Div", [e("Transpose", [x], perm=perm), e.const(255.0, np.float32, "scale")], out=node.outputs[0])
    return e.nodes


@converter("_image_normalize")
def normalize(node):
    """(x - mean[c]) / std[c] over the channel axis of CHW (NCHW)."""
    channels = node.in_shapes[0][-3]
    mean = np.broadcast_to(np.asarray(attr_tuple(node.attrs, "mean", (0.0,), float)), (channels,))
    std = np.broadcast_to(np.asarray(attr_tuple(node.attrs, "std", (1.0,), float)), (channels,))
    e = Emitter(node)
    centred = e("Sub", [node.inputs[0], e.const(mean.reshape(-1, 1, 1), hint="mean")])
    e("Div", [centred, e.const(std.reshape(-1, 1, 1), hint="std")], out=node.outputs[0])
    return e.nodes


def _flip(axis):
    def convert(node):
        e = Emitter(node)
        _slice(e, node.inputs[0], [-1], [INT64_MIN], [axis], [-1], node.outputs[0])
        return e.nodes
    return convert


converter("_image_flip_left_right")(_flip(-2))
converter("_image_flip_top_bottom")(_flip(-3))


@converter("_image_crop")
def crop(node):
    """Rows y..y+height, columns x..x+width of HWC (NHWC)."""
    x, y = attr_int(node.attrs, "x"), attr_int(node.attrs, "y")
    width, height = attr_int(node.attrs, "width"), attr_int(node.attrs, "height")
    ndim = len(node.in_shapes[0])
    e = Emitter(node)
    _slice(e, node.inputs[0], [y, x], [y + height, x + width], [ndim - 3, ndim - 2], [1, 1], node.outputs[0])
    return e.nodes
