"""LeNet-5 and LeNet with batch normalization (D2L ch. 6.6 and 8.5)."""
from mxnet.gluon import nn

from ..config import fashion_mnist
from ..layers import pooled_size
from ..registry import register_model
from ._common import ZooNet, config_defaults

CONVS = ((6, 5), (16, 5))  # (channels, kernel), each followed by sigmoid and AvgPool(2, 2)
HIDDEN = (120, 84)  # Dense layers with sigmoid before the output

# name -> (padding of the first conv, BatchNorm before each sigmoid)
LENET_SPEC = {"lenet": (2, False), "lenet_bn": (0, True)}


class LeNet(ZooNet):
    """``features``: conv/pool pairs then the hidden Dense layers; ``output``: Dense(classes).

    With ``batch_norm`` every conv/Dense is followed by BatchNorm and has no bias of its own
    (D2L keeps one; BatchNorm's beta makes it redundant and its gradient is zero in training).
    """

    def __init__(self, first_padding=2, batch_norm=False, classes=10, in_channels=1,
                 input_size=28, **kwargs):
        super().__init__(**kwargs)
        size, channels = input_size, in_channels
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                for i, (out, kernel) in enumerate(CONVS):
                    padding = first_padding if i == 0 else 0
                    self.features.add(nn.Conv2D(out, kernel, padding=padding, in_channels=channels,
                                                use_bias=not batch_norm))
                    self._activate(out, batch_norm)
                    self.features.add(nn.AvgPool2D(2, 2))
                    size = pooled_size(pooled_size(size, kernel, 1, padding), 2, 2)
                    channels = out
                in_units = channels * size * size
                for units in HIDDEN:
                    self.features.add(nn.Dense(units, in_units=in_units, use_bias=not batch_norm))
                    self._activate(units, batch_norm)
                    in_units = units
            self.output = nn.Dense(classes, in_units=in_units, prefix="output_")

    def _activate(self, channels, batch_norm):
        if batch_norm:
            self.features.add(nn.BatchNorm(in_channels=channels))
        self.features.add(nn.Activation("sigmoid"))


def _lenet(name, **kwargs):
    return LeNet(*LENET_SPEC[name], **config_defaults(name, kwargs))


@register_model(config=fashion_mnist(28, lr=0.9, batch_size=256, epochs=10, accuracy={"digits": 0.9556}))
def lenet(**kwargs):
    """LeNet-5 with sigmoid activations and average pooling."""
    return _lenet("lenet", **kwargs)


@register_model(config=fashion_mnist(28, lr=1.0, batch_size=256, epochs=10, accuracy={"digits": 0.9722}))
def lenet_bn(**kwargs):
    """LeNet with BatchNorm before every sigmoid (and no first-conv padding)."""
    return _lenet("lenet_bn", **kwargs)
