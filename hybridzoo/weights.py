"""Weights for a built zoo net from wherever the user keeps them: the newest trained run of
tools/train.py (``runs/MODEL-*``), a checkpoint (verified against its manifest), or a plain
``.params`` file without one (``net.save_parameters``, ``HybridBlock.export``, or another
implementation of the same architecture such as ``mxnet.gluon.model_zoo``), loaded unchecked.
"""
import glob
import os

import mxnet as mx

from . import checkpoint
from .checkpoint import param_kind, read_params_file

RUNS_DIR = "runs"  # tools/train.py's default parent of run folders (runs/MODEL-DATASET)


def find_trained_run(name, root=RUNS_DIR):
    """The newest run folder ``root/NAME-*`` whose ``best.json`` is a checkpoint of ``name``, or None."""
    found = []
    for folder in glob.glob(os.path.join(glob.escape(root), glob.escape(name) + "-*")):
        params = os.path.join(folder, checkpoint.BEST + ".params")
        try:
            model = checkpoint.read_json(checkpoint.manifest_path(params), "manifest").get("model")
        except (OSError, ValueError):
            continue
        if model == name and os.path.isfile(params):
            found.append((os.path.getmtime(params), folder))
    return max(found)[1] if found else None


def _by_position(params, arrays, path):
    """Pair params and arrays in order when each pair has the same kind and shape."""
    if len(params) != len(arrays):
        raise ValueError(f"{path} holds {len(arrays)} arrays but the net has {len(params)} parameters, "
                         "and their names differ: it was saved from another architecture")
    for index, ((key, param), (saved, value)) in enumerate(zip(params, arrays)):
        if param_kind(key) != param_kind(saved) or tuple(param.shape) != tuple(value.shape):
            raise ValueError(f"{path} does not fit this net: names differ and by position array {index} "
                             f"{saved!r} {tuple(value.shape)} meets parameter {key!r} {tuple(param.shape)}; "
                             "it was saved from another architecture (or with other --classes/--in-channels)")
    return [(param, value) for (_, param), (_, value) in zip(params, arrays)]


def load_params_file(net, path, ctx=None):
    """Load a params file that has no manifest into ``net``; return how names were matched.

    Takes ``net.save_parameters`` files (structural names), ``HybridBlock.export`` files
    (``arg:``/``aux:`` + full names), and files saved from another implementation of the same
    architecture, e.g. ``mxnet.gluon.model_zoo``'s vgg16 or resnet18_v1 (matched by position
    when every array has the kind and shape of the parameter at its place). Nothing else is
    checked: no model name, classes, dataset or sha256.
    """
    arrays = read_params_file(path)
    structural = net._collect_params_with_prefix()  # the names save_parameters writes
    full = {param.name: param for param in structural.values()}
    for how, params in (("by name", structural), ("by full name", full)):
        if set(arrays) == set(params):
            pairs = [(params[key], arrays[key]) for key in params]
            break
    else:
        how, pairs = "by position", _by_position(list(structural.items()), list(arrays.items()), path)
    for param, value in pairs:
        try:
            param._load_init(value, ctx or mx.cpu())  # what load_parameters does per parameter
        except AssertionError as err:
            raise ValueError(f"{path} does not fit this net: {err}") from None
    return how


def load_weights(net, name, path, ctx=None):
    """Weights from ``path`` into ``net`` (built as ``name``): a checkpoint of tools/train.py,
    verified against its manifest, or a params file without one (loaded unchecked).

    Returns ``(record, description)``: the ``{"trained", "source", "seed"}`` record for export
    manifests (``trained`` is None, unknown, for a file without manifest) and one line saying
    which weights these are.
    """
    params = checkpoint.resolve_params(path, name)
    source = os.path.normpath(params)
    named_by_run = os.path.isdir(path) or str(path).endswith(".json")  # never loaded unchecked
    if named_by_run or os.path.isfile(checkpoint.manifest_path(params)):
        manifest = checkpoint.load_pretrained(net, name, params, ctx)
        accuracy = manifest.get("test_accuracy")
        score = f", {manifest.get('dataset')} test accuracy {accuracy:.4f}" if accuracy is not None else ""
        return ({"trained": True, "source": source, "seed": manifest.get("seed")},
                f"trained weights ({source}{score})")
    how = load_params_file(net, params, ctx)
    return ({"trained": None, "source": source, "seed": None},
            f"weights from {source} (matched {how}; it has no manifest, so its model, classes and "
            "sha256 were not checked)")
