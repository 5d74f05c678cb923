"""SqueezeNet 1.0 and 1.1 (Iandola et al. 2016), as in MXNet's Gluon model zoo.

A Fire module squeezes the channels with a 1x1 conv, then expands them with a 1x1 and a 3x3
conv side by side (concatenated). The classifier is a 1x1 conv to ``classes`` channels, ReLU
and global average pooling (Gluon pools with a fixed 13x13 window, the map size at 224x224
input; the global pool is the same there and lets the net take other sizes).
"""
from mxnet.gluon import nn
from mxnet.gluon.contrib.nn import HybridConcurrent

from ..config import imagenet
from ..layers import conv
from ..registry import register_model
from ._common import ZooNet, config_defaults

# version -> (stem conv (channels, kernel), then "M" = MaxPool(3, 2, ceil_mode) or a Fire
# module (squeeze channels, expand channels per path: output 2 x expand)).
SQUEEZENET_SPEC = {
    "1.0": ((96, 7), ("M", (16, 64), (16, 64), (32, 128), "M", (32, 128), (48, 192),
                      (48, 192), (64, 256), "M", (64, 256))),
    "1.1": ((64, 3), ("M", (16, 64), (16, 64), "M", (32, 128), (32, 128), "M", (48, 192),
                      (48, 192), (64, 256), (64, 256))),
}


def fire(squeeze, expand, in_channels, prefix):
    """Squeeze 1x1 (ReLU), then expand 1x1 and 3x3 (ReLU each) concatenated on channels."""
    block = nn.HybridSequential(prefix=prefix)
    with block.name_scope():
        block.add(conv(squeeze, 1, in_channels))
        paths = HybridConcurrent(axis=1, prefix="expand_")
        with paths.name_scope():
            paths.add(conv(expand, 1, squeeze), conv(expand, 3, squeeze, padding=1))
        block.add(paths)
    return block


class SqueezeNet(ZooNet):
    """``features``: stem conv, max pools and Fire modules, Dropout(0.5); ``output``: 1x1 conv
    to ``classes`` channels, ReLU, global average pooling, Flatten."""

    def __init__(self, version="1.0", classes=1000, in_channels=3, input_size=224, **kwargs):
        super().__init__(**kwargs)
        if version not in SQUEEZENET_SPEC:
            raise ValueError(f"unknown SqueezeNet version {version!r}: choose one of {', '.join(SQUEEZENET_SPEC)}")
        (stem_channels, stem_kernel), layers = SQUEEZENET_SPEC[version]
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                self.features.add(conv(stem_channels, stem_kernel, in_channels, stride=2))
                channels = stem_channels
                for i, layer in enumerate(layers):
                    if layer == "M":
                        self.features.add(nn.MaxPool2D(3, 2, ceil_mode=True))
                    else:
                        self.features.add(fire(*layer, channels, prefix=f"fire{i}_"))
                        channels = 2 * layer[1]
                self.features.add(nn.Dropout(0.5))
            self.output = nn.HybridSequential(prefix="output_")
            with self.output.name_scope():
                self.output.add(conv(classes, 1, channels), nn.GlobalAvgPool2D(), nn.Flatten())


def _squeezenet(name, version, **kwargs):
    return SqueezeNet(version, **config_defaults(name, kwargs))


# MXNet's SqueezeNet weights were converted from torchvision; no Gluon training recipe exists,
# so the configs keep the generic ImageNet one (SGD lr 0.1, batch 256, 90 epochs).
_IMAGENET = imagenet()


@register_model(config=_IMAGENET)
def squeezenet1_0(**kwargs):
    """SqueezeNet 1.0: 7x7 stem with 96 channels."""
    return _squeezenet("squeezenet1_0", "1.0", **kwargs)


@register_model(config=_IMAGENET)
def squeezenet1_1(**kwargs):
    """SqueezeNet 1.1: 3x3 stem with 64 channels, pooling earlier (2.4x less computation)."""
    return _squeezenet("squeezenet1_1", "1.1", **kwargs)
