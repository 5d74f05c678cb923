"""What stops a run with one line before it wastes time or saves garbage: a recipe number that is
not finite, an input size the net cannot take, more batch than data, and a loss or weights that
stopped being finite (a diverged run keeps its last finite checkpoint)."""
import math

import mxnet as mx
import numpy as np

FINITE_FIELDS = ("lr", "wd", "momentum")


class DivergedError(ValueError):
    """The training loss or the weights are no longer finite numbers."""


def check_recipe_numbers(recipe):
    """A ValueError naming the first of lr, wd, momentum that is NaN or infinite."""
    for field in FINITE_FIELDS:
        value = getattr(recipe, field)
        if not math.isfinite(value):
            raise ValueError(f"--{field} {value} is not a finite number; give one like 0.1")


def _fits(sym, shape):
    try:
        sym.infer_shape_partial(data=shape)
    except mx.base.MXNetError:
        return False
    return True


def check_input_size(net, size, limit=1024):
    """A ValueError naming the smallest square input ``net`` takes when ``size`` is too small
    (or, for nets that take only some sizes, the next size above ``size`` that fits)."""
    channels = net.zoo_config.input_shape[0]
    sym = net(mx.sym.var("data"))
    if _fits(sym, (1, channels, size, size)):
        return
    name = net.zoo_name or "this net"
    smallest = next((s for s in range(1, limit + 1) if _fits(sym, (1, channels, s, s))), None)
    if smallest is None:
        raise ValueError(f"--resize {size} does not fit {name}, nor does any size up to {limit}: drop --resize")
    if size < smallest:
        raise ValueError(f"--resize {size} is too small for {name}: use --resize {smallest} or more")
    above = next((s for s in range(size + 1, limit + 1) if _fits(sym, (1, channels, s, s))), None)
    raise ValueError(f"--resize {size} does not fit {name}, which takes only some sizes"
                     + (f": use --resize {above}" if above else ""))


def check_batch_size(batch_size, examples, dataset, sharded=False):
    """A ValueError when one batch needs more examples than the training split (of this worker) has."""
    if batch_size > examples:
        where = " on this worker" if sharded else ""
        raise ValueError(f"--batch-size {batch_size} is more than the {examples} training examples of "
                         f"{dataset}{where}; use --batch-size {examples} or less")


def _in_epoch(epoch):
    return f" in epoch {epoch}" if epoch is not None else ""


def check_loss(loss, epoch, lr):
    """A :class:`DivergedError` when a batch's summed loss is NaN or infinite."""
    if not math.isfinite(loss):
        raise DivergedError(f"training diverged{_in_epoch(epoch)} (loss {loss}); lower --lr (now {lr:g}) "
                            "or --momentum")


def check_weights(net, epoch, lr):
    """A :class:`DivergedError` when any parameter holds a NaN or infinity."""
    for name, param in net.collect_params().items():
        if not np.isfinite(param.data().asnumpy()).all():
            raise DivergedError(f"training diverged{_in_epoch(epoch)} ({name} is no longer finite); lower "
                                f"--lr (now {lr:g}) or --momentum")
