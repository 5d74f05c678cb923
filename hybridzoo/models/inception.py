"""Inception v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture"), as in MXNet's
Gluon model zoo (without the auxiliary classifier, which Gluon builds but never runs).

Every convolution is Conv (no bias) -> BatchNorm (epsilon 1e-3) -> ReLU. The architecture is
data: a branch is a sequence of items, each a conv ``(channels, kernel, stride, padding)``,
``"avg"`` (AvgPool 3x3, stride 1, pad 1), ``"max"`` (MaxPool 3x3, stride 2) or a
:func:`split` into parallel branches; a block runs its branches side by side and concatenates
them on channels. Gluon ends with AvgPool(8), the map size at 299x299 input; the global pool is
the same there and lets the net take any size from 75x75 up.
"""
from mxnet.gluon import nn
from mxnet.gluon.contrib.nn import HybridConcurrent

from ..config import imagenet
from ..registry import register_model
from ._common import ZooNet, config_defaults


def c(channels, kernel=1, stride=1, padding=0):
    """A conv item: Conv(channels, kernel, stride, padding) -> BN -> ReLU."""
    return (channels, kernel, stride, padding)


def split(*branches):
    """An item that runs ``branches`` in parallel on its input and concatenates them."""
    return list(branches)


def block_a(pool_channels):
    return ((c(64),), (c(48), c(64, 5, padding=2)), (c(64), c(96, 3, padding=1), c(96, 3, padding=1)),
            ("avg", c(pool_channels)))


def block_c(c7):
    return ((c(192),),
            (c(c7), c(c7, (1, 7), padding=(0, 3)), c(192, (7, 1), padding=(3, 0))),
            (c(c7), c(c7, (7, 1), padding=(3, 0)), c(c7, (1, 7), padding=(0, 3)),
             c(c7, (7, 1), padding=(3, 0)), c(192, (1, 7), padding=(0, 3))),
            ("avg", c(192)))


BLOCK_B = ((c(384, 3, 2),), (c(64), c(96, 3, padding=1), c(96, 3, 2)), ("max",))
BLOCK_D = ((c(192), c(320, 3, 2)),
           (c(192), c(192, (1, 7), padding=(0, 3)), c(192, (7, 1), padding=(3, 0)), c(192, 3, 2)),
           ("max",))
_SPLIT_1X3_3X1 = split((c(384, (1, 3), padding=(0, 1)),), (c(384, (3, 1), padding=(1, 0)),))
BLOCK_E = ((c(320),), (c(384), _SPLIT_1X3_3X1), (c(448), c(384, 3, padding=1), _SPLIT_1X3_3X1),
           ("avg", c(192)))

STEM = (c(32, 3, 2), c(32, 3), c(64, 3, padding=1), "max", c(80), c(192, 3), "max")
# (block name, branches): 35x35 (A), reduction (B), 17x17 (C), reduction (D), 8x8 (E).
INCEPTION_V3_SPEC = (("A1", block_a(32)), ("A2", block_a(64)), ("A3", block_a(64)), ("B", BLOCK_B),
                     ("C1", block_c(128)), ("C2", block_c(160)), ("C3", block_c(160)),
                     ("C4", block_c(192)), ("D", BLOCK_D), ("E1", BLOCK_E), ("E2", BLOCK_E))


def basic_conv(channels, kernel, stride, padding, in_channels):
    block = nn.HybridSequential(prefix="")
    block.add(nn.Conv2D(channels, kernel, strides=stride, padding=padding, use_bias=False,
                        in_channels=in_channels),
              nn.BatchNorm(epsilon=0.001, in_channels=channels), nn.Activation("relu"))
    return block


def branch(items, in_channels, prefix=""):
    """A HybridSequential of ``items``; returns it and its output channel count."""
    seq, channels = nn.HybridSequential(prefix=prefix), in_channels
    with seq.name_scope():
        for item in items:
            if item == "avg":
                seq.add(nn.AvgPool2D(3, 1, 1))
            elif item == "max":
                seq.add(nn.MaxPool2D(3, 2))
            elif isinstance(item, list):
                block, channels = concurrent(item, channels)
                seq.add(block)
            else:
                seq.add(basic_conv(*item, channels))
                channels = item[0]
    return seq, channels


def concurrent(branches, in_channels, prefix=""):
    """The branches side by side, concatenated on channels; returns it and its channel count."""
    block, total = HybridConcurrent(axis=1, prefix=prefix), 0
    with block.name_scope():
        for items in branches:
            path, channels = branch(items, in_channels)
            block.add(path)
            total += channels
    return block, total


class InceptionV3(ZooNet):
    """``features``: stem, eleven Inception blocks, global average pooling, Dropout(0.5);
    ``output``: Dense(classes)."""

    def __init__(self, classes=1000, in_channels=3, input_size=299, **kwargs):
        super().__init__(**kwargs)
        if input_size < 75:
            raise ValueError(f"Inception v3 needs input_size >= 75 (three unpadded stride-2 "
                             f"stages), got {input_size}")
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                stem, channels = branch(STEM, in_channels, prefix="stem_")
                self.features.add(stem)
                for name, branches in INCEPTION_V3_SPEC:
                    block, channels = concurrent(branches, channels, prefix=f"{name}_")
                    self.features.add(block)
                self.features.add(nn.GlobalAvgPool2D(), nn.Dropout(0.5))
            self.output = nn.Dense(classes, in_units=channels, prefix="output_")


# MXNet's Inception v3 weights were converted from torchvision; no Gluon training recipe
# exists, so the config keeps the generic ImageNet one at 299x299 (resize 342 = 299 / 0.875).
@register_model(config=imagenet(299))
def inception_v3(**kwargs):
    """Inception v3 for 3x299x299 ImageNet input."""
    return InceptionV3(**config_defaults("inception_v3", kwargs))
