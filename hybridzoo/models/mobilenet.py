"""MobileNet v1 (Howard et al. 2017) and v2 (Sandler et al. 2018), as in MXNet's Gluon model zoo.

v1 stacks depthwise-separable units: a 3x3 depthwise conv (one filter per channel, ``groups``
= channels) then a 1x1 pointwise conv, each followed by BatchNorm and ReLU. v2 stacks inverted
residuals: 1x1 expansion (x t) -> 3x3 depthwise -> 1x1 linear projection, ReLU6 after the first
two, with an identity shortcut when the shape is kept. ``multiplier`` (1.0, 0.75, 0.5, 0.25)
scales every width as Gluon does (``int(channels * multiplier)``, no rounding to multiples of 8).

MXNet's v2 expands even the first block (t = 1, a 1x1 conv of 32 -> 32 channels); GluonCV's
``mobilenetv2_*`` (and the paper) skip that conv, so the ``*_gluoncv`` names build that layout.
"""
from mxnet.gluon import HybridBlock, nn

from ..config import imagenet
from ..registry import register_model
from ._common import ResidualBlock, ZooNet, config_defaults

# v1 at width 1.0: (depthwise channels, pointwise channels, stride) per separable unit.
MOBILENET_SPEC = ((32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1),
                  (256, 512, 2)) + ((512, 512, 1),) * 5 + ((512, 1024, 2), (1024, 1024, 1))
# v2 at width 1.0: (expansion t, output channels c, repeats n, stride of the first repeat s).
MOBILENET_V2_SPEC = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                     (6, 160, 3, 2), (6, 320, 1, 1))


class ReLU6(HybridBlock):
    """``min(max(x, 0), 6)``, as Gluon's MobileNetV2 computes it (``clip``)."""

    def hybrid_forward(self, F, x):
        return F.clip(x, 0, 6)


def conv_bn(block, channels, kernel, in_channels, stride=1, groups=1, act="relu"):
    """Append Conv (no bias, "same" padding) -> BatchNorm [-> ReLU or ReLU6] to ``block``."""
    block.add(nn.Conv2D(channels, kernel, strides=stride, padding=kernel // 2, groups=groups,
                        use_bias=False, in_channels=in_channels),
              nn.BatchNorm(in_channels=channels))
    if act == "relu":
        block.add(nn.Activation("relu"))
    elif act == "relu6":
        block.add(ReLU6())
    return block


class MobileNet(ZooNet):
    """``features``: 3x3 stem (stride 2), 13 depthwise-separable units, global average pooling;
    ``output``: Dense. Fully convolutional (``input_size`` is recorded only)."""

    def __init__(self, multiplier=1.0, classes=1000, in_channels=3, input_size=224, **kwargs):
        super().__init__(**kwargs)
        width = lambda c: int(c * multiplier)  # noqa: E731
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                conv_bn(self.features, width(32), 3, in_channels, stride=2)
                channels = width(32)
                for i, (depthwise, pointwise, stride) in enumerate(MOBILENET_SPEC):
                    unit = nn.HybridSequential(prefix=f"unit{i}_")
                    with unit.name_scope():
                        conv_bn(unit, channels, 3, channels, stride, groups=channels)
                        conv_bn(unit, width(pointwise), 1, channels)
                    self.features.add(unit)
                    channels = width(pointwise)
                self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels, prefix="output_")


class LinearBottleneck(ResidualBlock):
    """``body(x) [+ x]``: [1x1 expand, ReLU6] -> 3x3 depthwise, ReLU6 -> 1x1 project (linear).
    The shortcut exists when ``stride == 1`` and the channels are kept."""

    def __init__(self, in_channels, channels, expansion, stride, expand=True, **kwargs):
        super().__init__(**kwargs)
        self.residual = stride == 1 and in_channels == channels
        hidden = in_channels * expansion
        with self.name_scope():
            self.body = nn.HybridSequential(prefix="")
            if expand:
                conv_bn(self.body, hidden, 1, in_channels, act="relu6")
            conv_bn(self.body, hidden, 3, hidden, stride, groups=hidden, act="relu6")
            conv_bn(self.body, channels, 1, hidden, act=None)

    def hybrid_forward(self, F, x):
        out = self.body(x)
        return out + x if self.residual else out  # structural, fixed at construction


