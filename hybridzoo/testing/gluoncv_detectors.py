"""GluonCV detectors built offline, with deterministic test weights that give distinct scores.

``build_detector(name)`` builds any GluonCV detector with ``pretrained=False,
pretrained_base=False`` (nothing is downloaded) and gives it realistic random weights:

- He (fan-in) weights, so activations keep their scale through the backbone (Xavier shrinks
  MobileNet's depthwise stacks to ~1e-18); GluonCV's symbol-built feature expanders have
  BatchNorms without initializers, which get gamma 1 / beta 0 / mean 0 / var 1 first;
- every BatchNorm calibrated on a seeded batch and randomized, so BatchNorm folding is
  exercised: Gluon ones by ``hybridzoo.testing.randomize_batchnorm``, those inside GluonCV's
  symbol-built feature extractors (SSD) by a training-mode pass (uncalibrated, ResNet-50
  features grow ~2x per block and a few anchors get 100,000-pixel boxes);
- each head's last layer rescaled per output channel to mean 0 and a fixed spread on those
  batches: random weights otherwise saturate the scores (CenterNet's heatmap is 1.0 everywhere,
  Faster R-CNN's softmax one-hot, YOLOv3's boxes exp(20) pixels wide), which makes every score
  equal and the order among them arbitrary.

``DETECTORS`` is the 29-model list of MXNet's own ONNX test-suite; ``FAMILIES`` one
representative per family. Needs the ``test`` extra (gluoncv).
"""
import contextlib
import json

import mxnet as mx
import numpy as np

from . import batchnorm_layers, randomize_batchnorm

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
# Calibration images: heads on 1x1 feature maps (SSD's last scales) need several to have a spread.
CALIBRATION_IMAGES = 4


def family(name):
    """``'ssd'``, ``'yolo3'``, ``'faster_rcnn'``, ``'faster_rcnn_fpn'``, ``'mask_rcnn'`` or
    ``'center_net'`` (Mask R-CNN with or without FPN is ``'mask_rcnn'``)."""
    for prefix in ("faster_rcnn_fpn", "faster_rcnn", "mask_rcnn", "center_net", "ssd", "yolo3"):
        if name.startswith(prefix):
            return prefix
    raise ValueError(f"{name!r} is not a GluonCV detector this module knows (ssd_*, yolo3_*, "
                     "faster_rcnn_*, mask_rcnn_*, center_net_*)")


