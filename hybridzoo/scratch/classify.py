"""Softmax regression and the multilayer perceptron from scratch, each with its Gluon twin.

From scratch means NDArray and autograd only: weights with ``attach_grad``, the forward pass
under ``autograd.record``, ``backward``, and :mod:`.linreg`'s data iterator and minibatch SGD.
The Gluon twin (Dense layers, ``SoftmaxCrossEntropyLoss``, ``Trainer('sgd')``) starts from the
same weights and sees the same minibatches, so both end with the same parameters.
``hidden=()`` is softmax regression, ``hidden=(256,)`` D2L's MLP; ``dropout`` (one rate per
hidden layer, :func:`.regularization.dropout`) gives D2L's MLP with dropout.

Data: scikit-learn's digits (8x8 images as 64 features in [0, 1], 10 classes), offline;
D2L uses Fashion-MNIST (784 features), which the same code takes. Pass ``data`` as float64
arrays to train in float64 (the tests compare the two versions so, free of rounding).
"""
import numpy as np
from mxnet import autograd, gluon, nd
from mxnet.gluon import nn

from ..data import digits_split
from .linreg import data_iter, sgd
from .regularization import dropout as scratch_dropout

# The digits recipe of hybridzoo.train for softmax regression and the MLP (D2L: 0.1, 256, 10).
LR, BATCH_SIZE, EPOCHS = 0.1, 32, 20
WEIGHT_STD = 0.01  # D2L initializes every weight from N(0, 0.01^2), biases at 0


def softmax(X):
    """Row-wise ``exp(X) / sum(exp(X))``. Each row's max is subtracted first: the result is
    the same, and exp cannot overflow (D2L's version returns nan for logits above ~88)."""
    X_exp = (X - X.max(axis=1, keepdims=True)).exp()
    return X_exp / X_exp.sum(axis=1, keepdims=True)


def cross_entropy(y_hat, y):
    """Per example, minus the log of the probability ``y_hat`` gives the true class ``y``."""
    return -nd.pick(y_hat, y).log()


def accuracy(y_hat, y):
    """Fraction of rows whose highest score is the true class."""
    return float((y_hat.argmax(axis=1) == y.astype(y_hat.dtype)).mean().asscalar())


def relu(X):
    return nd.maximum(X, 0)


def init_params(num_inputs, hidden, num_outputs, seed=0, dtype=np.float32):
    """``[(W, b), ...]`` per layer as numpy arrays: W ~ N(0, 0.01^2) of shape (in, out), b = 0."""
    rng, sizes = np.random.default_rng(seed), (num_inputs,) + tuple(hidden) + (num_outputs,)
    return [(rng.normal(0, WEIGHT_STD, (n_in, n_out)).astype(dtype), np.zeros(n_out, dtype))
            for n_in, n_out in zip(sizes, sizes[1:])]


def net(X, params, dropout=()):
    """Class probabilities: hidden layers ``relu(XW + b)`` (each followed by dropout, active
    only in training), then ``softmax(XW + b)``."""
    H = X.reshape((X.shape[0], -1))
    for (W, b), rate in zip(params[:-1], tuple(dropout) + (0,) * len(params)):
        H = scratch_dropout(relu(nd.dot(H, W) + b), rate)
    W, b = params[-1]
    return softmax(nd.dot(H, W) + b)


def digits_data():
    """``(train_x, train_y), (test_x, test_y)``: the digits as flat float32 features."""
    (train_x, train_y), (test_x, test_y) = digits_split()
    return (train_x.reshape(len(train_x), -1), train_y), (test_x.reshape(len(test_x), -1), test_y)


def fit(loss_of, step, predict, data, batch_size, epochs, seed):
    """The training loop both versions share: per minibatch, ``loss_of(X, y)`` under
    ``autograd.record``, ``backward``, ``step(batch size)``. Returns the history: per epoch the
    mean training loss and the test accuracy of ``predict``."""
    (train_x, train_y), (test_x, test_y) = data
    rng, history = np.random.default_rng(seed), []
    for _ in range(epochs):
        total = 0.0
        for X, y in data_iter(batch_size, train_x, train_y, rng):
            with autograd.record():
                loss = loss_of(X, y)
            loss.backward()
            step(X.shape[0])
            total += float(loss.sum().asscalar())
        test_accuracy = accuracy(predict(nd.array(test_x, dtype=test_x.dtype)), nd.array(test_y))
        history.append({"loss": total / len(train_x), "test_accuracy": test_accuracy})
    return history


def train_scratch(hidden=(), dropout=(), lr=LR, batch_size=BATCH_SIZE, epochs=EPOCHS, seed=0,
                  data=None):
    """Train from scratch; return ``(params as numpy [(W, b), ...], history)`` (see :func:`fit`)."""
    data = data or digits_data()
    (train_x, train_y), _ = data
    params = [(nd.array(W, dtype=W.dtype), nd.array(b, dtype=b.dtype)) for W, b in
              init_params(train_x.shape[1], hidden, int(train_y.max()) + 1, seed, train_x.dtype)]
    flat = [p for layer in params for p in layer]
    for p in flat:
        p.attach_grad()
    history = fit(lambda X, y: cross_entropy(net(X, params, dropout), y),
                  lambda size: sgd(flat, lr, size), lambda X: net(X, params), data,
                  batch_size, epochs, seed)
    return [(W.asnumpy(), b.asnumpy()) for W, b in params], history


def gluon_net(num_inputs, hidden, num_outputs, dropout=()):
    """The same net with Gluon layers; it outputs logits (the loss applies the softmax)."""
    layers, n_in = nn.Sequential(), num_inputs
    for units, rate in zip(hidden, tuple(dropout) + (0,) * len(hidden)):
        layers.add(nn.Dense(units, activation="relu", in_units=n_in))
        if rate:
            layers.add(nn.Dropout(rate))
        n_in = units
    layers.add(nn.Dense(num_outputs, in_units=n_in))
    return layers


def train_gluon(hidden=(), lr=LR, batch_size=BATCH_SIZE, epochs=EPOCHS, seed=0, data=None):
    """The same training with Gluon, from :func:`init_params`'s weights (Dense stores W
    transposed) and the same minibatches; returns what :func:`train_scratch` returns."""
    data = data or digits_data()
    (train_x, train_y), _ = data
    initial = init_params(train_x.shape[1], hidden, int(train_y.max()) + 1, seed, train_x.dtype)
    model = gluon_net(train_x.shape[1], hidden, len(initial[-1][1]))
    model.initialize()
    model.cast(train_x.dtype)
    dense = [layer for layer in model if isinstance(layer, nn.Dense)]
    for layer, (W, b) in zip(dense, initial):
        layer.weight.set_data(nd.array(W.T, dtype=W.dtype))
        layer.bias.set_data(nd.array(b, dtype=b.dtype))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(model.collect_params(), "sgd", {"learning_rate": lr})
    history = fit(lambda X, y: loss_fn(model(X), y), trainer.step, model, data,
                  batch_size, epochs, seed)
    return [(layer.weight.data().asnumpy().T, layer.bias.data().asnumpy()) for layer in dense], history
