"""What each input of a sequence model's ONNX graph is, read from the graph alone, and feeds for it.

:func:`input_roles` tells token ids (they reach an embedding table's ``Gather``, possibly through
Cast/Reshape/Transpose; ``vocab`` is the smallest such table's row count), valid lengths (one
value per sequence: rank 1) and other tensors (features, recurrent states) apart. Zoo models,
GluonNLP nets and user checkpoints alike: no model name is looked at.
:func:`random_feeds` makes seeded inputs of a given batch and sequence length from the roles
(benchmarks, agreement checks on random weights); :func:`complete_feeds` fills the inputs a user
did not give (segments 0, lengths = the sequence length, states 0) around given token ids.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import onnx

from ..errors import InvalidInputError

IDS, LENGTH, TENSOR = "ids", "length", "tensor"  # roles
PASS_THROUGH = ("Cast", "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Flatten", "Identity", "Min", "Max", "Clip")
_NP = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.INT32: np.int32, onnx.TensorProto.INT64: np.int64,
       onnx.TensorProto.DOUBLE: np.float64, onnx.TensorProto.FLOAT16: np.float16}


@dataclass(frozen=True)
class InputRole:
    """One graph input: ``name``, ``role`` (ids/length/tensor), ``dtype``, ``dims`` (ints, or the
    symbolic names such as "batch" and "seq"), ``vocab`` (ids only)."""

    name: str
    role: str
    dtype: type
    dims: Tuple
    vocab: Optional[int] = None

    def shape(self, batch, seq):
        """Concrete dims: symbolic names with "batch" in them -> ``batch``, others -> ``seq``."""
        return tuple(d if isinstance(d, int) else batch if "batch" in d.lower() else seq for d in self.dims)


def input_roles(model):
    """``[InputRole]`` of an ``onnx.ModelProto`` (or a path), in graph-input order."""
    if isinstance(model, str):
        model = onnx.load(model, load_external_data=False)
    graph = model.graph
    tables = {t.name: t.dims[0] for t in graph.initializer if len(t.dims) == 2}
    consumers = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            consumers.setdefault(name, []).append((node, index))
    initializers = {t.name for t in graph.initializer}
    roles = []
    for value in graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "batch") for d in tensor.shape.dim)
        vocab = _vocab(value.name, consumers, tables)
        role = LENGTH if len(dims) == 1 else IDS if vocab else TENSOR
        roles.append(InputRole(value.name, role, _NP.get(tensor.elem_type, np.float32), dims, vocab))
    return roles


def _vocab(name, consumers, tables, depth=6):
    """The smallest embedding table whose ``Gather`` indices ``name`` reaches, else None."""
    found, frontier = [], [name]
    for _ in range(depth):
        following = []
        for tensor in frontier:
            for node, index in consumers.get(tensor, ()):
                if node.op_type == "Gather" and index == 1 and node.input[0] in tables:
                    found.append(tables[node.input[0]])
                elif node.op_type in PASS_THROUGH and index == 0:
                    following.extend(node.output)
        frontier = following
    return min(found) if found else None


def random_feeds(roles, batch, seq, seed=0):
    """``{input name: array}``: ids below the vocabulary (the first id input, tokens; others,
    such as segments, below their own table), lengths ``seq``, other tensors standard normal."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for role in roles:
        shape = role.shape(batch, seq)
        if role.role == IDS:
            feeds[role.name] = rng.integers(0, role.vocab, shape).astype(role.dtype)
        elif role.role == LENGTH:
            feeds[role.name] = np.full(shape, seq, role.dtype)
        else:
            feeds[role.name] = rng.standard_normal(shape).astype(role.dtype)
    return feeds


def complete_feeds(roles, tokens):
    """Feeds around ``tokens`` (batch, seq) for the first ids input: further ids inputs (segments)
    0, lengths the full sequence, other tensors (states) 0."""
    tokens = np.asarray(tokens)
    batch, seq = tokens.shape
    first = next((r for r in roles if r.role == IDS), None)
    if first is None:
        raise InvalidInputError("the model takes no token ids (no input reaches an embedding table)")
    if tokens.max(initial=0) >= first.vocab or tokens.min(initial=0) < 0:
        raise InvalidInputError(f"token ids must lie in [0, {first.vocab}), the vocabulary of the model; got "
                         f"{tokens.min()}..{tokens.max()}")
    layout = first.shape("B", "S")
    feeds = {}
    for role in roles:
        if role is first:
            feeds[role.name] = (tokens if layout[0] != "S" else tokens.T).astype(role.dtype)
        elif role.role == LENGTH:
            feeds[role.name] = np.full(role.shape(batch, seq), seq, role.dtype)
        else:
            feeds[role.name] = np.zeros(role.shape(batch, seq), role.dtype)
    return feeds
