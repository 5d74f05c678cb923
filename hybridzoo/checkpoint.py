"""Trained parameters with a manifest: atomic writes, and loading that verifies what it loads.

A checkpoint is ``NAME.params`` (Gluon ``save_parameters``) plus ``NAME.json`` beside it: the
model name, dataset, labels, classes, input shape, mean/std, recipe and accuracies, and the
sha256 of the params file. :func:`load_pretrained` refuses files whose hash, model name or
class count do not match, so a stale or foreign file fails with a message instead of loading
into the wrong net. Plain params files and the search for a model's trained run:
:mod:`hybridzoo.weights`.
"""
import contextlib
import datetime
import hashlib
import json
import os
import signal
import threading
import uuid

import mxnet as mx

from .trusted import inside

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
        path = _params_named_by(path)
    if not os.path.isfile(path):
        hint = f" for {name!r}" if name else ""
        raise FileNotFoundError(f"no parameters{hint} at {path}: pass a .params file (from tools/train.py "
                                "or net.save_parameters), a checkpoint's .json manifest, or a run directory")
    return path


def _params_named_by(manifest):
    """The params file a checkpoint manifest names, refused unless it is inside its folder."""
    return inside(os.path.dirname(manifest), read_json(manifest, "manifest", dict).get("params"), manifest)


def read_json(path, what, kind=None):
    """The JSON document at ``path``; with ``kind`` (e.g. dict), refused when it is another type."""
    try:
        with open(path) as f:
            document = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path} not found") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{what} {path} is not valid JSON ({err}); re-create it with tools/train.py") from None
    if kind is not None and not isinstance(document, kind):
        raise ValueError(f"{what} {path} holds a JSON {type(document).__name__}, not an object; "
                         "re-create it with tools/train.py")
    return document


def read_manifest(params_path):
    """The manifest beside ``params_path``, with a clear error when it is missing."""
    path = manifest_path(params_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{params_path} has no manifest ({path}), so its model and hash cannot be checked; "
            "use parameters written by tools/train.py, or load them yourself with net.load_parameters")
    return read_json(path, "manifest", dict)


def verify(manifest, params_path, name, classes=None):
    """Raise ValueError when the checkpoint is not ``name``'s, has other classes, or was altered,
    or when its manifest names another file than ``params_path`` or one outside its folder."""
    named = inside(os.path.dirname(params_path), manifest.get("params"), manifest_path(params_path))
    if os.path.realpath(named) != os.path.realpath(params_path):
        raise ValueError(f"{manifest_path(params_path)} is the manifest of {manifest.get('params')!r}, not of "
                         f"{params_path}; keep each NAME.params beside its own NAME.json")
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


def read_params_file(path):
    """A ``.params`` file's arrays by name, without ``arg:``/``aux:`` prefixes (files written by
    ``save_parameters``, ``collect_params().save`` or ``HybridBlock.export``); one clear error
    for a missing, truncated, foreign or unnamed file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no parameter file at {path}")
    try:
        loaded = mx.nd.load(path)
    except mx.base.MXNetError:
        raise ValueError(f"cannot read {path}: truncated or not an MXNet .params file; save it "
                         "again with net.save_parameters or net.export") from None
    if not isinstance(loaded, dict) or not loaded:
        raise ValueError(f"{path} holds no named arrays; save them with net.save_parameters")
    return {key.split(":", 1)[1] if key.startswith(("arg:", "aux:")) else key: value
            for key, value in loaded.items()}


def param_kind(key):
    """What a parameter is, from its name in any naming scheme: ``features.0.1.running_mean``,
    ``resnetv10_batchnorm0_running_mean`` -> ``running_mean``; ``..._weight`` -> ``weight``."""
    parts = key.replace(".", "_").split("_")
    return "_".join(parts[-2:]) if parts[-2:-1] in (["running"], ["moving"]) else parts[-1]

