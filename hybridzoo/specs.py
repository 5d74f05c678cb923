"""What a model takes and returns: :class:`TensorSpec`, one input or output, batch axis excluded.

A shape holds sizes and *dim names*. Names are resolved against a table of sizes
(:meth:`hybridzoo.config.ModelConfig.sizes`): the config's ``dims`` (``"seq"``, ``"num_hiddens"``...,
named after the entry point's keyword arguments where one sets them), ``"classes"``, and for
image configs ``"height"``/``"width"``. A name the table lacks (``"anchors"``: fixed by the
net, not by the config) stays unresolved (``None``).

Inputs also say which values are meaningful, so tests, calibration and exporters can draw
realistic samples: ``"uniform"`` U(low, high) (images, features, states); ``"index"`` integers
in [low, high) (token ids: high ``"vocab_size"``; token types: high 2); ``"length"`` integers in
[low, high] (valid lengths: high ``"seq"``). Integers are stored in ``dtype`` (float ids work too).
"""
from dataclasses import dataclass
from typing import Tuple, Union

import numpy as np

VALUE_KINDS = ("uniform", "index", "length")


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: role name, shape without the batch axis, dtype, value range.

    ``batch_axis`` is where the batch goes (an RNN state ``(layers, batch, hidden)``: 1).
    """

    name: str
    shape: Tuple[Union[int, str], ...]
    dtype: str = "float32"
    values: str = "uniform"
    low: float = -1.0
    high: Union[float, str] = 1.0
    batch_axis: int = 0

    def __post_init__(self):
        if self.values not in VALUE_KINDS:
            raise ValueError(f"{self.name}: values={self.values!r}, choose one of {', '.join(VALUE_KINDS)}")
        if not 0 <= self.batch_axis <= len(self.shape):
            raise ValueError(f"{self.name}: batch_axis {self.batch_axis} outside shape {self.shape}")

    def full_shape(self, batch, sizes):
        """The shape with the batch inserted and dim names resolved (``None`` when unknown)."""
        dims = [d if isinstance(d, int) else sizes.get(d) for d in self.shape]
        return tuple(dims[:self.batch_axis] + [batch] + dims[self.batch_axis:])

    def axis_names(self):
        """``{axis: dim name}`` over the full shape (batch included, named ``"batch"``)."""
        names = {self.batch_axis: "batch"}
        for i, d in enumerate(self.shape):
            if isinstance(d, str):
                names[i + (i >= self.batch_axis)] = d
        return names

    def sample(self, batch, sizes, rng):
        """A random array of this input at ``batch`` with its meaningful values."""
        shape = self.full_shape(batch, sizes)
        if None in shape:
            raise ValueError(f"{self.name}: cannot size {self.shape}; give the dims {sorted(sizes)}")
        high = sizes[self.high] if isinstance(self.high, str) else self.high
        if self.values == "uniform":
            values = rng.uniform(self.low, high, shape)
        else:
            values = rng.randint(int(self.low), int(high) + (self.values == "length"), shape)
        return values.astype(np.dtype(self.dtype))


def gluon_input_names(count):
    """Gluon's names for a block's forward arguments in its symbol: ``data``; ``data0``, ``data1``..."""
    return ["data"] if count == 1 else [f"data{i}" for i in range(count)]
