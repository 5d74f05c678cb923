"""Converters: the deterministic ``mx.image``/``npx.image`` tensor ops (``to_tensor``,
``normalize``, the flips, ``crop``, ``adjust_lighting``, ``resize``) under their legacy names;
the ``_npx__image_*`` names share them.

Images are HWC (or NHWC) until ``to_tensor`` makes them CHW float32 in [0, 1]. ``resize``
follows OpenCV's ``cv2.resize`` (MXNet calls it): nearest is ``floor(dst * scale)``, bilinear
and bicubic (a = -0.75) sample at half-pixel centres; MXNet's ``flip_top_bottom`` zeroes the
middle row of an odd-height image, ours flips it.
"""
import numpy as np

from ..attrs import attr_int, attr_tuple
from ..registry import converter
from ._emit import Emitter, unsupported
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


# AlexNet-style PCA lighting noise: MXNet's ImageNet eigenvalues and eigenvectors (RGB)
_EIGVAL = np.array([55.46, 4.794, 1.148])
_EIGVEC = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]])


@converter("_image_adjust_lighting")
def adjust_lighting(node):
    """HWC (NHWC) plus the per-channel offset eigvec . (alpha * eigval)."""
    alpha = np.asarray(attr_tuple(node.attrs, "alpha", cast=float))
    e = Emitter(node)
    e("Add", [node.inputs[0], e.const(_EIGVEC @ (alpha * _EIGVAL), hint="offset")], out=node.outputs[0])
    return e.nodes


# OpenCV's interpolations (MXNet resizes with cv2.resize) as ONNX Resize attributes
_INTERP = {0: dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
           1: dict(mode="linear", coordinate_transformation_mode="half_pixel"),
           2: dict(mode="cubic", coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75)}


@converter("_image_resize")
def resize(node):
    """HWC (NHWC) float images to the inferred output size: nearest, bilinear or bicubic."""
    interp = attr_int(node.attrs, "interp", 1)
    if interp not in _INTERP:
        raise unsupported(node, f"interp={interp} (area/lanczos)", "use interp 0, 1 or 2")
    if not np.issubdtype(np.dtype(node.in_dtypes[0]), np.floating):
        raise unsupported(node, "resizing integer images (OpenCV's fixed-point rounding)",
                          "convert the image to float first")
    e = Emitter(node)
    out, x = node.out_shapes[0], node.inputs[0]
    if interp != 2:
        e("Resize", [x, "", "", e.int64(out, "sizes")], out=node.outputs[0], **_INTERP[interp])
        return e.nodes
    # ONNX Runtime's cubic Resize wants the two outer axes unscaled: (C, 1, H, W) images; a
    # (1, C, H, W) layout would meet its transpose optimizer, which makes it NHWC again
    batched = len(out) == 4
    x = e("Transpose", [x], perm=[3, 0, 1, 2] if batched else [2, 0, 1])
    if not batched:
        x = e.unsqueeze(x, [1])
    sizes = [out[-1], out[0] if batched else 1, out[-3], out[-2]]
    y = e("Resize", [x, "", "", e.int64(sizes, "sizes")], **_INTERP[interp])
    if not batched:
        y = e.squeeze(y, [1])
    e("Transpose", [y], out=node.outputs[0], perm=[1, 2, 3, 0] if batched else [1, 2, 0])
    return e.nodes
