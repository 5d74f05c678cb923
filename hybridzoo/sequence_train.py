"""Training the sequence models on bundled data, in small loops as D2L writes them.

- :func:`train_classifier`: ``transformer_classifier`` on scikit-learn's digits read as 8 rows
  of 8 pixels (the digits split of :mod:`hybridzoo.data`; every row valid), softmax
  cross-entropy with Adam; test accuracy after every epoch.
- :func:`train_language_model`: ``rnn_lm`` / ``gru_lm`` / ``lstm_lm`` on the Python
  documentation (:mod:`hybridzoo.text`) with D2L's ``train_ch8``: sequential minibatches whose
  final state is the next begin state (detached), gradient clipping at norm 1, perplexity
  ``exp(mean cross-entropy per character)`` on the held-out tenth after every epoch.

``hybridzoo.train`` is for image classifiers (one input); these nets take several. Both write
``<out>/best.params`` + ``best.json`` (:mod:`hybridzoo.checkpoint`), which
``get_model(name, pretrained=out)`` loads and ``export`` records as trained; a folder that
holds a run is not written into unless ``overwrite=True``.
"""
import math
import os
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from . import checkpoint, runs, text
from .data import digits_split
from .registry import get_model


# what tools/train_sequence.py trains (the other multi-input nets have no bundled data)
TRAINABLE = ("transformer_classifier", "rnn_lm", "gru_lm", "lstm_lm")


def _new_run(out, overwrite):
    """``out``, refusing a folder that already holds a run unless ``overwrite``."""
    if runs.run_files(out) and not overwrite:
        raise runs.RunExistsError(f"{out} already holds a run: write the new one elsewhere with --out DIR "
                                  "(out=...), or replace it with --overwrite (overwrite=True)")
    return out


def _build(name, ctx, seed, **kwargs):
    mx.random.seed(seed)
    np.random.seed(seed)
    net = get_model(name, **kwargs)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    net.hybridize()
    return net


def _save(net, out, name, config, recipe, history, **results):
    manifest = {"model": name, "dataset": config.dataset, "classes": config.classes,
                "labels": list(config.labels) if config.labels else None,
                "input_shape": list(config.input_shape), "mean": None, "std": None,
                "recipe": recipe, "seed": recipe["seed"], "history": history, **results}
    return checkpoint.save_checkpoint(net, os.path.join(out, checkpoint.BEST + ".params"), manifest)


def _nd(array, ctx):
    return mx.nd.array(array, ctx=ctx, dtype=array.dtype)


def _rows(images):
    """Digits (N, 8, 8) as sequences of 8 rows with all 8 valid."""
    return images.astype(np.float32), np.full(len(images), images.shape[1], np.int32)


def classifier_accuracy(net, images, labels, ctx, batch_size=256):
    correct = 0
    for start in range(0, len(images), batch_size):
        rows, lengths = _rows(images[start:start + batch_size])
        scores = net(_nd(rows, ctx), _nd(lengths, ctx)).asnumpy()
        correct += int((scores.argmax(axis=1) == labels[start:start + batch_size]).sum())
    return correct / len(images)


def train_classifier(name="transformer_classifier", out=None, epochs=30, lr=0.003, batch_size=32,
                     seed=0, ctx=None, log=print, overwrite=False):
    """Train on the digits' training split; keep the parameters of the best test epoch."""
    out = _new_run(out or os.path.join("runs", f"{name}-digits"), overwrite)
    ctx = ctx or mx.cpu()
    (train_x, train_y), (test_x, test_y) = digits_split()
    net = _build(name, ctx, seed)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": lr})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.RandomState(seed)
    recipe = dict(optimizer="adam", lr=lr, batch_size=batch_size, epochs=epochs, seed=seed)
    history, best = [], -1.0
    for epoch in range(1, epochs + 1):
        started, order, total = time.perf_counter(), rng.permutation(len(train_x)), 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            rows, lengths = _rows(train_x[batch])
            with autograd.record():
                loss = loss_fn(net(_nd(rows, ctx), _nd(lengths, ctx)), _nd(train_y[batch], ctx))
            loss.backward()
            trainer.step(len(batch))
            total += float(loss.sum().asscalar())
        record = {"epoch": epoch, "train_loss": total / len(order),
                  "test_accuracy": classifier_accuracy(net, test_x, test_y, ctx),
                  "seconds": time.perf_counter() - started}
        history.append(record)
        log(f"epoch {epoch}/{epochs}: loss {record['train_loss']:.4f}, test accuracy "
            f"{record['test_accuracy']:.4f} ({record['seconds']:.1f} s)")
        if record["test_accuracy"] > best:
            best = record["test_accuracy"]
            manifest = _save(net, out, name, net.zoo_config, recipe, history, epoch=epoch,
                             test_accuracy=best)
    return manifest