class MobileNetV2(ZooNet):
    """``features``: 3x3 stem (stride 2), 17 inverted residuals, 1x1 conv to 1280 channels,
    global average pooling; ``output``: 1x1 conv (no bias) to ``classes``, Flatten.
    ``expand_first=False`` drops the first block's 1x1 expansion (GluonCV's layout)."""

    def __init__(self, multiplier=1.0, classes=1000, in_channels=3, input_size=224,
                 expand_first=True, **kwargs):
        super().__init__(**kwargs)
        width = lambda c: int(c * multiplier)  # noqa: E731
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                conv_bn(self.features, width(32), 3, in_channels, stride=2, act="relu6")
                channels, index = width(32), 0
                for expansion, out, repeats, first_stride in MOBILENET_V2_SPEC:
                    for r in range(repeats):
                        self.features.add(LinearBottleneck(
                            channels, width(out), expansion, first_stride if r == 0 else 1,
                            expand=expansion != 1 or expand_first, prefix=f"block{index}_"))
                        channels, index = width(out), index + 1
                last = width(1280) if multiplier > 1.0 else 1280
                conv_bn(self.features, last, 1, channels, act="relu6")
                self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.HybridSequential(prefix="output_")
            with self.output.name_scope():
                self.output.add(nn.Conv2D(classes, 1, use_bias=False, in_channels=last), nn.Flatten())


# name -> (version, width multiplier, MobileNetV2 kwargs)
MOBILENET_NAMES = {
    "mobilenet1_0": (1, 1.0, {}), "mobilenet0_75": (1, 0.75, {}),
    "mobilenet0_5": (1, 0.5, {}), "mobilenet0_25": (1, 0.25, {}),
    "mobilenet_v2_1_0": (2, 1.0, {}), "mobilenet_v2_0_75": (2, 0.75, {}),
    "mobilenet_v2_0_5": (2, 0.5, {}), "mobilenet_v2_0_25": (2, 0.25, {}),
    "mobilenet_v2_1_0_gluoncv": (2, 1.0, {"expand_first": False}),
    "mobilenet_v2_0_75_gluoncv": (2, 0.75, {"expand_first": False}),
    "mobilenet_v2_0_5_gluoncv": (2, 0.5, {"expand_first": False}),
    "mobilenet_v2_0_25_gluoncv": (2, 0.25, {"expand_first": False}),
}


def _mobilenet(name, **kwargs):
    version, multiplier, extra = MOBILENET_NAMES[name]
    net = MobileNet if version == 1 else MobileNetV2
    return net(multiplier, **extra, **config_defaults(name, kwargs))


# GluonCV's ImageNet recipes (its mobilenet0.5 / mobilenetv2_0.5 logs): v1 lr 0.4 for batch
# 1024, 120 epochs; v2 lr 0.05 for batch 256, 150 epochs; both cosine, label smoothing.
_V1 = imagenet(lr=0.4, batch_size=1024, epochs=120)
_V2 = imagenet(lr=0.05, batch_size=256, epochs=150)


@register_model(config=_V1)
def mobilenet1_0(**kwargs):
    """MobileNet v1 at width 1.0."""
    return _mobilenet("mobilenet1_0", **kwargs)


@register_model(config=_V1)
def mobilenet0_75(**kwargs):
    return _mobilenet("mobilenet0_75", **kwargs)


@register_model(config=_V1)
def mobilenet0_5(**kwargs):
    return _mobilenet("mobilenet0_5", **kwargs)


@register_model(config=_V1)
def mobilenet0_25(**kwargs):
    return _mobilenet("mobilenet0_25", **kwargs)


@register_model(config=_V2)
def mobilenet_v2_1_0(**kwargs):
    """MobileNet v2 at width 1.0 (MXNet's layout)."""
    return _mobilenet("mobilenet_v2_1_0", **kwargs)


@register_model(config=_V2)
def mobilenet_v2_0_75(**kwargs):
    return _mobilenet("mobilenet_v2_0_75", **kwargs)


@register_model(config=_V2)
def mobilenet_v2_0_5(**kwargs):
    return _mobilenet("mobilenet_v2_0_5", **kwargs)


@register_model(config=_V2)
def mobilenet_v2_0_25(**kwargs):
    return _mobilenet("mobilenet_v2_0_25", **kwargs)


@register_model(config=_V2)
def mobilenet_v2_1_0_gluoncv(**kwargs):
    """MobileNet v2 at width 1.0 in GluonCV's layout (no expansion in the first block)."""
    return _mobilenet("mobilenet_v2_1_0_gluoncv", **kwargs)


@register_model(config=_V2)
def mobilenet_v2_0_75_gluoncv(**kwargs):
    return _mobilenet("mobilenet_v2_0_75_gluoncv", **kwargs)


@register_model(config=_V2)
def mobilenet_v2_0_5_gluoncv(**kwargs):
    return _mobilenet("mobilenet_v2_0_5_gluoncv", **kwargs)


@register_model(config=_V2)
def mobilenet_v2_0_25_gluoncv(**kwargs):
    return _mobilenet("mobilenet_v2_0_25_gluoncv", **kwargs)
