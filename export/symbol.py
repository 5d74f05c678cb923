"""``export_symbol``: a HybridBlock -> ``prefix-symbol.json`` + ``prefix-NNNN.params`` + manifest."""
import json
import os

import mxnet as mx

from .files import manifest as manifests
from .files.owner import work_dir
from . import blocks
from ._errors import mxnet_reason
from .block_inputs import block_defaults, gluon_input_names
from .errors import InvalidInputError, WriteError
from .finite import check_block_params


def export_symbol(net, prefix, input_shape=None, epoch=0, seed=0, ctx=None, manifest=True):
    """Write the symbol and params of ``net``; return ``{"symbol", "params", "manifest"}`` paths.

    ``net`` is initialized (under ``seed``) if it is not, hybridized and run once on zeros of
    ``input_shape`` (batch included; several inputs: a list; zoo models default to their
    config's inputs at batch 1, in the config's dtypes).
    The files are written by ``HybridBlock.export`` into a temporary folder beside ``prefix``
    and then renamed, so they reload with ``SymbolBlock.imports`` and no half file is left.
    ``manifest`` records shapes, preprocessing and sha256s in ``<prefix>-manifest.json`` (its
    own per prefix, so two models in one folder keep theirs), or in the file name given (merged
    into an existing one of the same model); ``None`` to skip. Weights holding NaN or Inf are
    refused (:class:`export.errors.NonFiniteError`).
    """
    shapes, dtypes, _ = block_defaults(net, input_shape or None, dynamic_batch=False)
    if shapes is None:
        raise InvalidInputError("input_shape is required for a net without a zoo_config, e.g. "
                         "input_shape=(1, 3, 224, 224) (batch axis included)")
    shapes, dtypes = list(shapes.values()), list(dtypes.values())
    prefix = os.fspath(prefix)
    directory, base = os.path.split(os.path.abspath(prefix))
    names = [f"{base}-symbol.json", f"{base}-{int(epoch):04d}.params"]
    with blocks.block_mode(net):  # a numpy-interface net is traced in numpy mode
        initialized = blocks.prepare_block(net, shapes, dtypes, seed=seed, ctx=ctx)
        check_block_params(net, "retrain or pass other params")
        with work_dir(directory, f".{base}.") as tmp:
            try:
                net.export(os.path.join(tmp, base), epoch=epoch)
            except mx.base.MXNetError as err:  # a full disk, a folder made read-only meanwhile
                raise WriteError(f"cannot write the symbol files of {prefix}: {mxnet_reason(err)}; free some "
                                 "space or choose another folder") from None
            _normalize_versions(os.path.join(tmp, names[0]))
            for name in names:
                os.replace(os.path.join(tmp, name), os.path.join(directory, name))
    paths = {"symbol": os.path.join(directory, names[0]), "params": os.path.join(directory, names[1])}
    if manifest:
        paths["manifest"] = os.path.join(directory, manifest_name(base) if manifest is True else manifest)
        info = symbol_manifest(net, shapes, dtypes, directory, names, initialized, seed)
        manifests.write(paths["manifest"], info, merge_existing=True)
    return paths


def manifest_name(base):
    """The manifest :func:`export_symbol` writes for prefix ``<folder>/<base>``."""
    return f"{base}-{manifests.MANIFEST_NAME}"


def _normalize_versions(path):
    """Zero the per-input version counters MXNet bumps on every re-hybridization (mutable aux
    states), so exporting the same net twice gives byte-identical files; loading ignores them."""
    with open(path, encoding="utf-8") as f:
        graph = json.load(f)
    for node in graph["nodes"]:
        node["inputs"] = [[i[0], i[1], 0] for i in node["inputs"]]
    graph["heads"] = [[h[0], h[1], 0] for h in graph["heads"]]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(graph, f, indent=2)


def symbol_manifest(net, shapes, dtypes, directory, names, initialized, seed):
    """The manifest of freshly written symbol files (outputs inferred from the symbol)."""
    sym = mx.sym.load(os.path.join(directory, names[0]))
    in_names = gluon_input_names(len(shapes))
    _, out_shapes, _ = sym.infer_shape(**dict(zip(in_names, shapes)))
    _, out_types, _ = sym.infer_type(**dict(zip(in_names, dtypes)))
    inputs = [manifests.io_entry(n, s, t) for n, s, t in zip(in_names, shapes, dtypes)]
    outputs = [manifests.io_entry(n, s, t) for n, s, t in zip(sym.list_outputs(), out_shapes, out_types)]
    return manifests.build(inputs=inputs, outputs=outputs, files=manifests.file_entries(directory, names),
                           **manifests.describe(net, initialized_here=initialized, seed=seed))
