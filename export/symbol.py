"""``export_symbol``: a HybridBlock -> ``prefix-symbol.json`` + ``prefix-NNNN.params`` + manifest."""
import json
import os
import tempfile

import mxnet as mx

from .files import manifest as manifests
from . import blocks
from .block_inputs import block_defaults, gluon_input_names
from .errors import InvalidInputError


def export_symbol(net, prefix, input_shape=None, epoch=0, seed=0, ctx=None,
                  manifest=manifests.MANIFEST_NAME):
    """Write the symbol and params of ``net``; return ``{"symbol", "params", "manifest"}`` paths.

    ``net`` is initialized (under ``seed``) if it is not, hybridized and run once on zeros of
    ``input_shape`` (batch included; several inputs: a list; zoo models default to their
    config's inputs at batch 1, in the config's dtypes).
    The files are written by ``HybridBlock.export`` into a temporary folder beside ``prefix``
    and then renamed, so they reload with ``SymbolBlock.imports`` and no half file is left.
    ``manifest`` (a file name in the prefix's folder, merged into an existing one of the same
    model; ``None`` to skip) records shapes, preprocessing and sha256s.
    """
    shapes, dtypes, _ = block_defaults(net, input_shape or None, dynamic_batch=False)
    if shapes is None:
        raise InvalidInputError("input_shape is required for a net without a zoo_config, e.g. "
                         "input_shape=(1, 3, 224, 224) (batch axis included)")
    shapes, dtypes = list(shapes.values()), list(dtypes.values())
    with blocks.block_mode(net):  # a numpy-interface net is traced in numpy mode
        return _export(net, prefix, shapes, dtypes, epoch, seed, ctx, manifest)


def _export(net, prefix, shapes, dtypes, epoch, seed, ctx, manifest):
    """export_symbol's work, in the block's array mode."""
    initialized = blocks.prepare_block(net, shapes, dtypes, seed=seed, ctx=ctx)
    prefix = os.fspath(prefix)
    directory, base = os.path.split(os.path.abspath(prefix))
    os.makedirs(directory, exist_ok=True)
    names = [f"{base}-symbol.json", f"{base}-{int(epoch):04d}.params"]
    with tempfile.TemporaryDirectory(prefix=f".{base}.", dir=directory) as tmp:
        net.export(os.path.join(tmp, base), epoch=epoch)
        _normalize_versions(os.path.join(tmp, names[0]))
        for name in names:
            os.replace(os.path.join(tmp, name), os.path.join(directory, name))
    paths = {"symbol": os.path.join(directory, names[0]), "params": os.path.join(directory, names[1])}
    if manifest:
        paths["manifest"] = os.path.join(directory, manifest)
        info = symbol_manifest(net, shapes, dtypes, directory, names, initialized, seed)
        manifests.write(paths["manifest"], info, merge_existing=True)
    return paths


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
    return manifests.build(
        model=getattr(net, "zoo_name", None), inputs=inputs, outputs=outputs,
        config=getattr(net, "zoo_config", None),
        weights=manifests.weights_info(net, initialized_here=initialized, seed=seed),
        files=manifests.file_entries(directory, names), versions_=manifests.versions(net))
