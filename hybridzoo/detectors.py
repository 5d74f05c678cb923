"""GluonCV detectors built offline, with deterministic test weights that give distinct scores.

``build_detector(name)`` builds any GluonCV detector with ``pretrained=False,
pretrained_base=False`` (nothing is downloaded) and gives it realistic random weights:

- He (fan-in) weights, so activations keep their scale through the backbone (Xavier shrinks
  MobileNet's depthwise stacks to ~1e-18); GluonCV's symbol-built feature expanders have
  BatchNorms without initializers, which get gamma 1 / beta 0 / mean 0 / var 1 first;
- every Gluon BatchNorm calibrated on a seeded batch (``hybridzoo.testing.randomize_batchnorm``)
  and the symbol-built ones randomized, so BatchNorm folding is exercised;
- each head's last layer rescaled per output channel to mean 0 and a fixed spread on that
  batch: random weights otherwise saturate the scores (CenterNet's heatmap is 1.0 everywhere,
  Faster R-CNN's softmax one-hot, YOLOv3's boxes exp(20) pixels wide), which makes every score
  equal and the order among them arbitrary.

``DETECTORS`` is the 29-model list of MXNet's own ONNX test-suite; ``FAMILIES`` one
representative per family. Needs the ``test`` extra (gluoncv).
"""
import contextlib

import mxnet as mx
import numpy as np

from .testing import batchnorm_layers, randomize_batchnorm

DETECTORS = (
    "center_net_resnet18_v1b_voc", "center_net_resnet50_v1b_voc", "center_net_resnet101_v1b_voc",
    "center_net_resnet18_v1b_coco", "center_net_resnet50_v1b_coco", "center_net_resnet101_v1b_coco",
    "ssd_300_vgg16_atrous_voc", "ssd_512_vgg16_atrous_voc", "ssd_512_resnet50_v1_voc",
    "ssd_512_mobilenet1.0_voc", "faster_rcnn_resnet50_v1b_voc", "yolo3_darknet53_voc",
    "yolo3_mobilenet1.0_voc", "ssd_300_vgg16_atrous_coco", "ssd_512_vgg16_atrous_coco",
    "ssd_512_resnet50_v1_coco", "ssd_512_mobilenet1.0_coco", "faster_rcnn_resnet50_v1b_coco",
    "faster_rcnn_resnet101_v1d_coco", "yolo3_darknet53_coco", "yolo3_mobilenet1.0_coco",
    "faster_rcnn_fpn_resnet50_v1b_coco", "faster_rcnn_fpn_resnet101_v1d_coco",
    "mask_rcnn_resnet18_v1b_coco", "mask_rcnn_fpn_resnet18_v1b_coco", "mask_rcnn_resnet50_v1b_coco",
    "mask_rcnn_fpn_resnet50_v1b_coco", "mask_rcnn_resnet101_v1d_coco", "mask_rcnn_fpn_resnet101_v1d_coco",
)
FAMILIES = {
    "ssd": "ssd_512_mobilenet1.0_voc", "yolo3": "yolo3_mobilenet1.0_voc",
    "faster_rcnn": "faster_rcnn_resnet50_v1b_voc", "faster_rcnn_fpn": "faster_rcnn_fpn_resnet50_v1b_coco",
    "mask_rcnn": "mask_rcnn_resnet18_v1b_coco", "center_net": "center_net_resnet18_v1b_voc",
}
# Spread (std) of each head's output on the calibration batch: logits, box offsets.
SCORE_STD, BOX_STD = 1.0, 0.3


def family(name):
    """``'ssd'``, ``'yolo3'``, ``'faster_rcnn'``, ``'faster_rcnn_fpn'``, ``'mask_rcnn'`` or
    ``'center_net'`` (Mask R-CNN with or without FPN is ``'mask_rcnn'``)."""
    for prefix in ("faster_rcnn_fpn", "faster_rcnn", "mask_rcnn", "center_net", "ssd", "yolo3"):
        if name.startswith(prefix):
            return prefix
    raise ValueError(f"{name!r} is not a GluonCV detector this module knows (ssd_*, yolo3_*, "
                     "faster_rcnn_*, mask_rcnn_*, center_net_*)")


def build_detector(name, seed=0, size=512, ctx=None, rois=None, context=None):
    """GluonCV detector ``name`` with test weights calibrated on a seeded (1, 3, size, size)
    batch; not hybridized. ``rois``: for R-CNNs, keep that many proposals (10x before NMS).
    ``context``: a context manager factory the calibration passes run in (FPN detectors need
    ``export.verify_detection.defined_roi_align``: MXNet's own ROIAlign leaves the output of
    masked ROIs unwritten, so their statistics would be garbage)."""
    import gluoncv  # noqa: PLC0415 (optional: the test extra)
    family(name)
    net = gluoncv.model_zoo.get_model(name, pretrained=False, pretrained_base=False)
    if rois and hasattr(net, "rpn"):  # R-CNN: fewer proposals (ROI heads to run) than its 300-1000
        net.rpn._test_pre_nms, net.rpn._test_post_nms = 10 * rois, rois
        net._rpn_test_post_nms = rois
        if hasattr(net, "_rcnn_max_dets"):  # Mask R-CNN: masks for this many detections
            net._rcnn_max_dets = rois
    batch = np.random.RandomState(seed).uniform(-1, 1, (1, 3, size, size)).astype(np.float32)
    with (context or contextlib.nullcontext)():
        return init_detector(net, batch, seed, ctx or mx.cpu())


