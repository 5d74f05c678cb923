"""The D2L book's architectures written as its MXNet edition writes them today, in numpy mode
(``from mxnet import np, npx; npx.set_np()``, ``F.np``/``F.npx`` in ``hybrid_forward``), narrow
and small, for testing the exporter on ``_np*`` graphs. Build them with numpy mode on; the zoo's
own models stay on the legacy API.

``NUMPY_NETS[name]() -> (net, inputs)``: the net (initialized, non-trivial weights) and numpy
inputs in numpy mode's dtypes (int64 token ids, float32 otherwise).
"""
import mxnet as mx
import numpy as onp
from mxnet import autograd, init
from mxnet.gluon import nn, rnn

from hybridzoo_tools.numpy_sequence_nets import EncoderBlock, RNNModel

IMAGE_BATCH = 2


# -- blocks (D2L chapters 7, 8, 10) -----------------------------------------------------------
class BatchNorm(nn.HybridBlock):
    """D2L 8.5's batch norm from scratch (inference branch; the training one needs autograd)."""

    def __init__(self, num_features, num_dims, eps=1e-5, **kwargs):
        super().__init__(**kwargs)
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.eps = eps
        self.gamma = self.params.get("gamma", shape=shape, init=init.One())
        self.beta = self.params.get("beta", shape=shape, init=init.Zero())
        self.moving_mean = self.params.get("moving_mean", shape=shape, init=init.Zero(), grad_req="null")
        self.moving_var = self.params.get("moving_var", shape=shape, init=init.One(), grad_req="null")

    def hybrid_forward(self, F, X, gamma, beta, moving_mean, moving_var):
        if autograd.is_training():
            axes = (0,) if X.ndim == 2 else (0, 2, 3)
            mean = X.mean(axis=axes, keepdims=True)
            var = ((X - mean) ** 2).mean(axis=axes, keepdims=True)
        else:
            mean, var = moving_mean, moving_var
        return gamma * (X - mean) / F.np.sqrt(var + self.eps) + beta


class Residual(nn.HybridBlock):
    def __init__(self, channels, use_1x1conv=False, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = nn.Conv2D(channels, 3, padding=1, strides=strides)
        self.conv2 = nn.Conv2D(channels, 3, padding=1)
        self.conv3 = nn.Conv2D(channels, 1, strides=strides) if use_1x1conv else None
        self.bn1, self.bn2 = nn.BatchNorm(), nn.BatchNorm()

    def hybrid_forward(self, F, X):
        Y = F.npx.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        return F.npx.relu(Y + X)


class Inception(nn.HybridBlock):
    def __init__(self, c1, c2, c3, c4, **kwargs):
        super().__init__(**kwargs)
        self.p1_1 = nn.Conv2D(c1, 1, activation="relu")
        self.p2_1 = nn.Conv2D(c2[0], 1, activation="relu")
        self.p2_2 = nn.Conv2D(c2[1], 3, padding=1, activation="relu")
        self.p3_1 = nn.Conv2D(c3[0], 1, activation="relu")
        self.p3_2 = nn.Conv2D(c3[1], 5, padding=2, activation="relu")
        self.p4_1 = nn.MaxPool2D(3, 1, padding=1)
        self.p4_2 = nn.Conv2D(c4, 1, activation="relu")

    def hybrid_forward(self, F, x):
        p1 = self.p1_1(x)
        p2 = self.p2_2(self.p2_1(x))
        p3 = self.p3_2(self.p3_1(x))
        p4 = self.p4_2(self.p4_1(x))
        return F.np.concatenate((p1, p2, p3, p4), axis=1)


def conv_block(num_channels):
    blk = nn.HybridSequential()
    blk.add(nn.BatchNorm(), nn.Activation("relu"), nn.Conv2D(num_channels, 3, padding=1))
    return blk


class DenseBlock(nn.HybridBlock):
    def __init__(self, num_convs, num_channels, **kwargs):
        super().__init__(**kwargs)
        self.net = nn.HybridSequential()
        for _ in range(num_convs):
            self.net.add(conv_block(num_channels))

    def hybrid_forward(self, F, X):
        for blk in self.net:
            X = F.np.concatenate((X, blk(X)), axis=1)
        return X


class Flatten(nn.HybridBlock):
    """Numpy-style flatten: ``npx.reshape`` with code -2 (copy) and -1 (infer)."""

    def hybrid_forward(self, F, X):
        return F.npx.reshape(X, (-2, -1))


# -- image nets (Fashion-MNIST: 1 channel, 10 classes) ----------------------------------------
def lenet(bn=False):
    act = lambda: None if bn else "sigmoid"  # noqa: E731
    net = nn.HybridSequential()
    net.add(nn.Conv2D(6, 5, padding=2, activation=act()))
    if bn:
        net.add(BatchNorm(6, 4), nn.Activation("sigmoid"))
    net.add(nn.AvgPool2D(2, 2), nn.Conv2D(16, 5, activation=act()))
    if bn:
        net.add(BatchNorm(16, 4), nn.Activation("sigmoid"))
    net.add(nn.AvgPool2D(2, 2), Flatten(), nn.Dense(120, activation=act()))
    if bn:
        net.add(BatchNorm(120, 2), nn.Activation("sigmoid"))
    net.add(nn.Dense(84, activation="sigmoid"), nn.Dense(10))
    return net, (IMAGE_BATCH, 1, 28, 28)


def alexnet():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(12, 11, strides=4, activation="relu"), nn.MaxPool2D(3, 2),
            nn.Conv2D(32, 5, padding=2, activation="relu"), nn.MaxPool2D(3, 2),
            nn.Conv2D(48, 3, padding=1, activation="relu"), nn.Conv2D(48, 3, padding=1, activation="relu"),
            nn.Conv2D(32, 3, padding=1, activation="relu"), nn.MaxPool2D(3, 2),
            nn.Dense(64, activation="relu"), nn.Dropout(0.5), nn.Dense(64, activation="relu"),
            nn.Dropout(0.5), nn.Dense(10))
    return net, (IMAGE_BATCH, 1, 96, 96)