def build_detector(name, seed=0, size=512, ctx=None, rois=None, context=None):
    """GluonCV detector ``name`` with test weights calibrated on seeded batches of N images
    (N = 4, 1 for R-CNNs) of size x size and of a second, non-square size; not hybridized.
    ``rois``: for R-CNNs, keep that many proposals (10x before NMS).
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
    images = 1 if hasattr(net, "rpn") else CALIBRATION_IMAGES  # GluonCV's R-CNNs run batch 1 only
    rng = np.random.RandomState(seed)
    # a second, non-square size (multiples of 32): heads on small feature maps see other inputs
    # at other sizes, and test weights must not saturate there either
    other = (max(32, round(0.75 * size / 32) * 32), round(1.25 * size / 32) * 32)
    batch = [rng.uniform(-1, 1, (images, 3) + hw).astype(np.float32) for hw in ((size, size), other)]
    with (context or contextlib.nullcontext)():
        return init_detector(net, batch, seed, ctx or mx.cpu())


def init_detector(net, batches, seed=0, ctx=None):
    """Give ``net`` the test weights described above, calibrated on ``batches`` (a list of
    image batches; BatchNorms on the first, heads on all); returns it."""
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
    data = [mx.nd.array(b, ctx=ctx) for b in batches]
    with mx.autograd.predict_mode():
        net(data[0])  # finishes deferred initialization
    _calibrate_symbol_batchnorms(net, data[0], seed)
    if batchnorm_layers(net):
        randomize_batchnorm(net, seed, calibration=batches[0])
    for heads in _heads(net):  # later heads see what the earlier ones propose
        _rescale(net, heads, data)
    return net


def _calibrate_symbol_batchnorms(net, data, seed):
    """BatchNorms inside symbol-built blocks (GluonCV's SSD feature extractors): random gamma
    and beta, running statistics set to those of each one's actual input (one training-mode
    pass of a twin of the block whose BatchNorms have momentum 0, sharing its parameters;
    every BatchNorm sees inputs the earlier ones normalized), then mildly perturbed."""
    blocks = [b for b in _descendants(net) if isinstance(b, mx.gluon.SymbolBlock)
              and '"op": "BatchNorm"' in b._cached_graph[1].tojson()]
    if not blocks:
        return
    rng = np.random.RandomState(seed + 1)
    seen = {}
    handles = [b.register_forward_pre_hook(lambda b, inputs: seen.setdefault(b.name, inputs)) for b in blocks]
    try:
        with mx.autograd.predict_mode():
            net(data)
    finally:
        for handle in handles:
            handle.detach()
    for block in blocks:
        params = block.collect_params()
        for name, param in params.items():
            if name.endswith(("gamma", "beta")):
                value = rng.uniform(0.8, 1.2, param.shape) if name.endswith("gamma") else rng.normal(0, 0.1, param.shape)
                param.set_data(mx.nd.array(value.astype(np.float32), ctx=param.list_ctx()[0]))
        inputs, outputs = block._cached_graph
        graph = json.loads(outputs.tojson())
        for node in graph["nodes"]:
            if node["op"] == "BatchNorm":
                node.setdefault("attrs", {}).update(momentum="0", use_global_stats="False")
        twin = mx.gluon.SymbolBlock(mx.sym.load_json(json.dumps(graph)), inputs, params=params)
        with mx.autograd.record(train_mode=True):
            twin(*seen[block.name])
        for name, param in params.items():
            if name.endswith(("moving_mean", "moving_var")):
                value = param.data().asnumpy().astype(np.float64)
                if name.endswith("moving_var"):
                    value = np.maximum(value, 1e-3 * value.mean() + 1e-12) * rng.uniform(0.9, 1.1, value.shape)
                else:
                    var = params[name[:-len("moving_mean")] + "moving_var"].data().asnumpy()
                    value = value + rng.normal(0, 0.05, value.shape) * np.sqrt(np.maximum(var, 0))
                param.set_data(mx.nd.array(value.astype(np.float32), ctx=param.list_ctx()[0]))


def _descendants(block):
    yield block
    for child in block._children.values():
        yield from _descendants(child)


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
    mean 0 and its target std over the batches ``data`` (class logits that differ in mean
    would saturate)."""
    sums = {}

    def record(block, _inputs, output):
        values = output.asnumpy().astype(np.float64)
        values = np.moveaxis(values, 1 if values.ndim == 4 else values.ndim - 1, -1)
        values = values.reshape(-1, values.shape[-1])
        found = sums.setdefault(block.name, [0, 0.0, 0.0])
        found[0] += len(values)
        found[1] = found[1] + values.sum(axis=0)
        found[2] = found[2] + (values ** 2).sum(axis=0)

    handles = [layer.register_forward_hook(record) for layer, _ in heads]
    try:
        with mx.autograd.predict_mode():
            for batch in data:
                net(batch)
    finally:
        for handle in handles:
            handle.detach()
    for layer, target in heads:
        if layer.name not in sums:
            continue
        count, total, squares = sums[layer.name]
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean ** 2, 0))
        # a channel that barely varies (SSD's 1x1 maps, on noise images alike at that scale)
        # is scaled by at most 10x its magnitude: unseen inputs must not saturate it
        std = np.maximum(std, 0.1 * np.sqrt(mean ** 2 + std ** 2) + 1e-30)
        factor = np.broadcast_to(target, std.shape) / std
        for param in layer.collect_params().values():
            value = param.data().asnumpy().astype(np.float64)
            if param.name.endswith("bias"):
                value = (value - mean) * factor
            else:
                value *= factor.reshape((-1,) + (1,) * (value.ndim - 1))
            param.set_data(mx.nd.array(value.astype(np.float32), ctx=param.list_ctx()[0]))
