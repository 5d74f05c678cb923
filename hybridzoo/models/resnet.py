"""ResNet-18/34 (basic blocks) and ResNet-50/101/152 (bottlenecks) (D2L ch. 8.6; He et al. 2016)."""
from mxnet.gluon import HybridBlock, nn
from mxnet.gluon.contrib.nn import Identity

from ..config import fashion_mnist, imagenet
from ..init import HeFanOut
from ..layers import conv_bn, conv_bn_relu, resnet_stem
from ..registry import register_model
from ._common import ZooNet, config_defaults

STAGE_CHANNELS = (64, 128, 256, 512)
# depth -> (residual kind, residual blocks per stage)
RESNET_SPEC = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
               50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3)),
               152: ("bottleneck", (3, 8, 36, 3))}
EXPANSION = {"basic": 1, "bottleneck": 4}


def basic_body(channels, in_channels, stride):
    body = conv_bn_relu(channels, 3, in_channels, stride, 1)
    body.add(conv_bn(channels, 3, channels, padding=1))
    return body


def bottleneck_body(channels, in_channels, stride):
    """1x1 reduce, 3x3 (carrying the stride, as in torchvision's v1.5), 1x1 expand x4."""
    body = conv_bn_relu(channels, 1, in_channels)
    body.add(conv_bn_relu(channels, 3, channels, stride, 1), conv_bn(channels * 4, 1, channels))
    return body


class Residual(HybridBlock):
    """``relu(body(x) + shortcut(x))``; the shortcut is a 1x1 conv + BatchNorm projection when
    the stride or channel count changes (D2L's projection has a bias and no BatchNorm)."""

    def __init__(self, kind, channels, in_channels, stride=1, **kwargs):
        super().__init__(**kwargs)
        out = channels * EXPANSION[kind]
        with self.name_scope():
            make_body = basic_body if kind == "basic" else bottleneck_body
            self.body = make_body(channels, in_channels, stride)
            if stride != 1 or in_channels != out:
                self.shortcut = conv_bn(out, 1, in_channels, stride)
            else:
                self.shortcut = Identity()

    def hybrid_forward(self, F, x):
        return F.Activation(self.body(x) + self.shortcut(x), act_type="relu")


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
                channels = 64
                for i, (count, width) in enumerate(zip(blocks_per_stage, STAGE_CHANNELS), 1):
                    stage = nn.HybridSequential(prefix=f"stage{i}_")
                    with stage.name_scope():
                        for j in range(count):
                            stride = 2 if i > 1 and j == 0 else 1
                            stage.add(Residual(kind, width, channels, stride, prefix=f"block{j}_"))
                            channels = width * EXPANSION[kind]
                    self.features.add(stage)
                self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels, prefix="output_")


def _resnet(name, **kwargs):
    kind, blocks = RESNET_SPEC[int(name[len("resnet"):])]
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
