"""Network in Network (D2L ch. 8.3): conv + two 1x1 convs per block, global average head."""
from mxnet.gluon import nn

from ..config import fashion_mnist
from ..layers import conv, pooled_size
from ..registry import register_model
from ._common import ZooNet, config_defaults

# (channels, kernel, stride, padding) of the NiN blocks before the head; each is followed by
# MaxPool(3, 2). The head is Dropout(0.5) and a NiN block with `classes` channels (3x3, pad 1).
NIN_SPEC = ((96, 11, 4, 0), (256, 5, 1, 2), (384, 3, 1, 1))


def nin_block(channels, kernel, in_channels, stride=1, padding=0, prefix=""):
    """Conv(kernel) then two 1x1 Convs, all with ReLU."""
    block = nn.HybridSequential(prefix=prefix)
    with block.name_scope():
        block.add(conv(channels, kernel, in_channels, stride, padding),
                  conv(channels, 1, channels), conv(channels, 1, channels))
    return block


class NiN(ZooNet):
    """``features``: three NiN blocks with max-pools, then Dropout; ``output``: NiN block
    with ``classes`` channels, global average pooling, Flatten. Needs ``input_size`` >= 67."""


    def __init__(self, classes=10, in_channels=1, input_size=224, dropout=0.5, **kwargs):
        super().__init__(**kwargs)
        size, channels = input_size, in_channels
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                for i, (out, kernel, stride, padding) in enumerate(NIN_SPEC, 1):
                    self.features.add(nin_block(out, kernel, channels, stride, padding, f"nin{i}_"),
                                      nn.MaxPool2D(3, 2))
                    size = pooled_size(pooled_size(size, kernel, stride, padding), 3, 2)
                    channels = out
                self.features.add(nn.Dropout(dropout))
            if size < 1:
                raise ValueError(f"NiN needs input_size >= 67, got {input_size}")
            self.output = nin_block(classes, 3, channels, padding=1, prefix="output_")
            with self.output.name_scope():
                self.output.add(nn.GlobalAvgPool2D(), nn.Flatten())


@register_model(config=fashion_mnist(224, lr=0.1, batch_size=128, epochs=10))
def nin(**kwargs):
    """NiN for 1x224x224 Fashion-MNIST."""
    return NiN(**config_defaults("nin", kwargs))
