"""Dropout and the L2 penalty (weight decay) from scratch, with their Gluon equivalents.

Dropout zeroes each element with probability ``p`` and scales the survivors by ``1 / (1 - p)``,
so every element keeps its expectation; it acts only while training (under
``autograd.record()``), like ``nn.Dropout``. The L2 penalty ``lambd * ||w||^2 / 2`` added to
each example's loss and minibatch SGD give exactly the update of ``Trainer('sgd')`` with
``wd=lambd`` on the weight: ``w <- w - lr * (mean gradient + lambd * w)``. D2L shows it on a
linear regression with more features (200) than training examples (20), where it overfits.
"""
import numpy as np
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import nn

from .linreg import data_iter, linreg, sgd, squared_loss

# D2L's high-dimensional regression: y = 0.05 + sum(0.01 * x) + N(0, 0.01^2).
NUM_TRAIN, NUM_TEST, NUM_INPUTS, TRUE_W, TRUE_B, NOISE = 20, 100, 200, 0.01, 0.05, 0.01
LR, BATCH_SIZE, EPOCHS = 0.003, 1, 100


def dropout(X, drop_prob):
    """``X`` with each element zeroed with probability ``drop_prob`` and the others divided by
    ``1 - drop_prob``, while training; ``X`` itself otherwise (predict mode, or rate 0)."""
    if not 0 <= drop_prob <= 1:
        raise ValueError(f"drop_prob must be in [0, 1], got {drop_prob}")
    if drop_prob == 0 or not autograd.is_training():
        return X
    if drop_prob == 1:
        return X.zeros_like()
    mask = nd.random.uniform(0, 1, X.shape, ctx=X.context) >= drop_prob
    return mask * X / (1.0 - drop_prob)


def l2_penalty(w):
    """``||w||^2 / 2``."""
    return (w ** 2).sum() / 2


def high_dim_data(seed=0):
    """D2L's data: ``(train_x, train_y), (test_x, test_y)``, X ~ N(0, 1), 200 features."""
    rng = np.random.default_rng(seed)
    features = rng.normal(0, 1, (NUM_TRAIN + NUM_TEST, NUM_INPUTS)).astype(np.float32)
    labels = features.sum(axis=1) * TRUE_W + TRUE_B + rng.normal(0, NOISE, NUM_TRAIN + NUM_TEST)
    labels = labels.astype(np.float32)
    return (features[:NUM_TRAIN], labels[:NUM_TRAIN]), (features[NUM_TRAIN:], labels[NUM_TRAIN:])


def _initial(num_inputs, seed, dtype):
    return np.random.default_rng(seed).normal(0, 1, (num_inputs, 1)).astype(dtype)


def _losses(predict, data):
    """Mean squared loss on the training and the test set."""
    return tuple(float(squared_loss(predict(nd.array(x, dtype=x.dtype)), nd.array(y, dtype=x.dtype))
                       .mean().asscalar()) for x, y in data)


def train_scratch(lambd, lr=LR, batch_size=BATCH_SIZE, epochs=EPOCHS, seed=0, data=None):
    """Linear regression with ``lambd * l2_penalty(w)`` added to each example's loss.
    Returns ``(w, b, (train loss, test loss))``; w starts at N(0, 1), b at 0 (as D2L)."""
    data = data or high_dim_data(seed)
    (train_x, train_y), _ = data
    dtype = train_x.dtype
    w, b = nd.array(_initial(train_x.shape[1], seed, dtype), dtype=dtype), nd.zeros((1,), dtype=dtype)
    for param in (w, b):
        param.attach_grad()
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for X, y in data_iter(batch_size, train_x, train_y, rng):
            with autograd.record():
                loss = squared_loss(linreg(X, w, b), y) + lambd * l2_penalty(w)
            loss.backward()
            sgd([w, b], lr, X.shape[0])
    return w.asnumpy().ravel(), float(b.asscalar()), _losses(lambda X: linreg(X, w, b), data)


def train_gluon(wd, lr=LR, batch_size=BATCH_SIZE, epochs=EPOCHS, seed=0, data=None):
    """The same with ``Dense(1)``, ``L2Loss`` and ``Trainer('sgd', wd=wd)``; the bias is not
    decayed (``wd_mult = 0``), as in the scratch version. Returns what :func:`train_scratch` does."""
    data = data or high_dim_data(seed)
    (train_x, train_y), _ = data
    net = nn.Dense(1, in_units=train_x.shape[1])
    net.initialize(init.Zero())
    net.cast(train_x.dtype)
    net.weight.set_data(nd.array(_initial(train_x.shape[1], seed, train_x.dtype).T, dtype=train_x.dtype))
    net.bias.wd_mult = 0
    loss_fn = gluon.loss.L2Loss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr, "wd": wd})
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for X, y in data_iter(batch_size, train_x, train_y, rng):
            with autograd.record():
                loss = loss_fn(net(X), y)
            loss.backward()
            trainer.step(X.shape[0])
    return net.weight.data().asnumpy().ravel(), float(net.bias.data().asscalar()), \
        _losses(lambda X: net(X).reshape((-1,)), data)
