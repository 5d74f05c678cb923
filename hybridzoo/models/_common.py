"""What the family modules share beyond layers: constructor defaults taken from the registry."""
from ..registry import get_config


def config_defaults(name, kwargs):
    """``kwargs`` with ``classes``/``in_channels``/``input_size`` and the parameter prefix
    defaulting to the registered config of ``name`` (so ``resnet50()`` is the ImageNet net)."""
    config = get_config(name)
    kwargs.setdefault("classes", config.classes)
    kwargs.setdefault("in_channels", config.in_channels)
    kwargs.setdefault("input_size", config.input_shape[-1])
    kwargs.setdefault("prefix", f"{name}_")  # explicit root prefix: names never use counters
    return kwargs
