"""``load_checkpoint``: your own MXNet checkpoint (files, a Symbol, or a Gluon net with its weights)
as one :class:`~.model.Checkpoint`: symbol, params, input specs, what deployment needs.
:func:`export.export_checkpoint` (``export/artifacts/checkpoint.py``) exports it.
"""
import inspect
import os
import re

from ..errors import InvalidInputError, InvalidTypeError
from ..blocks import block_params, block_symbol, prepare_block
from ..model_files import read_source
from ..source import Source
from .graph import describe_inputs, manifest_shapes
from .model import Checkpoint, CheckpointConfig
from .specs import as_specs

PREPROCESS_KEYS = ("mean", "std", "scale", "resize", "layout")


def load_checkpoint(source, params=None, inputs=None, name=None, epoch=None, preprocess=None, labels=None,
                    task=None):
    """The :class:`Checkpoint` ``export.export_checkpoint`` exports (arguments as there)."""
    given = as_specs(inputs)
    if _is_block(source):
        src, block = _trace(source, given, name), source
    else:
        src, block = _resolve(source, params, epoch), None
    recorded = manifest_shapes(src.manifest)
    specs = describe_inputs(src.symbol, src.params, given, recorded)
    name = name or src.name
    if not name:
        raise InvalidInputError("name is required for a Gluon net or a Symbol, e.g. name='ssd_finetuned'")
    found = dict((src.manifest or {}).get("preprocess") or {})
    found.update({k: v for k, v in (preprocess or {}).items() if v is not None})
    labels = labels if labels is not None else (src.manifest or {}).get("labels")
    config = CheckpointConfig(tuple(specs), input_shape=tuple(specs[0].shape[1:]),
                              labels=tuple(labels) if labels else None, classes=len(labels) if labels else None,
                              task=task or "classification",
                              **{k: _value(k, v) for k, v in found.items() if k in PREPROCESS_KEYS and v is not None})
    weights = {"trained": None, "source": src.files.get("params"), "seed": None}
    return Checkpoint(name, src.symbol, src.params, config, block=block, files=src.files, weights=weights)


def _is_block(source):
    return hasattr(source, "hybridize") and hasattr(source, "collect_params")


def _resolve(source, params, epoch):
    """A prefix, a symbol file or Symbol (+ params) -> :class:`export.source.Source` (files: named
    by their basename)."""
    if isinstance(source, tuple) or hasattr(source, "list_inputs"):  # (Symbol, params) or a Symbol
        return Source(*read_source(source if isinstance(source, tuple) else (source, params))[:2])
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidTypeError(f"source must be a checkpoint prefix, a -symbol.json file, a Symbol or a Gluon "
                               f"HybridBlock, not {type(source).__name__}")
    path = os.fspath(source)
    sym, params, files, manifest = read_source(path if params is None else (path, os.fspath(params)), epoch)
    return Source(sym, params, re.sub(r"(-symbol)?\.json$", "", os.path.basename(path)), files=files, manifest=manifest)


def _trace(net, given, name):
    """A Gluon net's symbol with its inputs named as ``given`` (default: its forward arguments)."""
    names = list(given) or _forward_arguments(net)
    missing = [n for n in names if n not in given]
    if missing:
        raise InvalidInputError(f"a Gluon net's inputs need shapes: give them in forward order, e.g. --input "
                                f"{missing[0]}:1x3x224x224 (inputs: {', '.join(names)})")
    specs = [given[n] for n in names]
    if prepare_block(net, [s.shape for s in specs], input_dtypes=[s.dtype for s in specs]):
        raise InvalidInputError(f"{name or type(net).__name__}: the net has parameters without weights; load its "
                                "fine-tuned ones first, e.g. net.load_parameters('tuned.params')")
    sym = block_symbol(net, len(specs), names)
    return Source(sym, block_params(net, sym), name)


def _forward_arguments(net):
    """The names of ``hybrid_forward``'s data arguments (after ``F``; parameters excluded)."""
    signature = inspect.signature(net.hybrid_forward)
    own = set(net._reg_params) if hasattr(net, "_reg_params") else set()
    return [p.name for p in list(signature.parameters.values())[1:]
            if p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in own]


def _value(key, value):
    return tuple(float(v) for v in value) if key in ("mean", "std") else value
