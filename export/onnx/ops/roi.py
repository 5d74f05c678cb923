"""Converters: region-of-interest pooling (``_contrib_ROIAlign``, ``ROIPooling``).

``_contrib_ROIAlign`` is ONNX ``RoiAlign`` (both are Caffe2's average ROIAlign): MXNet's
``aligned=False`` is ONNX's ``output_half_pixel`` mode (no half-pixel offset, malformed ROIs
forced to 1x1, the only mode before opset 16) and ``aligned=True`` is ``half_pixel`` (opset 16+);
``sample_ratio <= 0`` is ONNX's adaptive ``sampling_ratio=0``. ROIs are ``[batch, x1, y1, x2,
y2]`` rows. MXNet skips a ROI whose batch index is negative (FPN masks
the ROIs of other pyramid levels that way) and leaves its output unwritten; here it is 0, the
value the backward pass and the FPN sum assume. ``position_sensitive`` has no ONNX counterpart.
``ROIPooling`` is ONNX ``MaxRoiPool`` (Caffe's max ROI pooling, as MXNet's).

ONNX Runtime 1.32 has no CPU kernel for RoiAlign-22 and MaxRoiPool-22: files at opset 22-23
are valid ONNX but need another runtime (or opset <= 21) to run these nodes.
"""
import numpy as np

from ..attrs import attr_bool, attr_float, attr_int, attr_tuple
from ..registry import converter
from ._boxes import columns
from ._emit import Emitter, unsupported


def _pooled(node):
    size = attr_tuple(node.attrs, "pooled_size")
    return (size[0], size[0]) if len(size) == 1 else tuple(size[:2])


def _roi_align(node, modes):
    if attr_bool(node.attrs, "position_sensitive"):
        raise unsupported(node, "position_sensitive=True", "ONNX RoiAlign has no position-"
                          "sensitive mode; use position_sensitive=False")
    aligned = attr_bool(node.attrs, "aligned")
    if aligned and not modes:
        raise unsupported(node, f"aligned=True at opset {node.opset}", "export with opset >= 16 "
                          "(RoiAlign's half_pixel mode)")
    height, width = _pooled(node)
    e = Emitter(node)
    data, rois = node.inputs[:2]
    batch = e("Reshape", [e.cast(columns(e, rois, 0, 1), np.int64), e.int64([-1], "flat")])
    skipped = e("Less", [batch, e.int64(0, "zero")])  # MXNet truncates the float index
    batch = e("Max", [batch, e.int64(0, "zero")])
    extra = {"coordinate_transformation_mode": "half_pixel" if aligned else "output_half_pixel"} \
        if modes else {}
    ratio = attr_int(node.attrs, "sample_ratio", -1)
    pooled = e("RoiAlign", [data, columns(e, rois, 1, 5), batch],
               mode="avg", output_height=height, output_width=width,
               sampling_ratio=max(ratio, 0), spatial_scale=attr_float(node.attrs, "spatial_scale"),
               **extra)
    mask = e("Reshape", [skipped, e.int64([-1, 1, 1, 1], "per_roi")])
    e("Where", [mask, e.const(0.0, hint="zero"), pooled], out=node.outputs[0])
    return e.nodes


@converter("_contrib_ROIAlign")
def roi_align(node):
    return _roi_align(node, modes=False)


@converter("_contrib_ROIAlign", opset=16)
def roi_align_16(node):
    return _roi_align(node, modes=True)


@converter("ROIPooling")
def roi_pooling(node):
    e = Emitter(node)
    e("MaxRoiPool", node.inputs[:2], out=node.outputs[0], pooled_shape=list(_pooled(node)),
      spatial_scale=attr_float(node.attrs, "spatial_scale"))
    return e.nodes