def vgg(conv_arch=((1, 8), (1, 16), (2, 32), (2, 64), (2, 64))):
    net = nn.HybridSequential()
    for num_convs, channels in conv_arch:
        for _ in range(num_convs):
            net.add(nn.Conv2D(channels, 3, padding=1, activation="relu"))
        net.add(nn.MaxPool2D(2, 2))
    net.add(nn.Dense(64, activation="relu"), nn.Dropout(0.5), nn.Dense(64, activation="relu"),
            nn.Dropout(0.5), nn.Dense(10))
    return net, (IMAGE_BATCH, 1, 32, 32)


def nin_block(channels, kernel, strides, padding):
    blk = nn.HybridSequential()
    blk.add(nn.Conv2D(channels, kernel, strides, padding, activation="relu"),
            nn.Conv2D(channels, 1, activation="relu"), nn.Conv2D(channels, 1, activation="relu"))
    return blk


def nin():
    net = nn.HybridSequential()
    net.add(nin_block(12, 11, 4, 0), nn.MaxPool2D(3, 2), nin_block(32, 5, 1, 2), nn.MaxPool2D(3, 2),
            nin_block(48, 3, 1, 1), nn.MaxPool2D(3, 2), nn.Dropout(0.5), nin_block(10, 3, 1, 1),
            nn.GlobalAvgPool2D(), Flatten())
    return net, (IMAGE_BATCH, 1, 96, 96)


def googlenet():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(8, 7, strides=2, padding=3, activation="relu"), nn.MaxPool2D(3, 2, padding=1),
            nn.Conv2D(8, 1, activation="relu"), nn.Conv2D(24, 3, padding=1, activation="relu"),
            nn.MaxPool2D(3, 2, padding=1),
            Inception(8, (12, 16), (2, 4), 4), Inception(16, (16, 24), (4, 12), 8),
            nn.MaxPool2D(3, 2, padding=1),
            Inception(24, (12, 26), (2, 6), 8), Inception(32, (20, 40), (4, 16), 16),
            nn.MaxPool2D(3, 2, padding=1),
            Inception(48, (24, 48), (6, 16), 16), nn.GlobalAvgPool2D(), nn.Dense(10))
    return net, (IMAGE_BATCH, 1, 96, 96)


def resnet18(widths=(8, 16, 32, 64), size=64):
    """D2L's ResNet-18 (``widths=(64, 128, 256, 512), size=96`` is the book's)."""
    def stage(channels, first):
        blk = nn.HybridSequential()
        blk.add(Residual(channels, use_1x1conv=not first, strides=1 if first else 2), Residual(channels))
        return blk
    net = nn.HybridSequential()
    net.add(nn.Conv2D(widths[0], 7, strides=2, padding=3), nn.BatchNorm(), nn.Activation("relu"),
            nn.MaxPool2D(3, 2, 1), *[stage(w, i == 0) for i, w in enumerate(widths)],
            nn.GlobalAvgPool2D(), nn.Dense(10))
    return net, (IMAGE_BATCH, 1, size, size)


