"""D2L's tiny single-shot multibox detector (ch. 14.7), with ``MultiBoxDetection`` at inference.

Five blocks compute feature maps of falling resolution: the base net (three down-sampling
blocks, 16, 32, 64 channels: 1/8 of the input), three down-sampling blocks of 128 channels and
a global max pool (1x1). At each scale ``MultiBoxPrior`` places 4 anchors on every pixel (two
sizes with ratio 1, ratios 2 and 0.5 at the first size; the sizes grow from 0.2 to 0.961 of
the image), and two 3x3 convolutions predict, per anchor, the scores of ``classes`` + 1
classes (background first) and 4 box offsets.

:class:`TinySSD` is D2L's net: ``forward(x)`` -> ``(anchors, class scores, box offsets)``, what
training's losses read. :class:`TinySSDDetector` (registered ``tiny_ssd``) runs it, turns the
scores into probabilities and decodes, thresholds and suppresses with ``MultiBoxDetection``
(D2L's ``predict``): output (batch, anchors, 6) rows ``[class, score, x1, y1, x2, y2]`` with
corners relative to the image, the kept ones first by score, the others with class -1.
Any image size of at least 64 pixels a side (exported with dynamic height and width).
"""
from mxnet.gluon import HybridBlock, nn

from ..config import ModelConfig
from ..registry import register_model
from ..specs import TensorSpec
from ._common import ZooNet

SIZES = ((0.2, 0.272), (0.37, 0.447), (0.54, 0.619), (0.71, 0.79), (0.88, 0.961))
RATIOS = ((1, 2, 0.5),) * 5
ANCHORS_PER_PIXEL = len(SIZES[0]) + len(RATIOS[0]) - 1
BASE_CHANNELS = (16, 32, 64)
BLOCK_CHANNELS = 128


def down_sample_blk(channels, in_channels):
    """[Conv 3x3 (no bias: BatchNorm follows) -> BatchNorm -> ReLU] x 2, MaxPool 2: half the size."""
    block = nn.HybridSequential(prefix="")
    for _ in range(2):
        block.add(nn.Conv2D(channels, 3, padding=1, use_bias=False, in_channels=in_channels),
                  nn.BatchNorm(in_channels=channels), nn.Activation("relu"))
        in_channels = channels
    block.add(nn.MaxPool2D(2))
    return block


def get_blk(i, in_channels):
    """Block ``i`` of the five and its output channels."""
    if i == 0:
        base = nn.HybridSequential(prefix="")
        for channels in BASE_CHANNELS:
            base.add(down_sample_blk(channels, in_channels))
            in_channels = channels
        return base, in_channels
    if i == 4:
        return nn.GlobalMaxPool2D(), in_channels
    return down_sample_blk(BLOCK_CHANNELS, in_channels), BLOCK_CHANNELS


def flatten_pred(F, pred):
    """(N, C, H, W) -> (N, H * W * C): per pixel, its anchors' predictions together."""
    return F.flatten(F.transpose(pred, axes=(0, 2, 3, 1)))


class TinySSD(HybridBlock):
    """``blk_i``, ``cls_i``, ``bbox_i`` for the five scales; ``forward(x)`` -> (anchors
    (1, A, 4), class scores (N, A, classes + 1), box offsets (N, A * 4))."""

    def __init__(self, classes=1, in_channels=3, **kwargs):
        super().__init__(**kwargs)
        self.classes = classes
        with self.name_scope():
            for i in range(len(SIZES)):
                block, channels = get_blk(i, in_channels)
                setattr(self, f"blk_{i}", block)
                setattr(self, f"cls_{i}", nn.Conv2D(ANCHORS_PER_PIXEL * (classes + 1), 3, padding=1,
                                                    in_channels=channels, prefix=f"cls{i}_"))
                setattr(self, f"bbox_{i}", nn.Conv2D(ANCHORS_PER_PIXEL * 4, 3, padding=1,
                                                     in_channels=channels, prefix=f"bbox{i}_"))
                in_channels = channels

    def hybrid_forward(self, F, x):
        anchors, cls_preds, bbox_preds = [], [], []
        for i, (sizes, ratios) in enumerate(zip(SIZES, RATIOS)):
            x = getattr(self, f"blk_{i}")(x)
            anchors.append(F.contrib.MultiBoxPrior(x, sizes=sizes, ratios=ratios))
            cls_preds.append(flatten_pred(F, getattr(self, f"cls_{i}")(x)))
            bbox_preds.append(flatten_pred(F, getattr(self, f"bbox_{i}")(x)))
        cls_preds = F.reshape(F.concat(*cls_preds, dim=1), shape=(0, -1, self.classes + 1))
        return F.concat(*anchors, dim=1), cls_preds, F.concat(*bbox_preds, dim=1)


class TinySSDDetector(ZooNet):
    """``ssd`` (:class:`TinySSD`, also ``training_block``: NMS has no gradient), then softmax
    over the classes and ``MultiBoxDetection`` (D2L's defaults: keep scores >= 0.01, NMS at IoU 0.5)."""

    def __init__(self, classes=1, in_channels=3, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.ssd = TinySSD(classes, in_channels, prefix="")

    @property
    def training_block(self):
        """The block whose outputs training's losses read (MultiBoxDetection has no gradient)."""
        return self.ssd

    def hybrid_forward(self, F, x):
        anchors, cls_preds, bbox_preds = self.ssd(x)
        cls_probs = F.transpose(F.softmax(cls_preds, axis=-1), axes=(0, 2, 1))
        return F.contrib.MultiBoxDetection(cls_probs, bbox_preds, anchors)


# D2L's banana detection set: 256 x 256 RGB scaled to [0, 1], one class; SGD lr 0.2, wd 5e-4,
# batch 32, 20 epochs. No bundled data: exported untrained.
_BANANAS = ModelConfig(
    input_shape=(3, 256, 256), classes=1, dataset="bananas", task="detection", lr=0.2,
    batch_size=32, epochs=20, inputs=(TensorSpec("image", ("channels", "height", "width")),),
    outputs=(TensorSpec("detections", ("anchors", 6)),), dynamic=("height", "width"))


@register_model(config=_BANANAS)
def tiny_ssd(**kwargs):
    """D2L's tiny SSD with ``MultiBoxDetection``: one class (bananas) at 256 x 256 by default."""
    kwargs.setdefault("prefix", "tiny_ssd_")
    kwargs.pop("input_size", None)  # any size: the config records it
    return TinySSDDetector(**kwargs)
