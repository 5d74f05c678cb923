"""GoogLeNet / Inception v1 (D2L ch. 8.4): a stem and nine Inception blocks in three stages."""
from mxnet.gluon import nn
from mxnet.gluon.contrib.nn import HybridConcurrent

from ..config import fashion_mnist
from ..layers import conv
from ..registry import register_model
from ._common import ZooNet, config_defaults

# Inception blocks per stage as (c1, (c2 reduce, c2), (c3 reduce, c3), c4): the 1x1 path,
# the 1x1->3x3 path, the 1x1->5x5 path and the maxpool->1x1 path, concatenated on channels.
# Stages 3 and 4 end in MaxPool(3, 2, 1); stage 5 in global average pooling.
GOOGLENET_SPEC = (
    ((64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64)),
    ((192, (96, 208), (16, 48), 64), (160, (112, 224), (24, 64), 64),
     (128, (128, 256), (24, 64), 64), (112, (144, 288), (32, 64), 64),
     (256, (160, 320), (32, 128), 128)),
    ((256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128)),
)


def inception(c1, c2, c3, c4, in_channels, prefix):
    """Four parallel paths concatenated along channels (c1 + c2[1] + c3[1] + c4 outputs)."""
    # Each path as (channels, kernel) convs with ReLU and "same" padding; None = MaxPool(3, 1, 1).
    paths = (((c1, 1),), ((c2[0], 1), (c2[1], 3)), ((c3[0], 1), (c3[1], 5)), (None, (c4, 1)))
    block = HybridConcurrent(axis=1, prefix=prefix)
    with block.name_scope():
        for i, layers in enumerate(paths, 1):
            path, channels = nn.HybridSequential(prefix=f"path{i}_"), in_channels
            with path.name_scope():
                for layer in layers:
                    if layer is None:
                        path.add(nn.MaxPool2D(3, 1, 1))
                    else:
                        path.add(conv(layer[0], layer[1], channels, padding=layer[1] // 2))
                        channels = layer[0]
            block.add(path)
    return block


class GoogLeNet(ZooNet):
    """``features``: stem, Inception stages, global average pooling; ``output``: Dense(classes).

    Fully convolutional: ``input_size`` is only recorded (D2L uses 96, ImageNet 224).
    """

    def __init__(self, classes=10, in_channels=1, input_size=96, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                self.features.add(conv(64, 7, in_channels, stride=2, padding=3),
                                  nn.MaxPool2D(3, 2, 1), conv(64, 1, 64),
                                  conv(192, 3, 64, padding=1), nn.MaxPool2D(3, 2, 1))
                channels = 192
                for number, blocks in enumerate(GOOGLENET_SPEC, 3):
                    stage = nn.HybridSequential(prefix=f"stage{number}_")
                    with stage.name_scope():
                        for i, (c1, c2, c3, c4) in enumerate(blocks):
                            stage.add(inception(c1, c2, c3, c4, channels, f"inception{i}_"))
                            channels = c1 + c2[1] + c3[1] + c4
                    stage.add(nn.GlobalAvgPool2D() if number == 5 else nn.MaxPool2D(3, 2, 1))
                    self.features.add(stage)
            self.output = nn.Dense(classes, in_units=channels, prefix="output_")


@register_model(config=fashion_mnist(96, lr=0.1, batch_size=128, epochs=10))
def googlenet(**kwargs):
    """GoogLeNet for 1x96x96 Fashion-MNIST."""
    return GoogLeNet(**config_defaults("googlenet", kwargs))
