"""Model statistics: parameter counts and forward-pass timings, imperative vs hybridized."""
import statistics
import time

import mxnet as mx

from .registry import get_config, get_model
from .seeded import default_context, init_model


def count_parameters(net):
    """Trainable scalars (BatchNorm running statistics excluded); shapes must be known."""
    return sum(int(p.data().size) for p in net.collect_params().values() if p.grad_req != "null")


def time_forward(nets, x, repeats=5):
    """Median seconds of ``net(x)`` (``x``: an input or a list of inputs) for each net in the
    dict ``nets``, after one warm-up run.

    The nets take turns, so a busy machine slows all of them alike instead of whichever
    happened to run during the busy spell.
    """
    inputs = x if isinstance(x, (list, tuple)) else [x]
    times = {key: [] for key in nets}
    for run in range(repeats + 1):
        for key, net in nets.items():
            start = time.perf_counter()
            outputs = net(*inputs)
            for output in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
                output.wait_to_read()
            if run:
                times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def model_stats(name, batch, repeats=5, ctx=None, **kwargs):
    """``{"params", "imperative", "hybridized"}`` for ``get_model(name, **kwargs)`` on a random batch."""
    ctx = ctx or default_context()
    imperative = init_model(get_model(name, **kwargs), ctx=ctx)
    # A second instance sharing the same Parameters (found by their stable names), hybridized.
    hybridized = get_model(name, params=imperative.collect_params(), **kwargs)
    hybridized.hybridize()
    config = imperative.zoo_config
    if config.inputs:  # token ids, valid lengths, states...: as the config describes them
        x = [mx.nd.array(a, ctx=ctx, dtype=a.dtype) for a in config.sample_inputs(batch)]
    else:
        x = mx.nd.random.uniform(shape=(batch,) + config.input_shape, ctx=ctx)
    stats = time_forward({"imperative": imperative, "hybridized": hybridized}, x, repeats)
    stats["params"] = count_parameters(imperative)
    return stats


def default_batch(name):
    """256 for the 28x28 (and tabular) D2L models, 32 for the larger inputs and sequence models."""
    config = get_config(name)
    shape = config.input_shape
    if config.inputs and not config.is_image:
        return 32
    return 256 if len(shape) == 1 or shape[-1] <= 28 else 32
