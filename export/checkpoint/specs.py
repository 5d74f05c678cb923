"""One input of a checkpoint as data: :class:`CheckpointInput` (name, shape, dtype, value range, dynamic
axes), what the rest of the checkpoint path takes, and :func:`parse_input` for the
``NAME:SHAPE[:DTYPE]`` text of ``--input`` (``data:1x3x224x224``, ``valid_length:1:int32``).
"""
import re
from dataclasses import dataclass, replace
from typing import Mapping, Optional, Tuple

import numpy as np

from ..errors import InvalidInputError

VALUE_KINDS = ("uniform", "index", "length")
DTYPES = ("float32", "float16", "float64", "int32", "int64", "int8", "uint8", "bool")
FORMAT = "NAME:SHAPE[:DTYPE], e.g. data:1x3x224x224 or valid_length:1:int32"


@dataclass(frozen=True)
class CheckpointInput:
    """One run-time input: its ``shape`` (batch axis first) at export, ``dtype``, and the values a
    check draws: ``"uniform"`` U(low, high); ``"index"`` integers in [low, high) (token ids below
    an Embedding's ``input_dim``); ``"length"`` integers in [low, high] (valid lengths up to the
    sequence's). ``dynamic_axes`` ``{axis: dim name}`` (None: the batch only)."""

    name: str
    shape: Tuple[int, ...]
    dtype: str = "float32"
    values: str = "uniform"
    low: float = -1.0
    high: float = 1.0
    dynamic_axes: Optional[Mapping[int, str]] = None

    def __post_init__(self):
        if self.values not in VALUE_KINDS:
            raise InvalidInputError(f"input {self.name!r}: values={self.values!r}; choose from {', '.join(VALUE_KINDS)}")
        if not self.shape or any(int(d) < 1 for d in self.shape):
            raise InvalidInputError(f"input {self.name!r}: shape {tuple(self.shape)} needs positive sizes, "
                                    f"batch first, e.g. {self.name}:1x3x224x224")

    def with_(self, **changes):
        return replace(self, **changes)

    def sample(self, batch, rng):
        """Random values of this input at ``batch`` (axis 0), drawn from ``rng`` (``np.random.RandomState``)."""
        shape = (batch,) + tuple(self.shape[1:])
        if self.values == "uniform":
            values = rng.uniform(self.low, self.high, shape)
        else:
            values = rng.randint(int(self.low), int(self.high) + (self.values == "length"), shape)
        return values.astype(np.dtype(self.dtype))


def parse_input(text):
    """``"NAME:SHAPE[:DTYPE]"`` -> :class:`CheckpointInput`; a bad spec raises one line naming the format."""
    parts = str(text).split(":")
    if len(parts) not in (2, 3) or not parts[0].strip():
        raise InvalidInputError(f"--input {text!r}: expected {FORMAT}")
    name, shape = parts[0].strip(), parts[1].strip().lower()
    if not re.fullmatch(r"\d+(x\d+)*", shape) or any(int(d) < 1 for d in shape.split("x")):
        raise InvalidInputError(f"--input {text!r}: shape {parts[1]!r} is not positive sizes joined by x, batch "
                                f"first; expected {FORMAT}")
    dtype = parts[2].strip().lower() if len(parts) == 3 else "float32"
    if dtype not in DTYPES:
        raise InvalidInputError(f"--input {text!r}: unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
    return CheckpointInput(name, tuple(int(d) for d in shape.split("x")), dtype)


def as_specs(inputs):
    """``inputs`` (None; specs; ``"NAME:SHAPE[:DTYPE]"`` texts; a dict name -> shape) -> a dict
    name -> :class:`CheckpointInput` of what the caller gave."""
    if inputs is None:
        return {}
    if isinstance(inputs, Mapping):
        inputs = [CheckpointInput(n, tuple(int(d) for d in s)) for n, s in inputs.items()]
    if isinstance(inputs, (str, CheckpointInput)):
        inputs = [inputs]
    specs = [i if isinstance(i, CheckpointInput) else parse_input(i) for i in inputs]
    named = {}
    for spec in specs:
        if spec.name in named:
            raise InvalidInputError(f"input {spec.name!r} is given twice; give each input once")
        named[spec.name] = spec
    return named
