"""Reading a model's files: ``prefix-symbol.json`` + ``prefix-NNNN.params`` (or a symbol and
params given separately), with one clear error for a missing, truncated or foreign file."""
import glob
import os
import re

import mxnet as mx
import numpy as np

from . import _params_file
from ._errors import mxnet_reason
from .errors import InvalidInputError, InvalidTypeError, MissingFileError
from .files import manifest as manifests


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


def _manifest_for(symbol_file):
    """The manifest.json beside ``symbol_file`` if it lists that file, else None."""
    path = os.path.join(os.path.dirname(os.path.abspath(symbol_file)), manifests.MANIFEST_NAME)
    try:
        found = manifests.read(path)
    except (OSError, ValueError):
        return None
    return found if os.path.basename(symbol_file) in found.get("files", {}) else None


def read_source(source, epoch=None):
    """``(symbol, params, files, manifest)`` from a prefix, a ``(Symbol or path, params or
    path)`` pair or ``mx.model.load_checkpoint``'s triple (``files``: role -> path read;
    ``manifest``: the one beside a prefix, when it describes it)."""
    if isinstance(source, (str, os.PathLike)):
        prefix = re.sub(r"-symbol\.json$", "", os.fspath(source))
        sym_file, par_file = f"{prefix}-symbol.json", params_path(prefix, epoch)
        return (load_symbol(sym_file), load_params(par_file), {"symbol": sym_file, "params": par_file},
                _manifest_for(sym_file))
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
        return sym, strip_prefixes(params), files, None
    raise InvalidTypeError("source must be a HybridBlock, a symbol prefix/path, a (Symbol, params) pair "
                    f"or load_checkpoint's (Symbol, arg_params, aux_params); got {type(source).__name__}")