def densenet(growth=8, convs=(2, 2, 2, 2), stem=16, size=64):
    """D2L's DenseNet (``growth=32, convs=(4, 4, 4, 4), stem=64, size=96`` is the book's)."""
    net = nn.HybridSequential()
    net.add(nn.Conv2D(stem, 7, strides=2, padding=3), nn.BatchNorm(), nn.Activation("relu"),
            nn.MaxPool2D(3, 2, 1))
    channels = stem
    for i, num_convs in enumerate(convs):
        net.add(DenseBlock(num_convs, growth))
        channels += num_convs * growth
        if i != len(convs) - 1:
            channels //= 2
            net.add(nn.BatchNorm(), nn.Activation("relu"), nn.Conv2D(channels, 1), nn.AvgPool2D(2, 2))
    net.add(nn.BatchNorm(), nn.Activation("relu"), nn.GlobalAvgPool2D(), nn.Dense(10))
    return net, (IMAGE_BATCH, 1, 64, 64)


# -- building with test weights ---------------------------------------------------------------
_STATS = (("running_mean", -0.3, 0.3), ("moving_mean", -0.3, 0.3), ("running_var", 0.5, 1.5),
          ("moving_var", 0.5, 1.5), ("gamma", 0.6, 1.4), ("beta", -0.3, 0.3))


def randomize_statistics(net, seed=0):
    """Random BatchNorm statistics and norm scales/shifts (all start as the identity)."""
    rng = onp.random.RandomState(seed)
    for name, param in sorted(net.collect_params().items()):
        for suffix, low, high in _STATS:
            if name.endswith(suffix):
                param.set_data(mx.np.array(rng.uniform(low, high, param.shape).astype(onp.float32)))


def build(net, inputs, seed=0):
    """Initialize ``net`` (He), finish its deferred shapes on ``inputs``, randomize its statistics."""
    mx.random.seed(seed)
    net.initialize(init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2.0))  # He
    net(*[mx.np.array(x, dtype=x.dtype) for x in inputs])  # finish deferred shapes
    randomize_statistics(net, seed)
    return net, inputs


def _image(architecture):
    def make(seed=0):
        net, shape = architecture()
        x = onp.random.RandomState(seed).uniform(-1, 1, shape).astype(onp.float32)
        return build(net, [x], seed)
    return make


def _language_model(cell, vocab=28, hiddens=32, steps=5, batch=2):
    def make(seed=0):
        layer = {"rnn": rnn.RNN, "gru": rnn.GRU, "lstm": rnn.LSTM}[cell](hiddens)
        rng = onp.random.RandomState(seed)
        tokens = rng.randint(0, vocab, (batch, steps)).astype(onp.int64)
        states = [rng.uniform(-1, 1, (1, batch, hiddens)).astype(onp.float32)
                  for _ in range(2 if cell == "lstm" else 1)]
        return build(RNNModel(layer, vocab), [tokens] + states, seed)
    return make


def transformer_block(seed=0, batch=2, steps=6, hiddens=16, heads=4):
    rng = onp.random.RandomState(seed)
    X = rng.uniform(-1, 1, (batch, steps, hiddens)).astype(onp.float32)
    valid_lens = onp.array([steps, 3] + [2] * (batch - 2), onp.float32)[:batch]
    return build(EncoderBlock(hiddens, 32, heads), [X, valid_lens], seed)


def dynamic_axes(name, inputs):
    """The run-time-sized axes: batch (axis 1 of RNN states) and the language models' steps."""
    if name.endswith("_lm"):
        return {"data0": {0: "batch", 1: "seq"}, **{f"data{i}": {1: "batch"} for i in range(1, len(inputs))}}
    names = ["data"] if len(inputs) == 1 else [f"data{i}" for i in range(len(inputs))]
    return {n: {0: "batch"} for n in names}


NUMPY_NETS = {
    "lenet": _image(lenet), "lenet_bn_scratch": _image(lambda: lenet(bn=True)),
    "alexnet": _image(alexnet), "vgg": _image(vgg), "nin": _image(nin), "googlenet": _image(googlenet),
    "resnet18": _image(resnet18), "densenet": _image(densenet),
    "rnn_lm": _language_model("rnn"), "gru_lm": _language_model("gru"), "lstm_lm": _language_model("lstm"),
    "transformer_block": transformer_block,
}
