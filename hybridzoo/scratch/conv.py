"""Convolution and pooling from scratch (D2L ch. 6), each equal to MXNet's own operator.

``corr2d`` is the cross-correlation deep-learning frameworks call convolution; several input
channels are correlated channel by channel and summed; several output channels are one such
sum per kernel, stacked with ``nd.stack``. A 1x1 convolution mixes channels only: it is a
fully connected layer applied at every pixel, computed here as one matrix product. With
kernels of shape ``(c_out, c_in, kh, kw)`` and inputs ``(c_in, h, w)`` (no batch axis), the
results equal ``nd.Convolution`` without bias, stride 1 and no padding; ``pool2d`` equals
``nd.Pooling`` (max or average, stride 1, no padding).

Written with Python loops over output positions on purpose: these are the exercises, meant
to be read; MXNet's operators are the fast path.
"""
from mxnet import nd


def corr2d(X, K):
    """2-D cross-correlation of ``X`` (h, w) with kernel ``K`` (kh, kw): (h-kh+1, w-kw+1)."""
    h, w = K.shape
    Y = nd.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1), ctx=X.context)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


def corr2d_multi_in(X, K):
    """Several input channels: correlate ``X[c]`` with ``K[c]`` and sum over ``c``."""
    return nd.add_n(*[corr2d(x, k) for x, k in zip(X, K)])


def corr2d_multi_in_out(X, K):
    """Several output channels: one :func:`corr2d_multi_in` per kernel ``K[o]``, stacked."""
    return nd.stack(*[corr2d_multi_in(X, k) for k in K])


def corr2d_multi_in_out_1x1(X, K):
    """A 1x1 convolution as a fully connected layer over channels: ``(c_out, c_in) @ (c_in,
    h * w)``, reshaped back to ``(c_out, h, w)``."""
    c_in, h, w = X.shape
    c_out = K.shape[0]
    return nd.dot(K.reshape((c_out, c_in)), X.reshape((c_in, h * w))).reshape((c_out, h, w))


def pool2d(X, pool_size, mode="max"):
    """Max or average pooling of ``X`` (h, w) over ``pool_size`` (ph, pw) windows, stride 1."""
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    p_h, p_w = pool_size
    Y = nd.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1), ctx=X.context)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = X[i:i + p_h, j:j + p_w]
            Y[i, j] = window.max() if mode == "max" else window.mean()
    return Y
