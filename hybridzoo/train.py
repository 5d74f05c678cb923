"""Training as a library: the D2L loop with Gluon's Trainer, checkpoints, logs and curves.

:func:`train` is what ``tools/train.py`` calls: it builds a registered classifier, trains it
with the recipe from its config (overridable), evaluates on the test split every epoch, and
writes into the run directory

- ``best.params`` + ``best.json``: the parameters with the best test accuracy and their manifest
  (model, dataset, labels, input shape, mean/std, preprocessing, recipe, seed, accuracies, sha256);
- ``last.params`` + ``last.states`` + ``last.json``: the latest epoch, for ``resume``;
- ``log.jsonl`` (one record per epoch) and ``curves.png`` (loss and accuracy per epoch).

Distributed training uses MXNet's parameter server: ``kvstore="dist_sync"`` (or ``dist_async``)
in a process started with the ``DMLC_*`` environment; each worker trains on its own shard.
"""
import dataclasses
import os
import random
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon
from tqdm import tqdm

from . import checkpoint, data, guards, runs, trusted, weights
from .recipes import DATASET_RECIPES, KVSTORES, OPTIMIZERS, Recipe  # noqa: F401  (re-exported)
from .registry import get_model
from .runs import CURVES_FILE, LAST, LOG_FILE, RunExistsError, plot_curves  # noqa: F401  (re-exported)


def resolve_context(name="auto"):
    """``auto`` -> the first GPU when MXNet sees one, else the CPU; also ``cpu``, ``gpu``, ``gpu:1``."""
    kind, _, index = name.partition(":")
    if kind == "auto":
        return mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu()
    if kind == "cpu":
        return mx.cpu()
    if kind == "gpu":
        if mx.context.num_gpus() <= int(index or 0):
            raise ValueError(f"--ctx {name}: MXNet sees {mx.context.num_gpus()} GPU(s); "
                             "use --ctx auto or cpu, or install mxnet-cu112 on a CUDA host")
        return mx.gpu(int(index or 0))
    raise ValueError(f"unknown context {name!r}: use auto, cpu, gpu or gpu:N")


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    mx.random.seed(seed)


def create_kvstore(kind):
    """A KVStore object for ``dist_*`` (connects to the cluster, so rank and size are known);
    the plain name otherwise (Gluon creates local stores only when several devices need one)."""
    return mx.kv.create(kind) if kind.startswith("dist") else kind


def make_trainer(net, recipe, kvstore):
    """``gluon.Trainer`` with the recipe's optimizer, learning rate, weight decay and kvstore."""
    params = {"learning_rate": recipe.lr, "wd": recipe.wd}
    if recipe.optimizer == "sgd" and recipe.momentum:
        params["momentum"] = recipe.momentum
    return gluon.Trainer(net.collect_params(), recipe.optimizer, params, kvstore=kvstore)


def step_scale(kvstore):
    """Examples per ``trainer.step`` relative to one batch: dist_sync sums the gradients of all
    workers on the server, so each update divides by the global batch."""
    if isinstance(kvstore, mx.kvstore.KVStore) and kvstore.type == "dist_sync":
        return kvstore.num_workers
    return 1


def evaluate(net, loader, ctx):
    """Classification accuracy of ``net`` (in predict mode) on ``loader``."""
    correct = total = 0
    for x, y in loader:
        y = y.as_in_context(ctx)
        pred = net(x.as_in_context(ctx)).argmax(axis=1)
        correct += int((pred == y.astype(pred.dtype)).sum().asscalar())
        total += y.shape[0]
    return correct / max(total, 1)


def train_epoch(net, loader, trainer, ctx, scale=1, desc="train", progress=True, epoch=None):
    """One pass over ``loader`` with softmax cross-entropy; return ``(mean loss, accuracy)``.
    A loss that is no longer finite stops it before the step that would spread it to the weights."""
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    loss_sum = correct = total = 0.0
    with tqdm(loader, desc=desc, disable=not progress, leave=False, unit="batch") as bar:
        for x, y in bar:
            x, y = x.as_in_context(ctx), y.as_in_context(ctx)  # preprocessed on the CPU
            with autograd.record():
                out = net(x)
                loss = loss_fn(out, y)
            loss.backward()
            batch_loss = float(loss.sum().asscalar())
            guards.check_loss(batch_loss, epoch, trainer.learning_rate)
            trainer.step(x.shape[0] * scale)
            loss_sum += batch_loss
            correct += float((out.argmax(axis=1) == y.astype(out.dtype)).sum().asscalar())
            total += x.shape[0]
            bar.set_postfix(loss=f"{loss_sum / total:.4f}", acc=f"{correct / total:.3f}")
    return loss_sum / total, correct / total


