"""Turn what the user hands us (a HybridBlock, a symbol prefix on disk, or a ``(Symbol, params)``
pair) into one ``Source``: the symbol, its params as numpy arrays, and what is known about it.

Zoo models are recognised by duck typing (``net.zoo_name``/``net.zoo_config``), never by import.
"""
import glob
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import mxnet as mx
import numpy as np
from mxnet.gluon import HybridBlock

from . import _params_file
from .block_inputs import gluon_input_names, zoo_input_dtypes
from ._errors import check_input_size, mxnet_reason
from .errors import InvalidInputError, InvalidTypeError, MissingFileError


@dataclass
class Source:
    symbol: Any
    params: Dict[str, np.ndarray]
    name: Optional[str] = None
    config: Any = None                       # a zoo ModelConfig (duck-typed) or None
    files: Dict[str, str] = field(default_factory=dict)  # role -> path it was read from
    manifest: Optional[dict] = None          # the manifest beside a prefix, when it describes it


# -- params ----------------------------------------------------------------------------------
def strip_prefixes(params):
    """``{"arg:w": a, "aux:m": b}`` or ``[arg_params, aux_params]`` -> ``{"w": a, "m": b}`` (numpy)."""
    if isinstance(params, (list, tuple)):
        if len(params) != 2:
            raise InvalidInputError("params given as a list must be [arg_params, aux_params]")
        merged = dict(params[0])
        merged.update(params[1])
        params = merged
    if not isinstance(params, dict):
        raise InvalidTypeError(f"params must be a dict, a [arg, aux] list or a .params path, not "
                        f"{type(params).__name__}")
    out = {}
    for key, value in params.items():
        name = key.split(":", 1)[1] if key.startswith(("arg:", "aux:")) else key
        out[name] = value.asnumpy() if isinstance(value, mx.nd.NDArray) else np.asarray(value)
    return out


def load_params(path):
    """Read a ``.params`` file; a truncated or foreign file gives one clear error."""
    if not os.path.isfile(path):
        raise MissingFileError(f"params file {path!r} does not exist")
    mapped = _params_file.read(path)  # no copy; None for layouts only MXNet reads
    if mapped is not None:
        return strip_prefixes(mapped)
    try:
        loaded = mx.nd.load(path)
    except mx.base.MXNetError as err:
        cut = _params_file.truncation(path)
        if cut:
            raise InvalidInputError(f"cannot read params file {path!r}: it is {cut}; copy or save it again") from None
        raise InvalidInputError(f"cannot read params file {path!r} (truncated or not an MXNet .params "
                         f"file?): {mxnet_reason(err)}") from None
    if not isinstance(loaded, dict):
        raise InvalidInputError(f"params file {path!r} holds an unnamed list of arrays, not named params")
    return strip_prefixes(loaded)


def load_symbol(path):
    if not os.path.isfile(path):
        raise MissingFileError(f"symbol file {path!r} does not exist")
    try:
        return mx.sym.load(path)
    except mx.base.MXNetError as err:
        raise InvalidInputError(f"cannot read symbol file {path!r}: {mxnet_reason(err)}") from None


def params_path(prefix, epoch=None):
    """``prefix-%04d.params`` for ``epoch``; without one, the only or the highest epoch on disk."""
    if epoch is not None:
        return f"{prefix}-{int(epoch):04d}.params"
    found = sorted(glob.glob(glob.escape(prefix) + "-[0-9][0-9][0-9][0-9].params"))
    if not found:
        raise MissingFileError(f"no {prefix}-NNNN.params file next to {prefix}-symbol.json")
    return found[-1]


# -- blocks ----------------------------------------------------------------------------------
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


def prepare_block(net, input_shapes, seed=0, ctx=None, hybridize=True, input_dtypes=None):
    """Initialize what is not (under ``seed``), hybridize and run one warm-up forward on zeros
    of ``input_shapes`` / ``input_dtypes`` (default: the zoo config's dtypes, else float32;
    ``hybridize=False``: only run the forward when shapes are still deferred, enough to build
    the symbol). Returns ``True`` when we initialized parameters (the weights are then random).
    """
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
        dtypes = input_dtypes or zoo_input_dtypes(net, len(input_shapes)) or ["float32"] * len(input_shapes)
        try:
            net(*[mx.nd.zeros(shape, ctx=ctx, dtype=dtype) for shape, dtype in zip(input_shapes, dtypes)])
        except mx.base.MXNetError as err:
            if len(input_shapes) == 1:
                check_block_input(net, input_shapes[0])  # names the smallest size that fits
            raise InvalidInputError(f"input shapes {input_shapes} do not fit the net: {mxnet_reason(err)}") from None
    return bool(missing)


