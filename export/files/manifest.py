"""The artifact manifest (``hybridzoo-manifest/1``): what a deployed file needs to be used right.

One JSON per artifact folder: inputs/outputs (name, shape with ``null`` for a dynamic batch,
dtype, layout), preprocessing, classes/labels/dataset, where the weights came from, the sha256
and size of every file, and the versions that produced them. When lower-precision copies of
``model.onnx`` were exported, ``variants`` maps ``int8`` / ``fp16`` to their file, sha256, the
sha256 of the FP32 file they were made from, and how (INT8: ``method`` static or dynamic and
why; static: calibration source, method, samples; dynamic: the op types quantized and those
left in FP32; nodes kept in FP32); ``model.onnx`` itself is FP32. Zoo facts are read by duck typing
(``net.zoo_name``, ``net.zoo_config``, ``net.zoo_manifest``); ``export`` never imports hybridzoo.
"""
import json
import os
import re
import sys

import numpy as np

from .io import atomic_write_text, sha256_file
from .versions import library_versions
from ..errors import InvalidInputError

FORMAT = "hybridzoo-manifest/1"
MANIFEST_NAME = "manifest.json"


def io_entry(name, shape, dtype, dynamic_batch=False):
    """One input/output entry; the batch axis is ``null`` when it is dynamic."""
    dims = [None if dynamic_batch and i == 0 else int(d) for i, d in enumerate(shape)]
    return {"name": name, "shape": dims, "dtype": np.dtype(dtype).name,
            "layout": "NCHW" if len(dims) == 4 else None}


def onnx_io(path):
    """``(inputs, outputs)`` entries read from an ONNX file (symbolic dims become ``null``)."""
    import onnx
    model = onnx.load(path, load_external_data=False)

    def entries(values):
        out = []
        for v in values:
            t = v.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
            dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name
            out.append({"name": v.name, "shape": dims, "dtype": dtype,
                        "layout": "NCHW" if len(dims) == 4 else None})
        return out
    return entries(model.graph.input), entries(model.graph.output)


def preprocess(config):
    """The ``preprocess`` block from a zoo config (None for non-image inputs or no config);
    ``input_shape`` is ``(C, H, W)``, or ``(H, W, C)`` when the config's ``layout`` is NHWC."""
    shape = tuple(getattr(config, "input_shape", ()) or ())
    if len(shape) != 3:
        return None
    layout = getattr(config, "layout", "NCHW")
    channels, height, width = (shape[2], shape[0], shape[1]) if layout == "NHWC" else shape
    mean, std = getattr(config, "mean", None), getattr(config, "std", None)
    return {"channels": channels, "color": "L" if channels == 1 else "RGB",
            "input_size": [height, width], "resize": getattr(config, "resize", None),
            "scale": getattr(config, "scale", 1 / 255), "mean": list(mean) if mean is not None else None,
            "std": list(std) if std is not None else None, "layout": layout}


def weights_info(net=None, initialized_here=False, seed=None, source=None):
    """``{"trained", "source", "seed"}``: trained when loaded via the zoo's checkpoint loader."""
    zoo = getattr(net, "zoo_manifest", None)
    if zoo is not None:
        return {"trained": True, "source": source or zoo.get("params"), "seed": zoo.get("seed")}
    return {"trained": False if initialized_here else None, "source": source,
            "seed": seed if initialized_here else None}


def versions(net=None, opset=None):
    """Library versions, the opset, and hybridzoo's version when the net comes from it."""
    found = {}
    package = type(net).__module__.split(".")[0] if net is not None else None
    if getattr(net, "zoo_config", None) is not None and package in sys.modules:
        version = getattr(sys.modules[package], "__version__", None)
        if version:
            found[package] = version
    found.update(library_versions())
    found["opset"] = opset
    return found


def file_entries(directory, names):
    """``{file name: {"sha256", "bytes"}}`` for files in ``directory``."""
    return {name: {"sha256": sha256_file(os.path.join(directory, name)),
                   "bytes": os.path.getsize(os.path.join(directory, name))}
            for name in sorted(names)}


def describe(net, initialized_here=False, seed=None, opset=None):
    """What a manifest says of ``net`` itself (duck-typed): ``{"model", "config", "weights",
    "versions_"}``, keyword arguments of :func:`build`."""
    return {"model": getattr(net, "zoo_name", None), "config": getattr(net, "zoo_config", None),
            "weights": weights_info(net, initialized_here=initialized_here, seed=seed),
            "versions_": versions(net, opset)}


