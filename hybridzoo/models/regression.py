"""Linear regression, softmax regression and the multilayer perceptrons (D2L ch. 3-4)."""
import mxnet as mx
from mxnet.gluon import nn

from ..config import ModelConfig, fashion_mnist
from ..layers import Linear
from ..registry import register_model
from ._common import ZooNet, config_defaults


class MLP(ZooNet):
    """``features``: Dense(relu) [+ Dropout] per hidden layer; ``output``: :class:`Linear`.

    With no hidden layers it is linear (regression) or softmax regression (the loss applies
    the softmax). Inputs of any rank are flattened.
    """

    # D2L initializes this family with N(0, 0.01^2).
    default_init = mx.init.Normal(0.01)

    def __init__(self, hidden=(), dropout=(), classes=10, in_units=784, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                for units, rate in zip(hidden, dropout):
                    self.features.add(nn.Dense(units, activation="relu", in_units=in_units))
                    if rate:
                        self.features.add(nn.Dropout(rate))
                    in_units = units
            self.output = Linear(classes, in_units=in_units, prefix="output_")


# name -> (hidden units per layer, dropout rate after each; 0 = none)
MLP_SPEC = {
    "softmax_regression": ((), ()),
    "mlp": ((256,), (0,)),
    "mlp_dropout": ((256, 256), (0.2, 0.5)),
}

LINEAR_REGRESSION_CONFIG = ModelConfig(
    input_shape=(2,), classes=1, task="regression", dataset="synthetic_linear",
    lr=0.03, batch_size=10, epochs=3)


def _image_mlp(name, **kwargs):
    """The flattened image's size, in_channels * input_size^2, is the first layer's in_units."""
    kwargs = config_defaults(name, kwargs)
    in_units = kwargs.pop("in_channels") * kwargs.pop("input_size") ** 2
    return MLP(*MLP_SPEC[name], in_units=in_units, **kwargs)


@register_model(config=LINEAR_REGRESSION_CONFIG)
def linear_regression(classes=1, in_units=2, **kwargs):
    """D2L's linear regression: one Linear(1) on 2 features (true w = [2, -3.4], b = 4.2)."""
    kwargs.setdefault("prefix", "linear_regression_")
    return MLP(classes=classes, in_units=in_units, **kwargs)


@register_model(config=fashion_mnist(28, lr=0.1, batch_size=256, epochs=10, accuracy={"digits": 0.9667}))
def softmax_regression(**kwargs):
    """Softmax regression: Linear(10) on the flattened 28x28 image."""
    return _image_mlp("softmax_regression", **kwargs)


@register_model(config=fashion_mnist(28, lr=0.1, batch_size=256, epochs=10, accuracy={"digits": 0.9722}))
def mlp(**kwargs):
    """MLP: Dense(256, relu), Linear(10)."""
    return _image_mlp("mlp", **kwargs)


@register_model(config=fashion_mnist(28, lr=0.5, batch_size=256, epochs=10, accuracy={"digits": 0.9750}))
def mlp_dropout(**kwargs):
    """MLP with dropout: Dense(256, relu), Dropout(0.2), Dense(256, relu), Dropout(0.5), Linear(10)."""
    return _image_mlp("mlp_dropout", **kwargs)
