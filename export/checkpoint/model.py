"""A checkpoint as :func:`export.artifacts.package.export_artifact` takes it: a symbol, its params,
its inputs (:class:`~.specs.CheckpointInput`) and what deployment needs to know (preprocessing, labels,
task), plus the MXNet run it is checked against.

It writes its own files (the graph as given, training heads included; the ONNX file with the
inputs' own names) and describes itself through ``zoo_config`` (:class:`CheckpointConfig`), which
the artifact code reads as it reads a zoo net's config.
"""
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import mxnet as mx
import numpy as np

from .. import verify
from ..files.io import atomic_path, atomic_write_text
from ..files.manifest import preprocess as config_preprocess
from ..model_files import load_params, load_symbol
from ..to_onnx import export_onnx
from .specs import CheckpointInput


@dataclass(frozen=True)
class CheckpointConfig:
    """What a zoo config would say about a checkpoint: inputs, image preprocessing, classes."""

    inputs: Tuple[CheckpointInput, ...]
    input_shape: Tuple[int, ...] = ()          # the first input's, batch excluded ((C, H, W): an image)
    mean: Optional[Tuple[float, ...]] = None
    std: Optional[Tuple[float, ...]] = None
    scale: float = 1 / 255
    resize: Optional[int] = None
    layout: str = "NCHW"
    labels: Optional[Tuple[str, ...]] = None
    task: str = "classification"
    classes: Optional[int] = None
    dataset: Optional[str] = None

    def input_names(self):
        return [s.name for s in self.inputs]

    def input_shapes(self, batch=1):
        return [(batch,) + tuple(s.shape[1:]) for s in self.inputs]

    def input_dtypes(self):
        return [s.dtype for s in self.inputs]

    def sample_inputs(self, batch=1, seed=0):
        rng = np.random.RandomState(seed)
        return [s.sample(batch, rng) for s in self.inputs]

    def dynamic_axes(self):
        """``{input: {axis: dim}}`` when any spec names its dynamic axes, else None (the batch)."""
        if not any(s.dynamic_axes for s in self.inputs):
            return None
        return {s.name: dict(s.dynamic_axes) for s in self.inputs if s.dynamic_axes}

    def metadata(self, name):
        """The ONNX ``metadata_props`` tools/infer.py and other readers use."""
        meta = {"model": name, "task": self.task, "labels": list(self.labels) if self.labels else None,
                "mean": _list(self.mean), "std": _list(self.std), "preprocess": config_preprocess(self),
                "classes": self.classes, "dataset": self.dataset,
                "inputs": {s.name: {"role": s.name, "dtype": s.dtype, "values": s.values,
                                    "range": [s.low, s.high]} for s in self.inputs if s.values != "uniform"}}
        return {k: v for k, v in meta.items() if v not in (None, {})}


def _list(value):
    return None if value is None else list(value)


@dataclass
class Checkpoint:
    """A symbol + params to export under ``zoo_name``; ``block``: the Gluon net the symbol was
    traced from (checked imperative and hybridized), else the symbol runs bound to an executor
    (the Module API's inference: label inputs of training heads get zeros, which they ignore).
    ``weights``: the manifest's record of where the params came from."""

    zoo_name: str
    symbol: Any
    params: Dict[str, np.ndarray]
    zoo_config: CheckpointConfig
    block: Any = None
    files: Dict[str, str] = field(default_factory=dict)
    weights: dict = field(default_factory=lambda: {"trained": None, "source": None, "seed": None})

    @property
    def input_names(self) -> List[str]:
        return self.zoo_config.input_names()

    def write_symbol(self, prefix):
        """``prefix-symbol.json`` + ``prefix-0000.params`` (``arg:``/``aux:`` keys, as Module writes)."""
        symbol_file, params_file = f"{prefix}-symbol.json", f"{prefix}-0000.params"
        atomic_write_text(symbol_file, self.symbol.tojson())
        aux = set(self.symbol.list_auxiliary_states())
        arrays = {f"{'aux' if k in aux else 'arg'}:{k}": mx.nd.array(v, dtype=v.dtype) for k, v in self.params.items()}
        with atomic_path(params_file) as tmp:
            mx.nd.save(tmp, arrays)
        return [os.path.basename(symbol_file), os.path.basename(params_file)]

    def write_onnx(self, path, shapes, opset=None, dynamic_batch=True, optimize=True, dynamic_axes=None):
        """model.onnx with the inputs' own names and dtypes (``shapes``: per input, batch first)."""
        names = self.input_names
        return export_onnx((self.symbol, self.params), path, input_shape=dict(zip(names, shapes)),
                           input_dtype=dict(zip(names, self.zoo_config.input_dtypes())), opset=opset,
                           dynamic_batch=dynamic_batch, optimize=optimize,
                           dynamic_axes=dynamic_axes or self.zoo_config.dynamic_axes(),
                           metadata=self.zoo_config.metadata(self.zoo_name))

    def mxnet_backends(self, ctx=None):
        """``{name: backend}``, the reference first: the Gluon net imperative then hybridized, or
        the symbol bound to an executor."""
        if self.block is not None:
            return {"imperative": verify.block_backend(self.block, hybridize=False, ctx=ctx),
                    "hybridized": verify.block_backend(self.block, hybridize=True, ctx=ctx)}
        return {"MXNet": verify.executor_backend(self.symbol, self.params, self.input_names, ctx)}

    def reload(self, prefix, ctx=None):
        """The files written by :meth:`write_symbol`, read back and bound to an executor."""
        return verify.executor_backend(load_symbol(f"{prefix}-symbol.json"), load_params(f"{prefix}-0000.params"),
                                       self.input_names, ctx)
