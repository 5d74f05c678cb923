"""The seed's first exercise: linear regression from scratch, then the same with Gluon.

From scratch means autograd and nothing else: parameters with ``attach_grad``, the forward
pass under ``autograd.record``, ``backward``, and a hand-written data iterator and minibatch
SGD. Both versions recover w = [2, -3.4], b = 4.2 from :func:`hybridzoo.data.synthetic_linear`.
"""
import numpy as np
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import nn

# D2L's recipe for this exercise.
LR, BATCH_SIZE, EPOCHS = 0.03, 10, 3


def data_iter(batch_size, features, labels, rng):
    """Yield shuffled minibatches ``(X, y)`` as NDArrays; the last one may be smaller."""
    order = rng.permutation(len(features))
    for start in range(0, len(features), batch_size):
        batch = order[start:start + batch_size]
        yield nd.array(features[batch], dtype=features.dtype), nd.array(labels[batch], dtype=labels.dtype)


def linreg(X, w, b):
    """The model: ``Xw + b``."""
    return nd.dot(X, w) + b


def squared_loss(y_hat, y):
    """Half squared error per example."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    """Minibatch SGD in place; gradients are sums over the batch, hence the division."""
    for param in params:
        param[:] = param - lr * param.grad / batch_size


def train_scratch(features, labels, lr=LR, batch_size=BATCH_SIZE, epochs=EPOCHS, seed=0):
    """Fit ``w, b`` from scratch; return ``(w as numpy, b as float, mean loss after each epoch)``."""
    rng = np.random.default_rng(seed)
    w = nd.array(rng.normal(0.0, 0.01, (features.shape[1], 1)))
    b = nd.zeros((1,))
    for param in (w, b):
        param.attach_grad()
    losses = []
    for _ in range(epochs):
        for X, y in data_iter(batch_size, features, labels, rng):
            with autograd.record():
                loss = squared_loss(linreg(X, w, b), y)
            loss.backward()  # a non-scalar loss backpropagates its sum
            sgd([w, b], lr, X.shape[0])
        losses.append(float(squared_loss(linreg(nd.array(features), w, b), nd.array(labels)).mean().asscalar()))
    return w.asnumpy().ravel(), float(b.asscalar()), losses


def train_gluon(features, labels, lr=LR, batch_size=BATCH_SIZE, epochs=EPOCHS, seed=0, net=None):
    """The same with Gluon: ``Dense(1)``, ``L2Loss``, ``Trainer('sgd')`` and a shuffling DataLoader.

    ``net`` defaults to ``Dense(1)``; pass e.g. ``hybridzoo.get_model("linear_regression")``.
    Returns ``(w, b, losses)`` like :func:`train_scratch`.
    """
    net = net if net is not None else nn.Dense(1, in_units=features.shape[1])
    net.initialize(init.Normal(sigma=0.01), force_reinit=True)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(features, labels), batch_size, shuffle=True)
    loss_fn = gluon.loss.L2Loss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
    all_x, all_y = nd.array(features), nd.array(labels)
    losses = []
    for _ in range(epochs):
        for X, y in loader:
            with autograd.record():
                loss = loss_fn(net(X), y)
            loss.backward()
            trainer.step(X.shape[0])
        losses.append(float(loss_fn(net(all_x), all_y).mean().asscalar()))
    weight, bias = _weight_and_bias(net)
    return weight.asnumpy().ravel(), float(bias.asscalar()), losses


def _weight_and_bias(net):
    """The one weight and one bias of a linear-regression net (a Dense or a block holding one)."""
    params = net.collect_params().values()
    weights = [p.data() for p in params if p.name.endswith("weight")]
    biases = [p.data() for p in params if p.name.endswith("bias")]
    if len(weights) != 1 or len(biases) != 1:
        raise ValueError(f"expected one weight and one bias, found {len(weights)} and {len(biases)}")
    return weights[0], biases[0]
