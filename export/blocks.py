"""A HybridBlock made ready for export and traced: parameters initialized (seeded) when they are
not, hybridized and warmed up on zeros of its input shapes, then its symbol and params read once.
A block written against MXNet's numpy interface (``F.np``/``F.npx``) is traced in numpy mode
on numpy symbols; its symbol comes back as a legacy ``Symbol`` like any other."""
import contextlib
import json

import mxnet as mx
import numpy as np

from ._errors import check_input_size, checked_shape, mxnet_reason
from .memory import check_fits_memory
from .block_inputs import gluon_input_names
from .errors import InvalidInputError, UnsupportedOperatorError


def is_numpy_block(net):
    """True for a block written against MXNet's numpy interface (``F.np``/``F.npx``): built or
    called under ``npx.set_np()``, a ``@mx.util.use_np`` class, or with numpy-array params."""
    if mx.util.is_np_array():
        return True
    call = type(net).__call__
    while call is not None:  # use_np wraps every method of a class in _with_np_array
        if getattr(getattr(call, "__code__", None), "co_name", "") == "_with_np_array":
            return True
        call = getattr(call, "__wrapped__", None)
    for param in net.collect_params().values():
        data = getattr(param, "_data", None)
        if data:
            return isinstance(data[0], mx.np.ndarray)
    return False


@contextlib.contextmanager
def block_mode(net):
    """Numpy shape and array semantics while tracing a numpy-interface block; else unchanged."""
    if not is_numpy_block(net):
        yield False
        return
    with mx.util.np_shape(True), mx.util.np_array(True):
        yield True


def check_hybridizable(net):
    """A Gluon 2.0-style block (``forward`` calling ``np.*`` on arrays, no ``hybrid_forward``)
    has no symbol in MXNet 1.9.1: its deferred-compute tracing arrived with MXNet 2.0."""
    cls = type(net)
    if cls.forward is not mx.gluon.HybridBlock.forward and \
            cls.hybrid_forward is mx.gluon.HybridBlock.hybrid_forward:
        raise UnsupportedOperatorError(
            f"{cls.__name__} defines forward() (Gluon 2.0 style), which MXNet {mx.__version__} "
            "cannot trace into a symbol (deferred compute came with MXNet 2.0); write it as "
            "hybrid_forward(self, F, x) with F.np / F.npx in place of np / npx")


def _zeros(shape, ctx, dtype):
    make = mx.np.zeros if mx.util.is_np_array() else mx.nd.zeros
    return make(shape, ctx=ctx, dtype=dtype)


def _uninitialized(net):
    missing = []
    for param in net.collect_params().values():
        try:
            param.list_ctx()
        except RuntimeError:
            if not getattr(param, "_deferred_init", None):
                missing.append(param)
    return missing


def _net_context(net, missing):
    """The context the net's parameters live on (warm-up data must go there too), or None."""
    for param in net.collect_params().values():
        if param not in missing:
            return param.list_ctx()[0]
    return None


def _deferred(net):
    for param in net.collect_params().values():
        try:
            param.data()
        except mx.gluon.parameter.DeferredInitializationError:
            return True
    return False


# A parameter without an initializer of its own gets the net's default (Xavier) as its
# ``__init__``, which MXNet applies as a weight init whatever the name: vectors such as a
# BatchNorm gamma built without one (GluonCV's SSD expansion layers) would fail.
_BY_SUFFIX = ((("gamma", "running_var", "moving_var"), mx.init.One),
              (("beta", "bias", "running_mean", "moving_mean"), mx.init.Zero))


def _fallback_init(param, default):
    """The initializer for a parameter with none of its own: by name for norm statistics,
    scales and biases, Gluon's uniform default for other vectors, else ``default``."""
    if param.init is not None:
        return None
    for suffixes, make in _BY_SUFFIX:
        if param.name.endswith(suffixes):
            return make()
    return mx.init.Uniform() if len(param.shape) < 2 else default


