"""AlexNet (D2L ch. 8.1): five convolutions, three max-pools, two 4096-unit Dense layers."""
from mxnet.gluon import nn

from ..config import fashion_mnist
from ..layers import conv, hidden_dense, pooled_size
from ..registry import register_model
from ._common import ZooNet, config_defaults

# (channels, kernel, stride, padding, MaxPool(3, 2) after), all with ReLU
ALEXNET_SPEC = ((96, 11, 4, 0, True), (256, 5, 1, 2, True), (384, 3, 1, 1, False),
                (384, 3, 1, 1, False), (256, 3, 1, 1, True))


class AlexNet(ZooNet):
    """``features``: the convolutions and the hidden Dense layers; ``output``: Dense(classes).

    ``input_size`` (at least 67) sizes the first Dense layer: 6400 inputs at 224.
    """

    def __init__(self, classes=10, in_channels=1, input_size=224, hidden=4096, dropout=0.5,
                 **kwargs):
        super().__init__(**kwargs)
        size, channels = input_size, in_channels
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                for out, kernel, stride, padding, pool in ALEXNET_SPEC:
                    self.features.add(conv(out, kernel, channels, stride, padding))
                    size, channels = pooled_size(size, kernel, stride, padding), out
                    if pool:
                        self.features.add(nn.MaxPool2D(3, 2))
                        size = pooled_size(size, 3, 2)
                if size < 1:
                    raise ValueError(f"AlexNet needs input_size >= 67, got {input_size}")
                self.features.add(hidden_dense(hidden, dropout, channels * size * size))
            self.output = nn.Dense(classes, in_units=hidden, prefix="output_")


@register_model(config=fashion_mnist(224, lr=0.01, batch_size=128, epochs=10))
def alexnet(**kwargs):
    """AlexNet for 1x224x224 Fashion-MNIST (pass classes=1000, in_channels=3 for ImageNet)."""
    return AlexNet(**config_defaults("alexnet", kwargs))