def init_detector(net, batch, seed=0, ctx=None):
    """Give ``net`` the test weights described above, calibrated on ``batch``; returns it."""
    ctx = ctx or mx.cpu()
    mx.random.seed(seed)
    np.random.seed(seed)
    he = mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)
    for param in net.collect_params().values():
        name = param.name
        if param.init is None and name.endswith(("gamma", "running_var", "moving_var")):
            param.initialize(init=mx.init.One(), ctx=ctx)
        elif param.init is None and name.endswith(("beta", "bias", "running_mean", "moving_mean")):
            param.initialize(init=mx.init.Zero(), ctx=ctx)
        else:
            param.initialize(init=he if name.endswith("weight") else None, ctx=ctx)
    data = mx.nd.array(batch, ctx=ctx)
    with mx.autograd.predict_mode():
        net(data)  # finishes deferred initialization
    _randomize_symbol_batchnorms(net, seed)
    if batchnorm_layers(net):
        randomize_batchnorm(net, seed, calibration=batch)
    for heads in _heads(net):  # later heads see what the earlier ones propose
        _rescale(net, heads, data)
    return net


def _randomize_symbol_batchnorms(net, seed):
    """BatchNorms inside symbol-built blocks (no nn.BatchNorm to calibrate): mild statistics."""
    rng = np.random.RandomState(seed + 1)
    draw = {"moving_mean": lambda n: rng.normal(0, 0.1, n), "moving_var": lambda n: rng.uniform(0.8, 1.25, n),
            "gamma": lambda n: rng.uniform(0.8, 1.2, n), "beta": lambda n: rng.normal(0, 0.1, n)}
    gluon_bn = {p.name for layer in batchnorm_layers(net) for p in layer.collect_params().values()}
    for param in net.collect_params().values():
        kind = next((k for k in draw if param.name.endswith(k)), None)
        if kind and param.name not in gluon_bn:
            value = draw[kind](param.shape[0]).astype(np.float32)
            param.set_data(mx.nd.array(value, ctx=param.list_ctx()[0]))


def _heads(net):
    """Groups of (layer, target std per output channel or one for all): each head's last
    layer, in the order they run."""
    if hasattr(net, "class_predictors"):  # SSD
        return [[(p, SCORE_STD) for p in net.class_predictors] + [(p, BOX_STD) for p in net.box_predictors]]
    if hasattr(net, "yolo_outputs"):  # per anchor: x, y (sigmoid), w, h (exp), objectness, classes
        return [[(o.prediction, _yolo_targets(o)) for o in net.yolo_outputs]]
    if hasattr(net, "class_predictor"):  # Faster / Mask R-CNN: the RPN first, then the rest
        rpn = net.rpn.rpn_head if hasattr(net.rpn, "rpn_head") else net.rpn
        groups = [[(rpn.score, SCORE_STD), (rpn.loc, BOX_STD)],
                  [(net.class_predictor, SCORE_STD), (net.box_predictor, BOX_STD)]]
        if hasattr(net, "mask"):
            groups[1].append((net.mask.mask, SCORE_STD))
        return groups
    if hasattr(net, "heads"):  # CenterNet: heatmap, wh, reg
        return [[(head[len(head) - 1], SCORE_STD) for head in net.heads]]
    return []


def _yolo_targets(output):
    per_anchor = np.full(output._num_pred, SCORE_STD)
    per_anchor[:4] = (1.0, 1.0, BOX_STD, BOX_STD)
    return np.tile(per_anchor, output._num_anchors)


def _rescale(net, heads, data):
    """Per output channel, scale the layer's weight and shift its bias so that the channel has
    mean 0 and its target std on ``data`` (class logits that differ in mean would saturate)."""
    stats = {}

    def record(block, _inputs, output):
        values = output.asnumpy().astype(np.float64)
        axes = tuple(a for a in range(values.ndim) if a != (1 if values.ndim == 4 else values.ndim - 1))
        stats[block.name] = values.mean(axis=axes), values.std(axis=axes)

    handles = [layer.register_forward_hook(record) for layer, _ in heads]
    try:
        with mx.autograd.predict_mode():
            net(data)
    finally:
        for handle in handles:
            handle.detach()
    for layer, target in heads:
        if layer.name not in stats:
            continue
        mean, std = stats[layer.name]
        factor = np.where(std > 0, np.broadcast_to(target, std.shape) / np.maximum(std, 1e-30), 1.0)
        for param in layer.collect_params().values():
            value = param.data().asnumpy().astype(np.float64)
            if param.name.endswith("bias"):
                value = (value - mean) * factor
            else:
                value *= factor.reshape((-1,) + (1,) * (value.ndim - 1))
            param.set_data(mx.nd.array(value.astype(np.float32), ctx=param.list_ctx()[0]))
