"""The zoo's agreement check, shared by tests/test_agreement.py and tools/agreement_table.py:
each registered model built at a small input with seeded weights, its sample inputs (batch 1 at
the export sizes, batch 3 at other sizes of every dynamic dim) and :func:`agreement`, which is
:func:`export.agreement.agreement` with detectors compared as detections.

It sits above both ``hybridzoo`` (the models) and ``export`` (the compiler), which may not
import each other."""
import fnmatch

import hybridzoo
import mxnet as mx
import numpy as np
from hybridzoo.seeded import init_model

from export import verify
from export.agreement import agreement as export_agreement
from export.deploy import detection
from export.verify_detection import multibox_error, pick_threshold

# Smallest input each family accepts (AlexNet/NiN need >= 67, Inception v3 >= 75, VGG >= 32,
# the rest pool to 1x1).
SMALL_INPUT = {"alexnet": 67, "nin": 67, "inception_v3": 75, "vgg*": 32, "resnet*": 32,
               "densenet*": 32, "googlenet": 32, "squeezenet*": 32, "mobilenet*": 32, "fcn*": 32,
               "tiny_ssd": 64}
BATCHES = (1, 3)
SEQ = 5  # sequence models: exported at this length, checked at it and at SEQ + 3
OTHER_SIZE = {"seq": 3, "height": 32, "width": 64}  # added to a dynamic dim for the second check


def _match(table, name, default):
    return next((v for pattern, v in table.items() if fnmatch.fnmatchcase(name, pattern)), default)


def build(name):
    size = _match(SMALL_INPUT, name, None)
    net = hybridzoo.get_model(name, **({"input_size": size} if size else {}))
    return init_model(net, seed=0, ctx=mx.cpu())


def base_dims(config):
    return {"seq": SEQ} if "seq" in config.dims else {}


def sample_inputs(net):
    """``{batch: [arrays]}``: batch 1 at the export sizes, batch 3 at other sizes of every
    dynamic dim (the same sizes for models with a dynamic batch only)."""
    config = net.zoo_config
    base = config.sizes(**base_dims(config))
    other = {dim: base[dim] + OTHER_SIZE[dim] for dim in config.dynamic}
    return {1: config.sample_inputs(1, seed=1, **base_dims(config)),
            3: config.sample_inputs(3, seed=2, **{**base_dims(config), **other})}


def assert_not_degenerate(outputs, name):
    """Outputs must differ across samples by more than the tolerance, or agreement proves nothing."""
    out = outputs[0]
    assert np.isfinite(out).all(), f"{name}: non-finite outputs"
    spread = float(np.ptp(out, axis=0).max())
    assert spread > verify.tolerance(outputs), (
        f"{name}: outputs barely depend on the input (spread across samples {spread:.2e})")


def compared_detections(reference):
    """Per image, how many of a detector's reference detections ``multibox_error`` compares."""
    counts = []
    for rows in reference.values():
        rows = np.asarray(rows[0])
        for image in detection.parse([rows[..., 0], rows[..., 1], rows[..., 2:]]):
            counts.append(len(detection.top(image, pick_threshold([d.score for d in image]))))
    return counts


def agreement(net, inputs, workdir, name):
    """:func:`export.agreement.agreement`; a detector's outputs compared as detections
    (:func:`~export.verify_detection.multibox_error`), plus ``report["raw"]``: every backend's
    error on the tensors its NMS reads, and ``report["detections"]``: per image, how many
    detections were compared."""
    if net.zoo_config.task != "detection":
        return export_agreement(net, inputs, workdir, name)
    report = export_agreement(net, inputs, workdir, name, error=multibox_error)
    raw = export_agreement(net.training_block, inputs, workdir, f"{name}-raw",
                           dynamic_axes=net.zoo_config.dynamic_axes())
    report.update(raw=raw, detections=compared_detections(report["reference"]))
    report["passed"] = report["passed"] and raw["passed"] and min(report["detections"]) >= 3
    return report
