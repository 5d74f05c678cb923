"""Pre-activation ResNet-18/34/50/101/152 (ResNet v2; He et al. 2016, "Identity Mappings").

The v1 residual unit computes ``relu(x + BN(conv(...)))``; v2 moves BatchNorm and ReLU in front
of each convolution (``BN -> ReLU -> conv``), so the shortcut is a pure identity and nothing
follows the addition: ``x + body(relu(BN(x)))``. When a stage changes the shape, the projection
(a 1x1 conv, no BatchNorm) is applied to the pre-activated input. The net starts with a
BatchNorm on the raw input (no scale, no shift: input normalisation learned from the data) and
ends with BN -> ReLU before pooling, as in MXNet's Gluon ``resnet18_v2`` ... ``resnet152_v2``,
whose parameters load into these nets (:mod:`hybridzoo.gluon_weights`).
"""
from mxnet.gluon import nn

from ..config import imagenet
from ..init import HeFanOut
from ..layers import bn_relu_conv, resnet_stem
from ..registry import register_model
from ._common import ResidualBlock, ZooNet, config_defaults
from .resnet import EXPANSION, RESNET_SPEC, residual_stages


def bn_relu(channels):
    block = nn.HybridSequential(prefix="")
    block.add(nn.BatchNorm(in_channels=channels), nn.Activation("relu"))
    return block


def conv(channels, kernel, in_channels, stride=1, padding=0):
    return nn.Conv2D(channels, kernel, strides=stride, padding=padding, use_bias=False,
                     in_channels=in_channels)


def preact_body(kind, channels, in_channels, stride):
    """The branch after the first BN -> ReLU: conv, then (BN -> ReLU -> conv) once (basic: two
    3x3) or twice (bottleneck: 1x1 reduce, 3x3 carrying the stride, 1x1 expand x4)."""
    body = nn.HybridSequential(prefix="")
    if kind == "basic":
        body.add(conv(channels, 3, in_channels, stride, 1), bn_relu_conv(channels, 3, channels, 1))
    else:
        body.add(conv(channels, 1, in_channels))
        body.add(*bn_relu(channels))
        body.add(conv(channels, 3, channels, stride, 1), bn_relu_conv(channels * 4, 1, channels))
    return body


class PreActResidual(ResidualBlock):
    """``body(pre(x)) + shortcut``: the shortcut is ``x``, or a strided 1x1 conv of ``pre(x)``
    when the stride or channel count changes. Parameters are created in Gluon's order
    (pre BN, body, projection), so Gluon's parameter files pair with them one to one."""

    def __init__(self, kind, channels, in_channels, stride=1, **kwargs):
        super().__init__(**kwargs)
        out = channels * EXPANSION[kind]
        self._project = stride != 1 or in_channels != out
        with self.name_scope():
            self.pre = bn_relu(in_channels)
            self.body = preact_body(kind, channels, in_channels, stride)
            if self._project:  # structural, fixed at construction: symbol-safe
                self.shortcut = conv(out, 1, in_channels, stride)

    def hybrid_forward(self, F, x):
        pre = self.pre(x)
        return self.body(pre) + (self.shortcut(pre) if self._project else x)


class PreActResNet(ZooNet):
    """``features``: input BatchNorm, stem, four pre-activation stages, BN -> ReLU, global
    average pooling; ``output``: Dense. Fully convolutional (``input_size`` is recorded only)."""

    default_init = HeFanOut()

    def __init__(self, kind, blocks_per_stage, classes=1000, in_channels=3, input_size=224,
                 **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features, channels = preact_features(kind, blocks_per_stage, in_channels)
            self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels, prefix="output_")


def preact_features(kind, blocks_per_stage, in_channels):
    """``(features, channels)``: input BatchNorm, stem, the four stages, BN -> ReLU (no pooling:
    FCN's backbone); created in the caller's name scope with the prefix ``features_``."""
    features = nn.HybridSequential(prefix="features_")
    with features.name_scope():
        features.add(nn.BatchNorm(scale=False, center=False, in_channels=in_channels),
                     resnet_stem(in_channels))
        stages, channels = residual_stages(PreActResidual, kind, blocks_per_stage)
        features.add(*stages, *bn_relu(channels))
    return features, channels


def _resnet_v2(name, **kwargs):
    kind, blocks = RESNET_SPEC[int(name[len("resnet"):-len("_v2")])]
    return PreActResNet(kind, blocks, **config_defaults(name, kwargs))


# GluonCV's ImageNet recipe for these nets: lr 0.4 for batch 1024 (128 x 8 GPUs), 120 epochs,
# cosine schedule with 5 warm-up epochs.
_IMAGENET = imagenet(lr=0.4, batch_size=1024, epochs=120)


@register_model(config=_IMAGENET)
def resnet18_v2(**kwargs):
    """Pre-activation ResNet-18 (basic blocks)."""
    return _resnet_v2("resnet18_v2", **kwargs)


@register_model(config=_IMAGENET)
def resnet34_v2(**kwargs):
    return _resnet_v2("resnet34_v2", **kwargs)


@register_model(config=_IMAGENET)
def resnet50_v2(**kwargs):
    """Pre-activation ResNet-50 (bottlenecks, the stride in the 3x3 as in Gluon's v2)."""
    return _resnet_v2("resnet50_v2", **kwargs)


@register_model(config=_IMAGENET)
def resnet101_v2(**kwargs):
    return _resnet_v2("resnet101_v2", **kwargs)


@register_model(config=_IMAGENET)
def resnet152_v2(**kwargs):
    return _resnet_v2("resnet152_v2", **kwargs)