input_names = gluon_input_names  # noqa: E305 (the name callers use)


def block_symbol(net, count, names=None):
    """The block's symbol, built as ``HybridBlock.export`` builds it (``names``: its inputs' names
    instead of Gluon's)."""
    outputs = net(*[mx.sym.var(n) for n in names or input_names(count)])
    if isinstance(outputs, (list, tuple)):
        outputs = mx.sym.Group(list(_flatten(outputs)))
    return outputs


def traced_symbol(net, count):
    """The symbol Gluon traced when the hybridized block last ran (what ``HybridBlock.export``
    writes), so a block exported to both formats is traced once; None when it has not run
    hybridized with ``count`` inputs. (``_cached_graph`` is MXNet's own; 1.9.1 is its final release.)"""
    cached = getattr(net, "_cached_graph", ())
    if not cached or len(cached[0]) != count:
        return None
    return cached[1]


def check_block_input(net, shape):
    """Raise ValueError when ``shape`` does not fit the block's architecture (too small: naming
    the smallest size), ignoring the shapes its params were declared with (those follow the
    input size the net was built for). Nets with several inputs are not checked here."""
    if len(zoo_input_dtypes(net) or [None]) != 1:
        return
    graph = json.loads(block_symbol(net, 1).tojson())
    for node in graph["nodes"]:
        if node["op"] == "null" and node.get("attrs"):
            node["attrs"].pop("__shape__", None)
    reason = check_input_size(mx.sym.load_json(json.dumps(graph)), input_names(1)[0], shape)
    if reason:
        raise InvalidInputError(f"input shape {tuple(shape)} does not fit the net: {reason}")


def _flatten(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        else:
            yield item


def block_params(net, sym):
    names = set(sym.list_inputs())
    return {p.name: p.data().asnumpy() for p in net.collect_params().values() if p.name in names}


def _manifest_for(symbol_file):
    """The manifest.json beside ``symbol_file`` if it lists that file, else None."""
    from .files import manifest
    path = os.path.join(os.path.dirname(os.path.abspath(symbol_file)), manifest.MANIFEST_NAME)
    try:
        found = manifest.read(path)
    except (OSError, ValueError):
        return None
    return found if os.path.basename(symbol_file) in found.get("files", {}) else None


# -- entry -----------------------------------------------------------------------------------
def resolve(source, input_shapes=None, epoch=None, seed=0):
    """``source`` -> :class:`Source`. ``input_shapes`` (list, batch included) is needed for
    blocks only, to initialize and warm them up."""
    if isinstance(source, HybridBlock):
        if not input_shapes:
            raise InvalidInputError("input_shape is required for a HybridBlock without a zoo_config, "
                             "e.g. input_shape=(1, 3, 224, 224) (batch axis included)")
        prepare_block(source, input_shapes, seed=seed, hybridize=False)
        sym = traced_symbol(source, len(input_shapes))
        if sym is None:
            sym = block_symbol(source, len(input_shapes))
        return Source(sym, block_params(source, sym), getattr(source, "zoo_name", None),
                      getattr(source, "zoo_config", None))
    if isinstance(source, (str, os.PathLike)):
        prefix = re.sub(r"-symbol\.json$", "", os.fspath(source))
        sym_file, par_file = f"{prefix}-symbol.json", params_path(prefix, epoch)
        return Source(load_symbol(sym_file), load_params(par_file),
                      files={"symbol": sym_file, "params": par_file},
                      manifest=_manifest_for(sym_file))
    if isinstance(source, tuple) and len(source) == 3:  # mx.model.load_checkpoint's result
        source = (source[0], [source[1], source[2]])
    if isinstance(source, (tuple, list)) and len(source) == 2:
        sym, params = source
        files = {}
        if isinstance(sym, (str, os.PathLike)):
            files["symbol"] = os.fspath(sym)
            sym = load_symbol(sym)
        if isinstance(params, (str, os.PathLike)):
            files["params"] = os.fspath(params)
            params = load_params(params)
        if not isinstance(sym, mx.sym.Symbol):
            raise InvalidTypeError(f"expected an mxnet Symbol, got {type(sym).__name__}")
        return Source(sym, strip_prefixes(params), files=files)
    raise InvalidTypeError("source must be a HybridBlock, a symbol prefix/path, a (Symbol, params) pair "
                    f"or load_checkpoint's (Symbol, arg_params, aux_params); got {type(source).__name__}")
