"""A run folder of :func:`hybridzoo.train.train`: its files, checkpoints, log and curves.

``best.params`` + ``best.json`` (the best test accuracy so far), ``last.params`` +
``last.states`` + ``last.json`` (the latest epoch, for resume), ``log.jsonl`` (one record per
epoch) and ``curves.png``. A new run never goes into a folder holding one unless asked to
replace it (:func:`check_new_run`), so no run is lost or mixed with another.
"""
import json
import os

from . import checkpoint, trusted
from .config import DATASET_LABELS

LAST = "last"
LOG_FILE, CURVES_FILE = "log.jsonl", "curves.png"


class RunExistsError(ValueError):
    """The run folder already holds a run, and neither resume nor overwrite was asked for."""


def run_files(out):
    """The files of an earlier run in ``out`` (what :func:`train` writes there)."""
    names = [checkpoint.BEST + ".params", checkpoint.BEST + ".json", LAST + ".params", LAST + ".json",
             LAST + ".states", LOG_FILE, CURVES_FILE]
    return [n for n in names if os.path.isfile(os.path.join(out, n))]


def check_new_run(out, overwrite=False):
    """Refuse to start a new run in a folder holding one (it would replace ``best.params`` even
    with a worse run and mix two runs in one log), unless ``overwrite``."""
    found = run_files(out)
    if found and not overwrite:
        try:
            best = checkpoint.read_json(os.path.join(out, checkpoint.BEST + ".json"), "manifest")
            what = (f" ({best['model']} on {best['dataset']}, best test accuracy {best['test_accuracy']:.4f}"
                    f" after {best['epochs']} epochs)")
        except (OSError, ValueError, KeyError, TypeError):
            what = ""
        raise RunExistsError(f"{out} already holds a run{what}: continue it with --resume {out}, write the new "
                             "one elsewhere with --out DIR, or replace it with --overwrite")
    return found


def labels_for(dataset, classes):
    """The dataset's class names when they fit the head, else None."""
    names = DATASET_LABELS.get(dataset)
    return list(names) if names is not None and len(names) == classes else None


def run_manifest(identity, best, history):
    """A checkpoint manifest: the run's identity, the best epoch's accuracies, the final epoch."""
    final = history[-1]
    return dict(identity, epoch=best["epoch"], epochs=final["epoch"],
                train_accuracy=best["train_accuracy"], test_accuracy=best["test_accuracy"],
                final={k: final[k] for k in ("epoch", "train_loss", "train_accuracy", "test_accuracy")})


def save_best(net, out, identity, best, history, params_unchanged=False):
    """Write best.params (unless only the manifest changes) and best.json."""
    params = os.path.join(out, checkpoint.BEST + ".params")
    manifest = run_manifest(identity, best, history)
    if not params_unchanged:
        return checkpoint.save_checkpoint(net, params, manifest)
    previous = checkpoint.read_manifest(params)
    manifest = dict(previous, **manifest)
    checkpoint.write_json(checkpoint.manifest_path(params), manifest)
    return manifest


def save_last(net, trainer, out, identity, best, history):
    """Write last.states, last.params and, after them, last.json with the sha256 of both."""
    params, states = os.path.join(out, LAST + ".params"), os.path.join(out, LAST + ".states")
    manifest = dict(run_manifest(identity, best, history), history=history, best=best)
    try:
        checkpoint.save_trainer_states(trainer, states)
        manifest.update(states=os.path.basename(states), states_sha256=checkpoint.sha256_file(states))
    except AssertionError:  # distributed stores keep optimizer state on the servers
        pass
    return checkpoint.save_checkpoint(net, params, manifest)


def save_epoch(net, trainer, out, identity, best, history, new_best, replaces=()):
    """One epoch's files: best.* (when ``new_best``), last.*, its log line and the curves.
    ``replaces`` are an earlier run's files (``--overwrite``): those this epoch does not rewrite
    go once its checkpoint is written, so the earlier run is gone only when this one has one."""
    if new_best:
        save_best(net, out, identity, best, history)
    last = save_last(net, trainer, out, identity, best, history)
    stale = {LOG_FILE} | (set() if "states" in last else {LAST + ".states"})
    for name in set(replaces) & stale:
        os.remove(os.path.join(out, name))
    append_log(os.path.join(out, LOG_FILE), dict(history[-1], model=identity["model"], dataset=identity["dataset"]))
    plot_curves(history, os.path.join(out, CURVES_FILE), title=f"{identity['model']} on {identity['dataset']}")


def what_is_kept(out, history, earlier):
    """What the run folder holds after a run stopped early: the earlier run, an epoch, or nothing."""
    if earlier:
        return f"{out} keeps the earlier run it held"
    if history:
        return f"{out} keeps epoch {history[-1]['epoch']}, the last finite one"
    return "no checkpoint was written"


def read_resume(path):
    """The last.json of the run at ``path`` (a run folder or the file), its params verified, with
    ``run_dir``, ``params_path`` and ``states_path`` (None when the run recorded no states) added."""
    last = os.path.join(path, LAST + ".json") if os.path.isdir(path) else path
    if not os.path.isfile(last):
        raise FileNotFoundError(f"nothing to resume at {path}: expected a run directory holding "
                                f"{LAST}.json/{LAST}.params written by tools/train.py")
    state = checkpoint.read_json(last, "checkpoint", dict)
    for key, kind in (("model", str), ("dataset", str), ("recipe", dict), ("history", list)):
        if not isinstance(state.get(key), kind):
            raise ValueError(f"{last} has no {key} ({kind.__name__}), so it was not written by tools/train.py; "
                             "start a new run with --out DIR")
    folder = os.path.dirname(os.path.abspath(last))
    params = trusted.inside(folder, state.get("params"), last)
    checkpoint.verify(state, params, state.get("model"))
    states = state.get("states")
    if states is None and os.path.isfile(os.path.join(folder, LAST + ".states")):
        states = LAST + ".states"  # written by a version that recorded no hash: refused when loaded
    return dict(state, run_dir=folder, params_path=params,
                states_path=trusted.inside(folder, states, last) if states is not None else None)


def append_log(path, record):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


def plot_curves(history, path, title=""):
    """PNG of train loss and train/test accuracy per epoch (matplotlib's Agg backend), atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [r["train_loss"] for r in history], marker="o", label="train loss")
    ax_acc.plot(epochs, [r["train_accuracy"] for r in history], marker="o", label="train acc")
    ax_acc.plot(epochs, [r["test_accuracy"] for r in history], marker="o", label="test acc")
    for ax, label in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    try:
        checkpoint.atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    finally:
        plt.close(fig)
