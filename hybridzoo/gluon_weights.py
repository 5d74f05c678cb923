"""Weights from the nets users already have: parameters saved from MXNet's Gluon model zoo
(``mxnet.gluon.model_zoo.vision``) or GluonCV's (``gluoncv.model_zoo``), loaded into the
registered net of the same architecture.

``get_model("resnet50_v1", pretrained="their.params", source="gluon")`` or
:func:`convert` (a checkpoint for ``get_model(name, pretrained=...)`` and tools/export.py).
Files from ``save_parameters`` (``features.0.weight``), ``collect_params().save`` and
``export`` (``arg:resnetv10_conv0_weight``) are accepted.

How the names are matched: both nets create their parameters in the same order (our families
are written so). The loader builds *their* net (no weights), checks that the file holds
exactly its parameter names, then pairs their parameters with ours in creation order, kind by
kind (weight, bias, gamma, ...), and checks every shape. A net with the wrong architecture fails
on the names, so Gluon's ``resnet50_v1`` (stride in the 1x1) never loads into our ``resnet50``
(stride in the 3x3, GluonCV's ``resnet50_v1b``). Their conv biases that feed a BatchNorm (ours
have none) are folded into its running mean, which is exact: BN(conv + b) with mean m equals
BN(conv) with mean m - b, in inference and in training.
"""
import os

import mxnet as mx

from .checkpoint import param_kind, read_params_file, save_checkpoint, sha256_file
from .config import IMAGENET_MEAN, IMAGENET_STD
from .registry import get_model, register_weights_source

SHOWN = 5  # names listed in an error


def _sources():
    """Our name -> (library, their get_model name) of the same architecture."""
    table = {}
    for depth in (18, 34, 50, 101, 152):
        table[f"resnet{depth}"] = ("gluoncv", f"resnet{depth}_v1b")
        for version in (1, 2):
            table[f"resnet{depth}_v{version}"] = ("mxnet", f"resnet{depth}_v{version}")
    for depth in (11, 13, 16, 19):
        table[f"vgg{depth}"] = ("mxnet", f"vgg{depth}")
        table[f"vgg{depth}_bn"] = ("mxnet", f"vgg{depth}_bn")
    for depth in (121, 161, 169, 201):
        table[f"densenet{depth}"] = ("mxnet", f"densenet{depth}")
    for width in ("1_0", "0_75", "0_5", "0_25"):
        dotted = width.replace("_", ".")
        table[f"mobilenet{width}"] = ("mxnet", f"mobilenet{dotted}")
        table[f"mobilenet_v2_{width}"] = ("mxnet", f"mobilenetv2_{dotted}")
        table[f"mobilenet_v2_{width}_gluoncv"] = ("gluoncv", f"mobilenetv2_{dotted}")
    table.update(squeezenet1_0=("mxnet", "squeezenet1.0"), squeezenet1_1=("mxnet", "squeezenet1.1"),
                 inception_v3=("mxnet", "inceptionv3"))
    return table


GLUON_SOURCES = _sources()


def gluon_source(name):
    """``(library, their model name)`` whose parameters load into our ``name``."""
    if name not in GLUON_SOURCES:
        raise ValueError(f"no Gluon model-zoo net has the architecture of {name!r}; "
                         f"source='gluon' loads into: {', '.join(sorted(GLUON_SOURCES))}")
    return GLUON_SOURCES[name]


def reference_net(library, model):
    """Their net, built without weights (only its parameter names and order are used)."""
    if library == "mxnet":
        from mxnet.gluon.model_zoo import vision
        return vision.get_model(model)
    try:
        import gluoncv
    except ImportError:
        raise ImportError(f"reading GluonCV's {model} parameters needs its definition: "
                          "pip install gluoncv==0.10.5.post0") from None
    return gluoncv.model_zoo.get_model(model, pretrained=False)


def _strip_root(names):
    """Names without the prefix they all share up to an underscore (``resnetv10_``)."""
    common = os.path.commonprefix(list(names))
    root = common[:common.rfind("_") + 1]
    return {name[len(root):]: name for name in names}


def _listing(names):
    names = sorted(names)
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def match_file(arrays, reference, path, what):
    """``{their structural key: array}``: the file must hold exactly ``reference``'s parameters,
    named structurally (save_parameters) or by full name (collect_params().save, export)."""
    # Gluon's own naming for save_parameters files (key -> Parameter, in creation order).
    structural = reference._collect_params_with_prefix()
    if any("." in key for key in arrays):
        expected, found = {key: key for key in structural}, arrays
    else:  # full names: compared without the root prefix, which carries a global counter
        key_of = {param.name: key for key, param in structural.items()}
        expected = {short: key_of[full] for short, full in _strip_root(key_of).items()}
        found = {short: arrays[full] for short, full in _strip_root(arrays).items()}
    missing, unexpected = set(expected) - set(found), set(found) - set(expected)
    if missing or unexpected:
        problems = ([f"{len(missing)} missing ({_listing(missing)})"] if missing else []) + \
                   ([f"{len(unexpected)} unexpected ({_listing(unexpected)})"] if unexpected else [])
        raise ValueError(f"{path} does not hold the parameters of {what}: {'; '.join(problems)}. "
                         "Saved from another model? hybridzoo.gluon_weights.GLUON_SOURCES maps "
                         "each hybridzoo name to the Gluon net it loads from")
    return {key: found[name] for name, key in expected.items()}  # in creation order


