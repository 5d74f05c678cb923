"""Trained parameters with a manifest: atomic writes, and loading that verifies what it loads.

A checkpoint is ``NAME.params`` (Gluon ``save_parameters``) plus ``NAME.json`` beside it: the
model name, dataset, labels, classes, input shape, mean/std, recipe and accuracies, and the
sha256 of the params file. :func:`load_pretrained` refuses files whose hash, model name or
class count do not match, so a stale or foreign file fails with a message instead of loading
into the wrong net. :func:`load_weights` also takes plain params files (no manifest, so nothing
to check) and :func:`find_trained_run` finds the newest ``runs/NAME-*`` run of a model.
"""
import contextlib
import datetime
import glob
import hashlib
import json
import os
import signal
import threading
import uuid

import mxnet as mx

FORMAT = "hybridzoo-params/1"
BEST = "best"  # a run directory's best checkpoint: best.params + best.json


def sha256_file(path, chunk=1 << 20):
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path, write):
    """Call ``write(tmp_path)`` on a temporary name in ``path``'s folder, then rename it onto
    ``path``; readers never see a half-written file and a failure leaves no debris."""
    folder, base = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # Not mkstemp: its 0600 mode would stick to the result; the writer creates the file itself.
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def uninterrupted():
    """Hold Ctrl-C (SIGINT) until the block ends, then raise KeyboardInterrupt: files written
    together (params and their manifest) are never left half updated. Main thread only."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) in (
            signal.SIG_IGN, None):  # not ours to handle, or ignored (a background job): leave it so
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically."""
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")
    atomic_write(path, write)


def manifest_path(params_path):
    """``runs/x/best.params`` -> ``runs/x/best.json``."""
    return os.path.splitext(params_path)[0] + ".json"


def save_checkpoint(net, params_path, manifest):
    """Write the net's parameters and, after them, the manifest with their sha256; return it."""
    atomic_write(params_path, net.save_parameters)
    manifest = dict(manifest, format=FORMAT, params=os.path.basename(params_path),
                    sha256=sha256_file(params_path), mxnet=mx.__version__,
                    written=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    write_json(manifest_path(params_path), manifest)
    return manifest


def save_trainer_states(trainer, path):
    """The optimizer's state (momentum etc.) for ``--resume``, atomically."""
    atomic_write(path, trainer.save_states)


def resolve_params(path, name=None):
    """The params file meant by ``path``: the file itself, its manifest, or a run directory."""
    if os.path.isdir(path):
        path = os.path.join(path, BEST + ".params")
    elif path.endswith(".json"):
        path = os.path.join(os.path.dirname(path), read_json(path, "manifest").get("params", ""))
    if not os.path.isfile(path):
        hint = f" for {name!r}" if name else ""
        raise FileNotFoundError(f"no parameters{hint} at {path}: pass a .params file (from tools/train.py "
                                "or net.save_parameters), a checkpoint's .json manifest, or a run directory")
    return path


def read_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path} not found") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{what} {path} is not valid JSON ({err}); re-create it with tools/train.py") from None


def read_manifest(params_path):
    """The manifest beside ``params_path``, with a clear error when it is missing."""
    path = manifest_path(params_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{params_path} has no manifest ({path}), so its model and hash cannot be checked; "
            "use parameters written by tools/train.py, or load them yourself with net.load_parameters")
    return read_json(path, "manifest")


def verify(manifest, params_path, name, classes=None):
    """Raise ValueError when the checkpoint is not ``name``'s, has other classes, or was altered."""
    trained = manifest.get("model")
    if trained != name:
        raise ValueError(f"{params_path} holds parameters of {trained!r}, not {name!r}: "
                         f"build get_model({trained!r}) or pass the {name} checkpoint")
    if classes is not None and manifest.get("classes") != classes:
        raise ValueError(f"{params_path} was trained with {manifest.get('classes')} classes but the "
                         f"net has {classes}: build it with classes={manifest.get('classes')}")
    actual = sha256_file(params_path)
    if actual != manifest.get("sha256"):
        raise ValueError(f"sha256 mismatch for {params_path}: manifest says {manifest.get('sha256')}, "
                         f"file is {actual}; the file was changed or truncated, re-train or re-copy it")


