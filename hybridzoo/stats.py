"""Model statistics: parameter counts and forward-pass timings, imperative vs hybridized."""
import statistics
import time

import mxnet as mx

from .registry import get_config, get_model
from .testing import default_context, init_model


def count_parameters(net):
    """Trainable scalars (BatchNorm running statistics excluded); shapes must be known."""
    return sum(int(p.data().size) for p in net.collect_params().values() if p.grad_req != "null")


def time_forward(net, x, repeats=5):
    """Median seconds of ``net(x)`` over ``repeats`` runs after one warm-up run."""
    net(x).wait_to_read()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        net(x).wait_to_read()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def model_stats(name, batch, repeats=5, ctx=None, **kwargs):
    """``{"params", "imperative", "hybridized"}`` for ``get_model(name, **kwargs)`` on a random batch."""
    ctx = ctx or default_context()
    net = init_model(get_model(name, **kwargs), ctx=ctx)
    x = mx.nd.random.uniform(shape=(batch,) + net.zoo_config.input_shape, ctx=ctx)
    stats = {"params": count_parameters(net), "imperative": time_forward(net, x, repeats)}
    net.hybridize()
    stats["hybridized"] = time_forward(net, x, repeats)
    return stats


def default_batch(name):
    """256 for the 28x28 (and tabular) D2L models, 32 for the larger inputs."""
    shape = get_config(name).input_shape
    return 256 if len(shape) == 1 or shape[-1] <= 28 else 32
