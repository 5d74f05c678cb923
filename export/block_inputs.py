"""A block's inputs: the names Gluon gives them, and what the exporters read from a zoo net's
config (duck-typed: ``net.zoo_config``; ``export`` never imports hybridzoo): its inputs' shapes at
batch 1, their dtypes and their dynamic axes. Nets without a config, or with an image config of
one float input, get None or one entry."""
import numpy as np


def gluon_input_names(count):
    """Gluon's names for a block's inputs (``data``; ``data0``, ``data1``... for several)."""
    return ["data"] if count == 1 else [f"data{i}" for i in range(count)]


def zoo_input_shape(net):
    """The zoo config's input shape at batch 1, ``(1,) + input_shape``; a list of shapes for a
    net with several inputs (``config.input_shapes()``); None for other nets."""
    config = getattr(net, "zoo_config", None)
    if hasattr(config, "input_shapes"):
        shapes = [tuple(s) for s in config.input_shapes(1)]
        return shapes[0] if len(shapes) == 1 else shapes
    shape = getattr(config, "input_shape", None)
    return (1,) + tuple(shape) if shape else None


def zoo_input_dtypes(net, count=None):
    """The zoo config's input dtypes (``config.input_dtypes()``), when it has ``count`` inputs; else None."""
    config = getattr(net, "zoo_config", None)
    dtypes = list(config.input_dtypes()) if hasattr(config, "input_dtypes") else None
    return dtypes if dtypes and (count is None or len(dtypes) == count) else None


def zoo_dynamic_axes(net):
    """``{input name: {axis: dim name}}`` from the zoo config (``config.dynamic_axes()``): the
    batch and the dims it declares variable (sequence length...); None for other nets."""
    config = getattr(net, "zoo_config", None)
    axes = config.dynamic_axes() if hasattr(config, "dynamic_axes") else None
    if not axes or all(a == {0: "batch"} for a in axes.values()):
        return None  # the batch alone: what dynamic_batch=True gives
    return axes


def shape_list(input_shape):
    """``input_shape`` as a list of shapes in input order: one shape, a list of them, or a dict
    name -> shape (None stays None)."""
    if input_shape is None:
        return None
    if isinstance(input_shape, dict):
        return [tuple(s) for s in input_shape.values()]
    if all(isinstance(d, (int, np.integer)) for d in input_shape):
        return [tuple(input_shape)]
    return [tuple(s) for s in input_shape]


def block_defaults(net, input_shape=None, input_dtype=None, dynamic_batch=True, dynamic_axes=None):
    """``(input_shapes, input_dtypes, dynamic_axes)`` of a block: what the caller gave, else its
    zoo config's (inputs at batch 1, their dtypes, the dims it declares variable), else float32.
    Shapes and dtypes come back as dicts by Gluon's input names (``data``; ``data0``...: the
    forward arguments, which the traced symbol may list in another order); shapes None when
    neither the caller nor a config gives them."""
    if input_shape is None:
        input_shape = zoo_input_shape(net)
    if dynamic_batch and dynamic_axes is None:
        dynamic_axes = zoo_dynamic_axes(net)
    if input_shape is None:
        return None, input_dtype, dynamic_axes
    shapes = shape_list(input_shape)
    names = gluon_input_names(len(shapes))
    if input_dtype is None:
        input_dtype = zoo_input_dtypes(net, len(shapes)) or "float32"
    if isinstance(input_dtype, dict):
        input_dtype = [input_dtype.get(n, "float32") for n in names]
    elif not isinstance(input_dtype, (list, tuple)):
        input_dtype = [input_dtype] * len(shapes)
    return dict(zip(names, shapes)), dict(zip(names, input_dtype)), dynamic_axes
