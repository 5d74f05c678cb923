"""What the family modules share beyond layers: the net base class and registry-driven defaults."""
import mxnet as mx
from mxnet.gluon import HybridBlock

from ..registry import get_config


class ResidualBlock(HybridBlock):
    """A block that adds ``body``'s output (the residual branch) to a shortcut.

    A marker for :func:`hybridzoo.testing.residual_branch_ends`, which gives the last BatchNorm
    of every residual branch a small gamma, as trained residual nets have. Blocks whose shortcut
    depends on their shape set ``residual = False`` when they have none.
    """

    residual = True


class ZooNet(HybridBlock):
    """A zoo net: ``output(features(x))``. Subclasses build both in ``__init__``.

    The root prefix defaults to the class name (entry points pass the model name), never to
    MXNet's global counter, so parameter names are the same in every instance.
    ``default_init`` is what :func:`hybridzoo.testing.init_model` and the trainers use.
    """

    default_init = mx.init.Xavier()  # D2L's choice for its conv nets

    def __init__(self, **kwargs):
        kwargs.setdefault("prefix", f"{type(self).__name__.lower()}_")
        super().__init__(**kwargs)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def config_defaults(name, kwargs):
    """``kwargs`` with ``classes``/``in_channels``/``input_size`` and the parameter prefix
    defaulting to the registered config of ``name`` (so ``resnet50()`` is the ImageNet net)."""
    config = get_config(name)
    kwargs.setdefault("classes", config.classes)
    kwargs.setdefault("in_channels", config.in_channels)
    kwargs.setdefault("input_size", config.input_shape[-1])
    kwargs.setdefault("prefix", f"{name}_")
    return kwargs
