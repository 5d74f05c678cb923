"""ResNet-18/34 (basic blocks) and ResNet-50/101/152 (bottlenecks) (D2L ch. 8.6; He et al. 2016).

Two bottleneck layouts: ``resnet50`` ... carry the stride in the 3x3 conv (torchvision's v1.5,
GluonCV's v1b); ``resnet50_v1`` ... carry it in the first 1x1 conv, as He et al. and MXNet's
Gluon model zoo (``resnet50_v1``) do. Both have the same parameters; their outputs differ.
``resnet18_v1``/``resnet34_v1`` are ``resnet18``/``resnet34`` with the ImageNet config, under
Gluon's names. Pre-activation ResNets (v2) are in :mod:`.resnet_v2`.
"""
import functools
import re

from mxnet.gluon import nn
from mxnet.gluon.contrib.nn import Identity

from ..config import fashion_mnist, imagenet
from ..init import HeFanOut
from ..layers import conv_bn, conv_bn_relu, resnet_stem
from ..registry import register_model
from ._common import ResidualBlock, ZooNet, config_defaults

STAGE_CHANNELS = (64, 128, 256, 512)
# depth -> (residual kind, residual blocks per stage)
RESNET_SPEC = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
               50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3)),
               152: ("bottleneck", (3, 8, 36, 3))}
EXPANSION = {"basic": 1, "bottleneck": 4, "bottleneck_v1": 4}


def basic_body(channels, in_channels, stride):
    body = conv_bn_relu(channels, 3, in_channels, stride, 1)
    body.add(conv_bn(channels, 3, channels, padding=1))
    return body


def bottleneck_body(channels, in_channels, stride, stride_in_1x1=False):
    """1x1 reduce, 3x3, 1x1 expand x4; the stride in the 3x3 (torchvision's v1.5) or, with
    ``stride_in_1x1``, in the first 1x1 (He et al.'s original, Gluon's ``resnet50_v1``)."""
    body = conv_bn_relu(channels, 1, in_channels, stride if stride_in_1x1 else 1)
    body.add(conv_bn_relu(channels, 3, channels, 1 if stride_in_1x1 else stride, 1),
             conv_bn(channels * 4, 1, channels))
    return body


BODIES = {"basic": basic_body, "bottleneck": bottleneck_body,
          "bottleneck_v1": functools.partial(bottleneck_body, stride_in_1x1=True)}


class Residual(ResidualBlock):
    """``relu(body(x) + shortcut(x))``; the shortcut is a 1x1 conv + BatchNorm projection when
    the stride or channel count changes (D2L's projection has a bias and no BatchNorm)."""

    def __init__(self, kind, channels, in_channels, stride=1, **kwargs):
        super().__init__(**kwargs)
        out = channels * EXPANSION[kind]
        with self.name_scope():
            self.body = BODIES[kind](channels, in_channels, stride)
            if stride != 1 or in_channels != out:
                self.shortcut = conv_bn(out, 1, in_channels, stride)
            else:
                self.shortcut = Identity()

    def hybrid_forward(self, F, x):
        return F.Activation(self.body(x) + self.shortcut(x), act_type="relu")


def residual_stages(unit, kind, blocks_per_stage, channels=64):
    """Four stages of ``unit(kind, width, in_channels, stride)`` blocks, widths STAGE_CHANNELS,
    each stage but the first halving the size in its first block; returns (stages, channels)."""
    stages = []
    for i, (count, width) in enumerate(zip(blocks_per_stage, STAGE_CHANNELS), 1):
        stage = nn.HybridSequential(prefix=f"stage{i}_")
        with stage.name_scope():
            for j in range(count):
                stride = 2 if i > 1 and j == 0 else 1
                stage.add(unit(kind, width, channels, stride, prefix=f"block{j}_"))
                channels = width * EXPANSION[kind]
        stages.append(stage)
    return stages, channels


class ResNet(ZooNet):
    """``features``: stem, four residual stages, global average pooling; ``output``: Dense.

    Fully convolutional: ``input_size`` is only recorded (D2L uses 96, ImageNet 224).
    Initialized by default with :class:`~hybridzoo.init.HeFanOut` (D2L uses Xavier).
    """

    default_init = HeFanOut()

    def __init__(self, kind, blocks_per_stage, classes=10, in_channels=1, input_size=96,
                 **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                self.features.add(resnet_stem(in_channels))
                stages, channels = residual_stages(Residual, kind, blocks_per_stage)
                self.features.add(*stages, nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels, prefix="output_")


def _resnet(name, **kwargs):
    """``resnet50`` (v1.5 bottleneck) or ``resnet50_v1`` (stride in the first 1x1)."""
    kind, blocks = RESNET_SPEC[int(re.match(r"resnet(\d+)", name).group(1))]
    if kind == "bottleneck" and name.endswith("_v1"):
        kind = "bottleneck_v1"
    return ResNet(kind, blocks, **config_defaults(name, kwargs))


@register_model(config=fashion_mnist(96, lr=0.05, batch_size=256, epochs=10))
def resnet18(**kwargs):
    """ResNet-18 for 1x96x96 Fashion-MNIST (classes=1000, in_channels=3 for ImageNet)."""
    return _resnet("resnet18", **kwargs)


# ImageNet variants (He et al.: SGD lr 0.1, batch 256; 90 epochs as in torchvision).
_IMAGENET = imagenet(lr=0.1, batch_size=256, epochs=90)


@register_model(config=_IMAGENET)
def resnet34(**kwargs):
    return _resnet("resnet34", **kwargs)


@register_model(config=_IMAGENET)
def resnet50(**kwargs):
    return _resnet("resnet50", **kwargs)


@register_model(config=_IMAGENET)
def resnet101(**kwargs):
    return _resnet("resnet101", **kwargs)


@register_model(config=_IMAGENET)
def resnet152(**kwargs):
    return _resnet("resnet152", **kwargs)


# Gluon's ResNet v1 (MXNet's model zoo names), with GluonCV's ImageNet recipe (lr 0.4 for
# batch 1024 = 128 x 8 GPUs, 120 epochs, cosine schedule).
_GLUON_IMAGENET = imagenet(lr=0.4, batch_size=1024, epochs=120)


@register_model(config=_GLUON_IMAGENET)
def resnet18_v1(**kwargs):
    """Gluon's ResNet-18 v1: the same net as ``resnet18``, with the ImageNet config."""
    return _resnet("resnet18_v1", **kwargs)


@register_model(config=_GLUON_IMAGENET)
def resnet34_v1(**kwargs):
    """Gluon's ResNet-34 v1: the same net as ``resnet34``."""
    return _resnet("resnet34_v1", **kwargs)


@register_model(config=_GLUON_IMAGENET)
def resnet50_v1(**kwargs):
    """Gluon's ResNet-50 v1: the stride in each stage's first 1x1 conv."""
    return _resnet("resnet50_v1", **kwargs)


@register_model(config=_GLUON_IMAGENET)
def resnet101_v1(**kwargs):
    return _resnet("resnet101_v1", **kwargs)


@register_model(config=_GLUON_IMAGENET)
def resnet152_v1(**kwargs):
    return _resnet("resnet152_v1", **kwargs)
