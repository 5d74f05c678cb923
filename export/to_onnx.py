"""``export_onnx``: any source (HybridBlock, symbol prefix, ``(Symbol, params)``) -> ONNX file."""
import os
import tempfile
from types import SimpleNamespace

import numpy as np
from mxnet.gluon import HybridBlock

from .files import manifest as manifests
from . import source as sources
from .block_inputs import zoo_dynamic_axes, zoo_input_dtypes, zoo_input_shape
from .onnx.api import build_model_parts, resolve_inputs, save_model
from .onnx.convert import check_opset
from .files.versions import package_version
from .errors import InvalidInputError

# optimize level: ONNX Runtime's transformer fusions (contrib ops: runs on ONNX Runtime only)
TRANSFORMER = "transformer"


def model_metadata(src, input_shapes, opset):
    """The ONNX ``metadata_props``: model name, input layout, normalisation, classes, labels."""
    config = src.config
    if config is None and src.manifest:  # a prefix exported by export_symbol: its manifest
        pre = src.manifest.get("preprocess") or {}
        config = SimpleNamespace(mean=pre.get("mean"), std=pre.get("std"), labels=src.manifest.get("labels"),
                                 classes=src.manifest.get("classes"), dataset=src.manifest.get("dataset"))
        src.name = src.name or src.manifest.get("model")
    first = next(iter(input_shapes.values()), ())
    pre = manifests.preprocess(config) if config is not None and src.config is not None else None
    if pre is None and src.manifest:
        pre = src.manifest.get("preprocess")
    meta = {"model": src.name, "input_layout": "NCHW" if len(first) == 4 else None,
            "mean": _list(getattr(config, "mean", None)), "std": _list(getattr(config, "std", None)),
            "classes": getattr(config, "classes", None), "labels": _list(getattr(config, "labels", None)),
            "dataset": getattr(config, "dataset", None), "preprocess": pre, "opset": opset,
            "version": package_version()}
    if getattr(config, "inputs", None):  # a zoo config that describes its inputs and outputs
        meta.update(task=config.task, inputs=_roles(config, input_shapes),
                    outputs=[spec.name for spec in config.output_specs])
    return {k: v for k, v in meta.items() if v is not None}


def _roles(config, input_shapes):
    """``{ONNX input name: {"role", "dtype"[, "values", "range"]}}``: what each input of a zoo
    net holds (the config's specs in forward-argument order: Gluon's ``data0``, ``data1``...);
    integer inputs say their range (``index``: ids in [low, high), e.g. [0, 28); ``length``:
    valid lengths in [low, high], e.g. [1, "seq"]: up to the sequence's length)."""
    roles, sizes = {}, config.sizes()
    for name, spec in zip(config.input_names(), config.input_specs):
        if name not in input_shapes:
            continue
        roles[name] = {"role": spec.name, "dtype": spec.dtype}
        if spec.values != "uniform":
            high = sizes.get(spec.high, spec.high) if spec.values == "index" else spec.high
            roles[name].update(values=spec.values, range=[int(spec.low), high])
    return roles


def _list(value):
    return None if value is None else list(value)


def _shape_list(input_shape):
    """input_shape as a list of shapes in input order (for initializing and warming up a block)."""
    if input_shape is None:
        return None
    if isinstance(input_shape, dict):
        return [tuple(s) for s in input_shape.values()]
    if all(isinstance(d, (int, np.integer)) for d in input_shape):
        return [tuple(input_shape)]
    return [tuple(s) for s in input_shape]


def export_onnx(source, path, input_shape=None, opset=None, dynamic_batch=True, optimize=True,
                input_dtype=None, epoch=None, seed=0, metadata=None, dynamic_axes=None):
    """Export ``source`` to ONNX at ``path`` and return ``path``.

    ``source``: a HybridBlock (initialized under ``seed`` if it is not, hybridized, warmed up), a
    symbol prefix on disk (``prefix-symbol.json`` + ``prefix-NNNN.params``; ``epoch`` picks the
    file, default the highest), or ``(Symbol or path, params dict or path)``. ``input_shape``
    includes the batch axis, e.g. ``(1, 1, 28, 28)``; several inputs: a dict name -> shape or a
    list (in forward-argument order for Gluon's ``data0``, ``data1``... names, else in symbol
    input order; training labels may be included). ``input_dtype``: one dtype, or one per input
    (list or dict, as ``input_shape``); default float32. Zoo models default to their config's
    inputs at batch 1 and its dtypes (``net.zoo_config``: ``input_shapes``, ``input_dtypes``).
    ``dynamic_batch`` makes axis 0 of the inputs (and every axis that follows it) symbolic
    (zoo models: their config's ``dynamic_axes()``, e.g. batch and sequence length);
    ``dynamic_axes`` (torch.onnx style: ``{"data0": {0: "batch", 1: "seq"}}`` or ``{"data0":
    [0, 1]}``) replaces it, naming any dynamic axes; an axis that cannot vary is exported fixed
    with a warning and recorded in the model's ``fixed_axes`` metadata.
    ``optimize`` folds BatchNorm into convolutions, computes param-only shape ops and drops
    identities; ``optimize="transformer"`` then applies ONNX Runtime's transformer fusions
    (:mod:`export.onnx.fusion`; the file then runs on ONNX Runtime only). ``metadata`` adds
    ``metadata_props`` entries. Nothing is written when anything fails.
    """
    opset = check_opset(opset)
    if optimize not in (True, False, TRANSFORMER):
        raise InvalidInputError(f"optimize={optimize!r}: choose True, False or {TRANSFORMER!r}")
    is_block = isinstance(source, HybridBlock)
    if input_shape is None and is_block:
        input_shape = zoo_input_shape(source)
    if is_block and input_dtype is None:
        input_dtype = zoo_input_dtypes(source, len(_shape_list(input_shape) or ()))
    if is_block and dynamic_batch and dynamic_axes is None:
        dynamic_axes = zoo_dynamic_axes(source)
    if input_dtype is None:
        input_dtype = np.float32
    if is_block and input_shape is not None:
        # A block's inputs are its forward() arguments, named data / data0, data1... by Gluon
        # (the symbol may list them in another order).
        shapes = _shape_list(input_shape)
        input_shape = dict(zip(sources.input_names(len(shapes)), shapes))
    src = sources.resolve(source, _shape_list(input_shape), epoch=epoch, seed=seed)
    if input_shape is None and src.manifest:
        input_shape = [tuple(d or 1 for d in i["shape"]) for i in src.manifest.get("inputs", [])]
    if input_shape is None:
        raise InvalidInputError("input_shape is required (batch axis included), e.g. (1, 3, 224, 224)")
    inputs = resolve_inputs(src.symbol, src.params, input_shape, input_dtype, forward_order=True)
    meta = model_metadata(src, inputs.shapes, opset)
    meta.update(metadata or {})
    model, weights = build_model_parts(src.symbol, src.params, inputs, opset=opset,
                                       dynamic_batch=dynamic_batch, optimize=bool(optimize), metadata=meta,
                                       dynamic_axes=dynamic_axes)
    if optimize != TRANSFORMER:
        return save_model(model, path, weights)
    from .onnx.fusion import fuse_transformer
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(path))) as tmp:
        plain = save_model(model, os.path.join(tmp, "plain.onnx"), weights)
        fuse_transformer(plain, path)
    return path
