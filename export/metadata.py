"""The ONNX ``metadata_props`` a source implies: model name, input layout, normalisation,
classes, labels, preprocessing, the role of each input of a zoo net, and the versions."""
from types import SimpleNamespace

from .files import manifest as manifests
from .files.versions import package_version


def model_metadata(src, input_shapes, opset=None):
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
