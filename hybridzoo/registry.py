"""The model registry: ``@register_model`` fills it, ``get_model``/``list_models``/``get_config`` read it."""
import difflib
import fnmatch
import warnings

from .config import ModelConfig

_MODELS = {}   # name -> entry-point function
_CONFIGS = {}  # name -> ModelConfig


def register_model(fn=None, *, config=None, name=None):
    """Register an entry point ``fn(**kwargs) -> HybridBlock`` under ``name`` (default: fn.__name__).

    Use bare (``@register_model``) or with a :class:`ModelConfig` (``@register_model(config=...)``).
    Registering a name twice replaces the entry and warns.
    """
    def wrap(f):
        key = name or f.__name__
        if key in _MODELS:
            warnings.warn(f"model {key!r} is already registered; replacing it", stacklevel=2)
        _MODELS[key] = f
        if config is not None:
            if not isinstance(config, ModelConfig):
                raise TypeError(f"config for {key!r} must be a ModelConfig, got {type(config).__name__}")
            _CONFIGS[key] = config
        else:
            _CONFIGS.pop(key, None)
        return f

    return wrap(fn) if fn is not None else wrap


def list_models(pattern="*"):
    """Registered names matching an fnmatch ``pattern``, sorted."""
    return sorted(n for n in _MODELS if fnmatch.fnmatchcase(n, pattern))


def _unknown(name):
    close = difflib.get_close_matches(name, _MODELS, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else f"choose from {', '.join(sorted(_MODELS))}"
    return ValueError(f"unknown model {name!r}: {hint}")


SOURCES = ("hybridzoo", "gluon")
_LOADERS = {}  # weights source -> load(name, path, **kwargs): net (hybridzoo.gluon_weights adds "gluon")


def register_weights_source(source, load):
    """Let ``get_model(name, pretrained=path, source=source)`` build nets with ``load``; a
    module that loads another library's weights registers itself here, so the registry imports
    none of them (they import the registry to build the net)."""
    _LOADERS[source] = load


def get_model(name, pretrained=None, source="hybridzoo", **kwargs):
    """Build a registered model.

    ``pretrained`` is a path to parameters: with ``source="hybridzoo"`` a checkpoint written by
    tools/train.py (or :func:`hybridzoo.gluon_weights.convert`); with ``source="gluon"`` a
    params file saved from the Gluon model-zoo net of the same architecture (MXNet's or
    GluonCV's, see :mod:`hybridzoo.gluon_weights`), whose head size it takes by default.
    """
    if name not in _MODELS:
        raise _unknown(name)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: choose one of {', '.join(SOURCES)}")
    if source == "gluon":
        if not pretrained:
            raise ValueError("source='gluon' loads a Gluon net's parameters: pass pretrained=<.params file>")
        return _LOADERS[source](name, pretrained, **kwargs)
    net = _MODELS[name](**kwargs)
    # Duck-typed metadata for exporters (export/ must not import hybridzoo): the registered
    # name and the config adjusted to this instance's head and input channels.
    net.zoo_name = name
    net.zoo_config = _instance_config(name, kwargs)
    if pretrained:
        from .checkpoint import load_pretrained
        load_pretrained(net, name, pretrained)
    return net


def _instance_config(name, kwargs):
    config = _CONFIGS.get(name)
    if config is None:
        return None
    changes = {}
    if kwargs.get("classes") is not None:
        changes["classes"] = kwargs["classes"]
    if kwargs.get("in_channels") is not None and config.is_image:
        changes["in_channels"] = kwargs["in_channels"]
    if kwargs.get("input_size") is not None and config.is_image:
        changes["input_size"] = kwargs["input_size"]
    dims = {key: kwargs[key] for key in config.dims if kwargs.get(key) is not None}
    if dims:  # dim sizes set by an entry point's argument (num_hiddens, vocab_size...)
        changes["dims"] = dims
    return config.with_(**changes) if changes else config


def get_config(name):
    """The :class:`ModelConfig` of a registered model."""
    if name not in _MODELS:
        raise _unknown(name)
    if name not in _CONFIGS:
        raise ValueError(f"model {name!r} was registered without a config; pass config= to register_model")
    return _CONFIGS[name]
