"""VGG-11/13/16/19, with and without BatchNorm (D2L ch. 8.2; Simonyan & Zisserman 2014)."""
from mxnet.gluon import nn

from ..config import fashion_mnist, imagenet
from ..layers import conv, hidden_dense
from ..registry import register_model
from ._common import ZooNet, config_defaults

STAGE_CHANNELS = (64, 128, 256, 512, 512)
# depth -> 3x3 convolutions per stage; every stage ends with MaxPool(2, 2)
VGG_SPEC = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


class VGG(ZooNet):
    """``features``: five conv stages and the hidden Dense layers; ``output``: Dense(classes).

    ``width`` divides every conv's channels (D2L trains VGG-11 at ``width=4``); the Dense
    layers keep 4096 units as in D2L. ``batch_norm`` puts BatchNorm between each conv (then
    without bias) and its ReLU. ``input_size`` (at least 32) sizes the first Dense layer.
    """

    def __init__(self, convs_per_stage, batch_norm=False, width=1, classes=10, in_channels=1,
                 input_size=224, hidden=4096, dropout=0.5, **kwargs):
        super().__init__(**kwargs)
        if input_size < 32:
            raise ValueError(f"VGG halves the input five times; input_size must be >= 32, got {input_size}")
        channels = in_channels
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                for i, (count, out) in enumerate(zip(convs_per_stage, STAGE_CHANNELS), 1):
                    stage = nn.HybridSequential(prefix=f"stage{i}_")
                    with stage.name_scope():
                        for _ in range(count):
                            channels = self._add_conv(stage, out // width, channels, batch_norm)
                        stage.add(nn.MaxPool2D(2, 2))
                    self.features.add(stage)
                self.features.add(hidden_dense(hidden, dropout, channels * (input_size // 32) ** 2))
            self.output = nn.Dense(classes, in_units=hidden, prefix="output_")

    @staticmethod
    def _add_conv(stage, out, channels, batch_norm):
        if batch_norm:
            stage.add(conv(out, 3, channels, padding=1, act=None, use_bias=False),
                      nn.BatchNorm(in_channels=out), nn.Activation("relu"))
        else:
            stage.add(conv(out, 3, channels, padding=1))
        return out


def _vgg(name, **kwargs):
    depth, batch_norm = int(name[3:5]), name.endswith("_bn")
    return VGG(VGG_SPEC[depth], batch_norm, **config_defaults(name, kwargs))


@register_model(config=fashion_mnist(224, lr=0.05, batch_size=128, epochs=10))
def vgg11(**kwargs):
    """VGG-11 at full width; D2L's trained model (and its recipe) is ``vgg11(width=4)``."""
    return _vgg("vgg11", **kwargs)


# ImageNet variants (Simonyan & Zisserman's recipe: SGD lr 0.01, batch 256, 74 epochs).
_IMAGENET = imagenet(lr=0.01, batch_size=256, epochs=74)


@register_model(config=_IMAGENET)
def vgg13(**kwargs):
    return _vgg("vgg13", **kwargs)


@register_model(config=_IMAGENET)
def vgg16(**kwargs):
    return _vgg("vgg16", **kwargs)


@register_model(config=_IMAGENET)
def vgg19(**kwargs):
    return _vgg("vgg19", **kwargs)


@register_model(config=_IMAGENET)
def vgg11_bn(**kwargs):
    return _vgg("vgg11_bn", **kwargs)


@register_model(config=_IMAGENET)
def vgg13_bn(**kwargs):
    return _vgg("vgg13_bn", **kwargs)


@register_model(config=_IMAGENET)
def vgg16_bn(**kwargs):
    return _vgg("vgg16_bn", **kwargs)


@register_model(config=_IMAGENET)
def vgg19_bn(**kwargs):
    return _vgg("vgg19_bn", **kwargs)
