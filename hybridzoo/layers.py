"""Layers shared by several model families.

``Linear`` is a Dense layer that declares its own parameters with ``self.params.get``: the
regression family uses it as its output layer, so ``net.output.weight`` / ``net.output.bias``
are what D2L's linear-regression chapter compares against the true ``w`` and ``b``.
The functions build the stems, classifier bodies and conv units that several families repeat;
they return ``HybridSequential(prefix="")`` so their layers are named in the caller's scope.
"""
from mxnet.gluon import HybridBlock, nn


class Linear(HybridBlock):
    """``y = x W^T + b`` on the flattened input; parameters ``weight`` (units, in_units), ``bias`` (units,)."""

    def __init__(self, units, in_units=0, use_bias=True, weight_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self._units = units
        with self.name_scope():
            # in_units=0 defers the shape to the first forward pass.
            self.weight = self.params.get("weight", shape=(units, in_units), init=weight_initializer,
                                          allow_deferred_init=True)
            self.bias = self.params.get("bias", shape=(units,), init="zeros",
                                        allow_deferred_init=True) if use_bias else None

    def hybrid_forward(self, F, x, weight, bias=None):
        return F.FullyConnected(x, weight, bias, no_bias=bias is None, num_hidden=self._units,
                                flatten=True)

    def __repr__(self):
        return f"{type(self).__name__}({self.weight.shape[1] or None} -> {self._units})"


def conv(channels, kernel, in_channels, stride=1, padding=0, act="relu", use_bias=True):
    """A Conv2D with its input channels declared (so initialization is not deferred)."""
    return nn.Conv2D(channels, kernel, strides=stride, padding=padding, activation=act,
                     use_bias=use_bias, in_channels=in_channels)


def conv_bn(channels, kernel, in_channels, stride=1, padding=0):
    """Conv (no bias: BatchNorm's beta replaces it) -> BatchNorm, as one Sequential."""
    block = nn.HybridSequential(prefix="")
    block.add(conv(channels, kernel, in_channels, stride, padding, act=None, use_bias=False),
              nn.BatchNorm(in_channels=channels))
    return block


def conv_bn_relu(channels, kernel, in_channels, stride=1, padding=0):
    """Conv (no bias) -> BatchNorm -> ReLU, as one Sequential."""
    block = conv_bn(channels, kernel, in_channels, stride, padding)
    block.add(nn.Activation("relu"))
    return block


def bn_relu_conv(channels, kernel, in_channels, padding=0):
    """Pre-activation unit of DenseNet: BatchNorm -> ReLU -> Conv (no bias)."""
    block = nn.HybridSequential(prefix="")
    block.add(nn.BatchNorm(in_channels=in_channels), nn.Activation("relu"),
              conv(channels, kernel, in_channels, padding=padding, act=None, use_bias=False))
    return block


def resnet_stem(in_channels, channels=64):
    """ResNet/DenseNet stem: Conv 7x7 s2 p3 -> BatchNorm -> ReLU -> MaxPool 3 s2 p1 (/4 spatially)."""
    stem = conv_bn_relu(channels, 7, in_channels, stride=2, padding=3)
    stem.add(nn.MaxPool2D(3, 2, 1))
    return stem


def hidden_dense(units, dropout, in_units, count=2):
    """AlexNet/VGG classifier body: [Dense(units, relu), Dropout(dropout)] x count."""
    block = nn.HybridSequential(prefix="")
    for _ in range(count):
        block.add(nn.Dense(units, activation="relu", in_units=in_units), nn.Dropout(dropout))
        in_units = units
    return block


def pooled_size(size, kernel, stride, padding=0):
    """Output side of a conv/pool window (MXNet's 'valid' convention), for declaring in_units."""
    return (size + 2 * padding - kernel) // stride + 1