def prepare_block(net, input_shapes, input_dtypes, seed=0, ctx=None, hybridize=True):
    """Initialize what is not (under ``seed``), hybridize and run one warm-up forward on zeros
    of ``input_shapes`` / ``input_dtypes`` (one per input, see
    :func:`export.block_inputs.block_defaults`; ``hybridize=False``: only run the forward when
    shapes are still deferred, enough to build the symbol). Returns ``True`` when we initialized
    parameters (the weights are then random).
    """
    input_shapes = [checked_shape("input_shape", n, s) for n, s in zip(input_names(len(input_shapes)), input_shapes)]
    missing = _uninitialized(net)
    ctx = ctx or _net_context(net, missing) or mx.cpu()
    if missing:
        mx.random.seed(seed)
        np.random.seed(seed)
        init = getattr(net, "default_init", None) or mx.init.Xavier()
        for param in missing:
            param.initialize(init=_fallback_init(param, init), default_init=init, ctx=ctx)
    if hybridize:
        net.hybridize()
    if hybridize or _deferred(net):
        # Before the forward allocates its activations: refuse (one line) what will not fit.
        check_fits_memory(block_symbol(net, len(input_shapes)), dict(zip(input_names(len(input_shapes)), input_shapes)))
        try:
            net(*[_zeros(shape, ctx, dtype) for shape, dtype in zip(input_shapes, input_dtypes)])
        except mx.base.MXNetError as err:
            if len(input_shapes) == 1:
                check_block_input(net, input_shapes[0])  # names the smallest size that fits
            raise InvalidInputError(f"input shapes {input_shapes} do not fit the net: {mxnet_reason(err)}") from None
    return bool(missing)


input_names = gluon_input_names  # the name callers use


def block_symbol(net, count, names=None):
    """The block's symbol, built as ``HybridBlock.export`` builds it (a legacy ``Symbol``;
    a numpy-interface block is traced on numpy symbols in numpy mode); ``names``: its inputs'
    names instead of Gluon's."""
    check_hybridizable(net)
    with block_mode(net) as numpy:
        inputs = [mx.sym.var(n) for n in names or input_names(count)]
        outputs = net(*[x.as_np_ndarray() for x in inputs] if numpy else inputs)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    outputs = [o.as_nd_ndarray() if numpy else o for o in _flatten(outputs)]
    return outputs[0] if len(outputs) == 1 else mx.sym.Group(outputs)


def traced_symbol(net, count):
    """The symbol Gluon traced when the hybridized block last ran (what ``HybridBlock.export``
    writes), so a block exported to both formats is traced once; None when it has not run
    hybridized with ``count`` inputs. (``_cached_graph`` is MXNet's own; 1.9.1 is its final release.)"""
    cached = getattr(net, "_cached_graph", ())
    if not cached or len(cached[0]) != count:
        return None
    return cached[1].as_nd_ndarray() if isinstance(cached[1], mx.sym.np._Symbol) else cached[1]


def check_block_input(net, shape):
    """Raise ValueError when ``shape`` does not fit the block's architecture (too small: naming
    the smallest size), ignoring the shapes its params were declared with (those follow the
    input size the net was built for) or the machine's memory (:func:`.memory.check_fits_memory`).
    Call it before the weights are allocated. For nets of one input."""
    graph = json.loads(block_symbol(net, 1).tojson())
    for node in graph["nodes"]:
        if node["op"] == "null" and node.get("attrs"):
            node["attrs"].pop("__shape__", None)
    sym = mx.sym.load_json(json.dumps(graph))
    reason = check_input_size(sym, input_names(1)[0], shape)
    if reason:
        raise InvalidInputError(f"input shape {tuple(shape)} does not fit the net: {reason}")
    check_fits_memory(sym, {input_names(1)[0]: tuple(shape)})


def _flatten(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        else:
            yield item


def block_params(net, sym):
    names = set(sym.list_inputs())
    return {p.name: p.data().asnumpy() for p in net.collect_params().values() if p.name in names}


def trace(net, input_shapes, input_dtypes, seed=0):
    """``(symbol, params)`` of ``net`` with ``len(input_shapes)`` inputs: prepared as
    :func:`prepare_block` (not hybridized), then the graph Gluon traced when it last ran
    hybridized (what ``HybridBlock.export`` writes) or a fresh trace."""
    with block_mode(net):
        prepare_block(net, input_shapes, input_dtypes, seed=seed, hybridize=False)
    sym = traced_symbol(net, len(input_shapes))
    if sym is None:
        sym = block_symbol(net, len(input_shapes))
    return sym, block_params(net, sym)