def fit(net, trainer, train_loader, test_loader, ctx, epochs, start_epoch=0, scale=1,
        progress=True, on_epoch=None):
    """Train from ``start_epoch`` up to ``epochs``; after each epoch evaluate, call
    ``on_epoch(record)`` and collect the record (epoch, train loss/accuracy, test accuracy, seconds)."""
    history = []
    for epoch in range(start_epoch + 1, epochs + 1):
        started = time.perf_counter()
        loss, train_acc = train_epoch(net, train_loader, trainer, ctx, scale,
                                      desc=f"epoch {epoch}/{epochs}", progress=progress, epoch=epoch)
        guards.check_loss(loss, epoch, trainer.learning_rate)  # a sum of finite losses can overflow
        guards.check_weights(net, epoch, trainer.learning_rate)
        record = {"epoch": epoch, "train_loss": loss, "train_accuracy": train_acc,
                  "test_accuracy": evaluate(net, test_loader, ctx),
                  "seconds": time.perf_counter() - started, "lr": trainer.learning_rate}
        if progress:
            tqdm.write(f"epoch {epoch}/{epochs}: loss {loss:.4f}, train acc {train_acc:.4f}, "
                       f"test acc {record['test_accuracy']:.4f} ({record['seconds']:.1f} s)")
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history


# --------------------------------------------------------------------------- the run
@dataclasses.dataclass
class RunResult:
    """What :func:`train` produced."""

    run_dir: str
    best_params: str
    manifest: dict
    history: list
    seconds: float


def build_net(name, resize=None, ctx=None, seed=0):
    """The registered classifier, initialized with its ``default_init`` (else Xavier), hybridized."""
    kwargs = {"input_size": resize} if resize else {}
    try:
        net = get_model(name, **kwargs)
    except TypeError as err:
        raise ValueError(f"{name} cannot be built with input_size={resize} ({err}); drop --resize") from None
    if net.zoo_config is not None and net.zoo_config.inputs:  # token ids, states, detections...
        from .sequence_train import TRAINABLE
        raise ValueError(f"{name} is not an image classifier ({net.zoo_config.task}); " + (
            "train it with tools/train_sequence.py" if name in TRAINABLE else "no bundled data trains it"))
    if net.zoo_config is None or net.zoo_config.task != "classification":
        raise ValueError(f"{name} is not an image classifier; train it with hybridzoo.scratch.linreg instead")
    if resize:
        net.zoo_config = net.zoo_config.with_(input_size=resize, resize=resize)
    mx.random.seed(seed)
    net.initialize(getattr(net, "default_init", None) or mx.init.Xavier(), ctx=ctx)
    if resize:
        guards.check_input_size(net, resize)
    net.hybridize()
    return net