def perplexity(net, ids, ctx, batch_size=32, num_steps=35):
    """``exp`` of the mean cross-entropy per character over ``ids``, read sequentially."""
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    state, total, count = None, 0.0, 0
    for x, y in text.sequential_batches(ids, batch_size, num_steps):
        state = state or net.begin_state(batch_size, ctx=ctx)
        scores, *state = net(_nd(x, ctx), *state)
        total += float(loss_fn(scores, _nd(y, ctx)).sum().asscalar()) * num_steps
        count += y.size
    return math.exp(total / count)


def train_language_model(name="gru_lm", out=None, epochs=20, lr=1.0, batch_size=32, num_steps=35,
                         seed=0, ctx=None, log=print, max_chars=None, overwrite=False, **kwargs):
    """D2L's ``train_ch8`` with sequential partitioning (SGD, clipping at 1); keeps the
    parameters of the epoch with the lowest held-out perplexity. ``max_chars`` trims the
    training text (quick runs)."""
    out = _new_run(out or os.path.join("runs", f"{name}-python_docs"), overwrite)
    ctx = ctx or mx.cpu()
    train_ids, test_ids = text.corpus_split()
    train_ids = train_ids[:max_chars] if max_chars else train_ids
    net = _build(name, ctx, seed, **kwargs)
    params = [p for p in net.collect_params().values() if p.grad_req != "null"]
    trainer = gluon.Trainer(params, "sgd", {"learning_rate": lr})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.RandomState(seed)
    recipe = dict(optimizer="sgd", lr=lr, clip=1.0, batch_size=batch_size, num_steps=num_steps,
                  epochs=epochs, seed=seed, train_chars=int(len(train_ids)), **kwargs)
    history, best, manifest = [], math.inf, None
    for epoch in range(1, epochs + 1):
        started, total, count = time.perf_counter(), 0.0, 0
        state = net.begin_state(batch_size, ctx=ctx)
        for x, y in text.sequential_batches(train_ids, batch_size, num_steps, rng.randint(num_steps)):
            state = [s.detach() for s in state]
            with autograd.record():
                scores, *state = net(_nd(x, ctx), *state)
                loss = loss_fn(scores, _nd(y, ctx)).mean()
            loss.backward()
            gluon.utils.clip_global_norm([p.grad(ctx) for p in params], 1.0)
            trainer.step(1)
            total, count = total + float(loss.asscalar()) * y.size, count + y.size
        record = {"epoch": epoch, "train_perplexity": math.exp(total / count),
                  "test_perplexity": perplexity(net, test_ids, ctx, batch_size, num_steps),
                  "seconds": time.perf_counter() - started}
        history.append(record)
        log(f"epoch {epoch}/{epochs}: perplexity train {record['train_perplexity']:.3f}, "
            f"held-out {record['test_perplexity']:.3f} ({record['seconds']:.1f} s)")
        if record["test_perplexity"] < best:
            best = record["test_perplexity"]
            manifest = _save(net, out, name, net.zoo_config, recipe, history, epoch=epoch,
                             test_perplexity=best, sample=generate(net, "the python ", 40, ctx))
    return manifest


def generate(net, prefix, count, ctx=None):
    """D2L's ``predict_ch8``: warm the state up on ``prefix``, then append the ``count`` most
    likely next characters one at a time."""
    ctx = ctx or mx.cpu()
    state = net.begin_state(1, ctx=ctx)
    ids = list(text.encode(prefix))
    warm_up = len(ids) - 1
    for i in range(warm_up + count):
        scores, *state = net(_nd(np.array([[ids[i]]], np.int32), ctx), *state)
        if i >= warm_up:
            ids.append(int(scores.asnumpy()[0, -1].argmax()))
    return text.decode(ids)


def held_out(dataset):
    """The held-out data of a sequence dataset, for judging exported models outside MXNet:
    ``"digits"``: ``([rows (N, 8, 8), valid lengths (N,)], labels)``, the test split as
    :func:`train_classifier` measures it; ``"python_docs"``: ``(ids, None)``, the held-out tenth
    of the text :func:`perplexity` reads. None for other datasets."""
    if dataset == "digits":
        _, (test_x, test_y) = digits_split()
        return list(_rows(test_x)), test_y
    if dataset == "python_docs":
        return text.corpus_split()[1], None
    return None
