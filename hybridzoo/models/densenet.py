"""DenseNet (D2L ch. 8.7) and DenseNet-121/161/169/201 (Huang et al. 2017)."""
from mxnet.gluon import HybridBlock, nn

from ..config import fashion_mnist, imagenet
from ..layers import bn_relu_conv, resnet_stem
from ..registry import register_model
from ._common import ZooNet, config_defaults

# name -> (stem channels, growth rate, conv layers per dense block, bottleneck width).
# Bottleneck width b > 0 puts BN-ReLU-Conv1x1(b * growth) before each 3x3 conv (DenseNet-B);
# D2L's DenseNet has none. Transitions between blocks halve the channels (DenseNet-C).
DENSENET_SPEC = {
    "densenet": (64, 32, (4, 4, 4, 4), 0),
    "densenet121": (64, 32, (6, 12, 24, 16), 4),
    "densenet161": (96, 48, (6, 12, 36, 24), 4),
    "densenet169": (64, 32, (6, 12, 32, 32), 4),
    "densenet201": (64, 32, (6, 12, 48, 32), 4),
}


class DenseLayer(HybridBlock):
    """Appends ``growth`` new channels: ``concat(x, body(x))``."""

    def __init__(self, growth, in_channels, bottleneck=0, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.body = nn.HybridSequential(prefix="")
            if bottleneck:
                self.body.add(bn_relu_conv(bottleneck * growth, 1, in_channels))
                in_channels = bottleneck * growth
            self.body.add(bn_relu_conv(growth, 3, in_channels, padding=1))

    def hybrid_forward(self, F, x):
        return F.concat(x, self.body(x), dim=1)


class DenseNet(ZooNet):
    """``features``: stem, dense blocks with transitions (BN, ReLU, 1x1 conv halving the
    channels, AvgPool(2, 2)) between them, BN, ReLU, global average pooling; ``output``: Dense.

    Fully convolutional: ``input_size`` is only recorded (D2L uses 96, ImageNet 224).
    """

    def __init__(self, stem_channels, growth, layers_per_block, bottleneck=0, classes=10,
                 in_channels=1, input_size=96, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                self.features.add(resnet_stem(in_channels, stem_channels))
                channels = stem_channels
                for i, count in enumerate(layers_per_block, 1):
                    stage = nn.HybridSequential(prefix=f"stage{i}_")
                    with stage.name_scope():
                        for j in range(count):
                            stage.add(DenseLayer(growth, channels, bottleneck, prefix=f"layer{j}_"))
                            channels += growth
                        if i < len(layers_per_block):
                            stage.add(bn_relu_conv(channels // 2, 1, channels), nn.AvgPool2D(2, 2))
                            channels //= 2
                    self.features.add(stage)
                self.features.add(nn.BatchNorm(in_channels=channels), nn.Activation("relu"),
                                  nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels, prefix="output_")


def _densenet(name, **kwargs):
    return DenseNet(*DENSENET_SPEC[name], **config_defaults(name, kwargs))


@register_model(config=fashion_mnist(96, lr=0.1, batch_size=256, epochs=10))
def densenet(**kwargs):
    """D2L's DenseNet: four blocks of four 3x3 conv layers, growth 32, for 1x96x96 input."""
    return _densenet("densenet", **kwargs)


# ImageNet variants (Huang et al.: SGD lr 0.1, batch 256, 90 epochs).
_IMAGENET = imagenet(lr=0.1, batch_size=256, epochs=90)


@register_model(config=_IMAGENET)
def densenet121(**kwargs):
    return _densenet("densenet121", **kwargs)


@register_model(config=_IMAGENET)
def densenet161(**kwargs):
    return _densenet("densenet161", **kwargs)


@register_model(config=_IMAGENET)
def densenet169(**kwargs):
    return _densenet("densenet169", **kwargs)


@register_model(config=_IMAGENET)
def densenet201(**kwargs):
    return _densenet("densenet201", **kwargs)