def pair(their_keys, ours, what):
    """``[(our Parameter, their key, folded bias key or None)]`` in creation order.

    A bias of theirs where our layer has none must be a conv bias followed by a BatchNorm
    (its gamma next); it is folded into that BatchNorm's running mean.
    """
    ours, pairs, pending = list(ours.items()), [], None
    for index, key in enumerate(their_keys):
        our_key, param = ours[len(pairs)] if len(pairs) < len(ours) else (None, None)
        if our_key is not None and param_kind(our_key) == param_kind(key):
            fold = pending if param_kind(key) == "running_mean" else None
            pending = None if fold else pending
            pairs.append((param, key, fold))
        elif param_kind(key) == "bias" and index + 1 < len(their_keys) and param_kind(their_keys[index + 1]) == "gamma":
            pending = key
        else:
            raise ValueError(f"{what} and hybridzoo's net differ at {key} (ours: {our_key}); "
                             "their architecture is not the registered one")
    if len(pairs) != len(ours) or pending:
        raise ValueError(f"{what} has {len(pairs)} parameters where hybridzoo's net has {len(ours)}")
    return pairs


def their_arrays(name, path):
    """``({their structural key: array} in creation order, description)`` for our ``name``."""
    library, model = gluon_source(name)
    what = f"{'GluonCV' if library == 'gluoncv' else 'MXNet'}'s {model}"
    return match_file(read_params_file(path), reference_net(library, model), path, what), what


def head_kwargs(arrays, model):
    """``classes``, ``in_channels`` and ``input_size`` of the saved net: the last weight's
    outputs (the classifier), the first 4-D weight's inputs, and Gluon's native input size."""
    weights = [value for key, value in arrays.items() if param_kind(key) == "weight"]
    first_conv = next(value for value in weights if value.ndim == 4)
    return {"classes": int(weights[-1].shape[0]), "in_channels": int(first_conv.shape[1]),
            "input_size": 299 if model.startswith("inception") else 224}


def our_arrays(net, arrays, what, path):
    """``{our parameter name: NDArray}``: their arrays paired with ``net``'s parameters."""
    values, wrong = {}, []
    pairs = pair(list(arrays), net._collect_params_with_prefix(), what)
    for param, key, fold in pairs:
        value = arrays[key] - arrays[fold] if fold else arrays[key]
        if tuple(value.shape) != tuple(param.shape):
            wrong.append(f"{key} {tuple(value.shape)} vs {tuple(param.shape)}")
        values[param.name] = value.astype(param.dtype)
    if wrong:
        raise ValueError(f"{path} has other shapes than hybridzoo's {net.zoo_name} ({len(wrong)} of "
                         f"{len(pairs)}, theirs vs ours): {'; '.join(wrong[:SHOWN])}. Build the "
                         "net as theirs was built (classes, in_channels, input_size)")
    return values


def load_gluon(name, path, ctx=None, **kwargs):
    """``get_model(name, **kwargs)`` with the Gluon parameters at ``path``.

    ``classes``, ``in_channels`` and ``input_size`` default to the saved net's. The config
    gets ImageNet's mean/std (what Gluon's zoo nets and their fine-tunes expect); the dataset
    is "imagenet" for 1000 classes, else "unknown". ``net.zoo_manifest`` names the source.
    """
    library, model = gluon_source(name)
    arrays, what = their_arrays(name, path)
    for key, value in head_kwargs(arrays, model).items():
        kwargs.setdefault(key, value)
    net = get_model(name, **kwargs)
    net.collect_params().load_dict(our_arrays(net, arrays, what, path), ctx=ctx or mx.cpu())
    config = net.zoo_config
    if config is not None and config.in_channels == 3:
        net.zoo_config = config.with_(mean=IMAGENET_MEAN, std=IMAGENET_STD, accuracy={},
                                      dataset="imagenet" if config.classes == 1000 else "unknown")
    net.zoo_manifest = {"model": name, "params": os.path.abspath(path), "sha256": sha256_file(path),
                        "source": f"{library}:{model}"}
    return net


def convert(name, src, dst, **kwargs):
    """Write the Gluon parameters ``src`` as a hybridzoo checkpoint ``dst`` (+ its ``.json``
    manifest), which ``get_model(name, pretrained=dst, ...)`` and tools/export.py load;
    return the manifest."""
    net = load_gluon(name, src, **kwargs)
    config = net.zoo_config
    manifest = {"model": name, "source": net.zoo_manifest["source"],
                "converted_from": os.path.abspath(src), "dataset": config.dataset,
                "classes": config.classes, "input_shape": list(config.input_shape),
                "mean": list(config.mean) if config.mean else None,
                "std": list(config.std) if config.std else None, "test_accuracy": None}
    return save_checkpoint(net, dst, manifest)


register_weights_source("gluon", load_gluon)