def train(name, dataset="digits", out=None, ctx="auto", data_dir=None, resume=None,
          progress=True, overwrite=False, **overrides):
    """Train registered model ``name`` on ``dataset``; return a :class:`RunResult`.

    ``overrides`` are :class:`Recipe` fields (``lr``, ``batch_size``, ``epochs``, ``wd``,
    ``optimizer``, ``momentum``, ``resize``, ``seed``, ``kvstore``, ``workers``); None keeps the
    recipe. ``out`` is the run directory (default ``runs/NAME-DATASET``). ``resume`` is a run
    directory or its ``last.json``: training continues after its last epoch up to ``epochs``,
    with its parameters, optimizer state and recipe (overrides still apply). Without it, a folder
    that already holds a run raises :class:`RunExistsError`; ``overwrite`` replaces that run once
    this one has written its first checkpoint (a failure or Ctrl-C before then keeps it).
    """
    started = time.perf_counter()
    state = runs.read_resume(resume) if resume else None
    if state is not None:
        if state["model"] != name or state["dataset"] != dataset:
            raise ValueError(f"--resume {resume} is a {state['model']} run on {state['dataset']}, "
                             f"not {name} on {dataset}")
        if out and os.path.abspath(out) != state["run_dir"]:
            raise ValueError(f"--resume continues in {state['run_dir']}; drop --out {out} or copy the run there")
        try:
            recipe = Recipe(**state["recipe"]).replace(**overrides)
        except TypeError as err:  # a field this version does not know, or one missing
            raise ValueError(f"--resume {resume}: its recipe does not fit this version ({err}); "
                             "start a new run with --out DIR") from None
        out = state["run_dir"]
    else:
        recipe = Recipe.for_model(name, dataset, **overrides)
    out = out or os.path.join(weights.RUNS_DIR, f"{name}-{dataset}")
    earlier = runs.check_new_run(out, overwrite) if state is None else []  # before joining a cluster
    context = resolve_context(ctx)
    seed_everything(recipe.seed)
    kvstore = create_kvstore(recipe.kvstore)
    rank, workers = (kvstore.rank, kvstore.num_workers) if not isinstance(kvstore, str) else (0, 1)
    writer = rank == 0  # in a cluster only the first worker writes files

    net = build_net(name, recipe.resize, context, recipe.seed)
    config = net.zoo_config
    train_loader, test_loader = data.image_loaders(dataset, config, recipe.batch_size, recipe.workers,
                                                   data_dir, shard=(rank, workers))
    trainer = make_trainer(net, recipe, kvstore)
    history, best = [], None
    if state is not None:
        net.load_parameters(state["params_path"], ctx=context)
        _resume_optimizer(trainer, state, recipe)
        history, best = state["history"], state.get("best")

    preprocess = data.preprocessing_spec(config)
    identity = {"model": name, "dataset": dataset, "labels": runs.labels_for(dataset, config.classes),
                "classes": config.classes, "input_shape": list(config.input_shape),
                "mean": preprocess["mean"], "std": preprocess["std"], "preprocess": preprocess,
                "recipe": dataclasses.asdict(recipe), "seed": recipe.seed, "context": str(context)}

    def on_epoch(record):
        nonlocal best, earlier
        history.append(record)
        if not writer:
            return
        with checkpoint.uninterrupted():  # Ctrl-C waits: the folder is always one whole epoch
            new_best = best is None or record["test_accuracy"] > best["test_accuracy"]
            best = dict(record) if new_best else best
            # --overwrite: the earlier run's files go only now, replaced by this first checkpoint
            runs.save_epoch(net, trainer, out, identity, best, history, new_best, replaces=earlier)
            earlier = []

    try:
        fit(net, trainer, train_loader, test_loader, context, recipe.epochs, start_epoch=len(history),
            scale=step_scale(kvstore), progress=progress, on_epoch=on_epoch)
    except guards.DivergedError as err:
        raise guards.DivergedError(f"{err}; {runs.what_is_kept(out, history, earlier)}") from None
    best_params = os.path.join(out, checkpoint.BEST + ".params")
    manifest = {}
    if writer and best is not None:  # record the final accuracies in the best manifest too
        manifest = runs.save_best(net, out, identity, best, history, params_unchanged=True)
    return RunResult(out, best_params, manifest, history, time.perf_counter() - started)


def _resume_optimizer(trainer, state, recipe):
    """Load the saved optimizer state (momentum, Adam moments) when the optimizer is unchanged and
    the file's bytes are the ones the run recorded; the file also holds the old lr and wd, so the
    recipe's are set again."""
    if state["recipe"].get("optimizer", "sgd") != recipe.optimizer or state["states_path"] is None:
        return  # a new optimizer starts fresh; distributed runs keep their state on the servers
    trusted.load_trainer_states(trainer, state["states_path"], state.get("states_sha256"),
                                os.path.join(state["run_dir"], LAST + ".json"))
    trainer.set_learning_rate(recipe.lr)
    trainer.optimizer.wd = recipe.wd