def build(model=None, inputs=(), outputs=(), config=None, weights=None, files=None,
          versions_=None, variants=None):
    """A complete manifest dict in the documented key order (``variants`` only when there are some)."""
    labels = getattr(config, "labels", None)
    manifest = {
        "format": FORMAT, "model": model, "inputs": list(inputs), "outputs": list(outputs),
        "preprocess": preprocess(config), "classes": getattr(config, "classes", None),
        "labels": list(labels) if labels is not None else None,
        "dataset": getattr(config, "dataset", None),
        "weights": weights or {"trained": None, "source": None, "seed": None},
        "files": dict(files or {}), "versions": dict(versions_ or {}),
    }
    if variants:
        manifest["variants"] = dict(variants)
    return manifest


def merge(base, update):
    """``update`` over ``base``: files and versions are unioned, other keys replaced when the
    update has a value. A manifest of another model is replaced, not merged."""
    if not base or base.get("model") != update.get("model"):
        return dict(update)
    merged = dict(base)
    for key, value in update.items():
        if key in ("files", "versions"):
            merged[key] = {**base.get(key, {}), **(value or {})}
        elif value not in (None, [], {}):
            merged[key] = value
    return merged


def read(path):
    """The manifest at ``path``: a JSON object of this format whose file names stay in its folder."""
    with open(path, encoding="utf-8") as f:
        try:
            manifest = json.load(f)
        except json.JSONDecodeError as err:
            raise InvalidInputError(f"manifest {path} is not valid JSON ({err}); re-export it") from None
    if not isinstance(manifest, dict):
        raise InvalidInputError(f"manifest {path} holds a JSON {type(manifest).__name__}, not an object; re-export it")
    if manifest.get("format") != FORMAT:
        raise InvalidInputError(f"{path} is not a {FORMAT} manifest (format={manifest.get('format')!r})")
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    for name in named_files(manifest, path):
        resolved = os.path.realpath(os.path.join(folder, name)) if isinstance(name, str) and name else None
        if resolved is None or os.path.commonpath([folder, resolved]) != folder:
            raise InvalidInputError(f"{path} names the file {name!r}, which is not inside its folder; a manifest "
                                    "only names files beside it: re-export")
    return manifest


def named_files(manifest, path):
    """The file names ``manifest`` lists: its ``files`` and its variants' ``file``."""
    files, variants = manifest.get("files") or {}, manifest.get("variants") or {}
    if not isinstance(files, dict) or not isinstance(variants, dict) or not all(
            isinstance(v, dict) for v in variants.values()):
        raise InvalidInputError(f"{path}: \"files\" and \"variants\" must be JSON objects; re-export it")
    return list(files) + [variant.get("file") for variant in variants.values()]


def entry_for(manifest, name):
    """The ``{"sha256", ...}`` entry ``manifest`` keeps for file ``name`` (files or variants), or None."""
    entry = (manifest.get("files") or {}).get(name)
    variants = [v for v in (manifest.get("variants") or {}).values() if v.get("file") == name]
    return entry if entry is not None else (variants[0] if variants else None)
def for_symbol_file(symbol_file):
    """The manifest describing ``symbol_file``: ``<prefix>-manifest.json`` (export_symbol's), else
    the folder's ``manifest.json`` (an artifact folder's) if it lists that file; else None."""
    folder, name = os.path.split(os.path.abspath(symbol_file))
    own = re.sub(r"-symbol\.json$", "", name) + "-" + MANIFEST_NAME
    for candidate in (own, MANIFEST_NAME):
        try:
            found = read(os.path.join(folder, candidate))
        except (OSError, ValueError):
            continue
        if name in (found.get("files") or {}):
            return found
    return None


def owned_files(folder):
    """``{file name: sha256}`` of the files the manifest in ``folder`` says we wrote there, the
    manifest itself included (``None``: ours whatever its content); ``{}`` without one of ours.
    Names only ever match entries inside ``folder`` (:func:`export.files.staging.staged_dir`)."""
    try:
        manifest = read(os.path.join(folder, MANIFEST_NAME))
    except (OSError, ValueError):
        return {}
    files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    owned = {name: entry["sha256"] for name, entry in files.items()
             if isinstance(entry, dict) and isinstance(entry.get("sha256"), str)}
    owned[MANIFEST_NAME] = None
    return owned


def write(path, manifest, merge_existing=False):
    """Write atomically (stable key order, so identical inputs give identical bytes)."""
    if merge_existing and os.path.isfile(path):
        manifest = merge(read(path), manifest)
    atomic_write_text(path, json.dumps(manifest, indent=2) + "\n")
    return manifest