def load_pretrained(net, name, path, ctx=None):
    """Load verified trained parameters into ``net`` (built as ``name``); return the manifest.

    ``path`` is a params file, its manifest or a run directory. The net's ``zoo_config`` is
    updated to what it was trained on (dataset, hence labels; input shape; mean/std; accuracy),
    and ``net.zoo_manifest`` keeps the whole manifest for exporters.
    """
    params_path = resolve_params(path, name)
    manifest = read_manifest(params_path)
    config = getattr(net, "zoo_config", None)
    verify(manifest, params_path, name, classes=config.classes if config is not None else None)
    try:
        net.load_parameters(params_path, ctx=ctx or mx.cpu())
    except (AssertionError, ValueError, mx.base.MXNetError) as err:
        raise ValueError(f"{params_path} does not fit this {name} net (built with other arguments "
                         f"than in training?): {err}") from None
    if config is not None:
        net.zoo_config = config.with_(
            dataset=manifest["dataset"], input_shape=tuple(manifest["input_shape"]),
            mean=_tuple_or_none(manifest.get("mean")), std=_tuple_or_none(manifest.get("std")),
            accuracy={manifest["dataset"]: manifest.get("test_accuracy")})
    net.zoo_manifest = manifest
    return manifest


def _tuple_or_none(values):
    return tuple(values) if values is not None else None


# --------------------------------------------------------------------------- without a manifest
RUNS_DIR = "runs"  # tools/train.py's default parent of run folders (runs/MODEL-DATASET)


def find_trained_run(name, root=RUNS_DIR):
    """The newest run folder ``root/NAME-*`` whose ``best.json`` is a checkpoint of ``name``, or None."""
    found = []
    for folder in glob.glob(os.path.join(glob.escape(root), glob.escape(name) + "-*")):
        params = os.path.join(folder, BEST + ".params")
        try:
            model = read_json(manifest_path(params), "manifest").get("model")
        except (OSError, ValueError):
            continue
        if model == name and os.path.isfile(params):
            found.append((os.path.getmtime(params), folder))
    return max(found)[1] if found else None


def _kind(key):
    """``features.0.1.running_mean`` / ``resnet_conv0_weight`` -> ``running_mean`` / ``weight``."""
    last = key.replace(".", "_").split("_")
    return "_".join(last[-2:]) if last[-2:-1] in (["running"], ["moving"]) else last[-1]


def _by_position(params, arrays, path):
    """Pair params and arrays in order when each pair has the same kind and shape."""
    if len(params) != len(arrays):
        raise ValueError(f"{path} holds {len(arrays)} arrays but the net has {len(params)} parameters, "
                         "and their names differ: it was saved from another architecture")
    for index, ((key, param), (saved, value)) in enumerate(zip(params, arrays)):
        if _kind(key) != _kind(saved) or tuple(param.shape) != tuple(value.shape):
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
    try:
        loaded = mx.nd.load(path)
    except mx.base.MXNetError:
        raise ValueError(f"cannot read {path}: truncated or not an MXNet .params file; "
                         "save or copy it again") from None
    if not isinstance(loaded, dict) or not loaded:
        raise ValueError(f"{path} holds no named arrays; save them with net.save_parameters")
    arrays = {key.split(":", 1)[1] if key.startswith(("arg:", "aux:")) else key: value
              for key, value in loaded.items()}
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
    params = resolve_params(path, name)
    source = os.path.normpath(params)
    if os.path.isfile(manifest_path(params)):
        manifest = load_pretrained(net, name, params, ctx)
        accuracy = manifest.get("test_accuracy")
        score = f", {manifest.get('dataset')} test accuracy {accuracy:.4f}" if accuracy is not None else ""
        return ({"trained": True, "source": source, "seed": manifest.get("seed")},
                f"trained weights ({source}{score})")
    how = load_params_file(net, params, ctx)
    return ({"trained": None, "source": source, "seed": None},
            f"weights from {source} (matched {how}; it has no manifest, so its model, classes and "
            "sha256 were not checked)")
