"""GraphBuilder: the ONNX graph under construction that converters emit into.

Converters only ask it for names (``unique``), constants (``const``, ``add_initializer``) and
whether an input is a known constant (``is_constant``/``constant_value``, e.g. to fold weights).
Nodes are returned by converters; the compiler appends them in topological order.
"""
import re

import numpy as np
from onnx import helper
from ..errors import InvalidInputError


def _clean(hint):
    """A readable ONNX name from an MXNet name (MXNet names are already mostly clean)."""
    name = re.sub(r"[^0-9A-Za-z_.:/-]+", "_", str(hint)).strip("_")
    return name or "v"


class GraphBuilder:
    """Names, initializers and nodes of one ONNX graph."""

    def __init__(self, opset, dim_sources=None):
        self.opset = opset
        self.nodes = []
        self._values = {}  # initializer name -> np.ndarray (insertion order = file order)
        self._used = set()
        # named dynamic dim -> (graph input, axis) it is read from, and the value holding its
        # run-time size once a converter asked for it (see Emitter.dim_size)
        self.dim_sources = dict(dim_sources or {})
        self.dim_values = {}

    # -- names -------------------------------------------------------------------------------
    def reserve(self, name):
        """Claim an exact name (graph inputs/outputs); error if taken."""
        if name in self._used:
            raise InvalidInputError(f"ONNX name {name!r} is used twice")
        self._used.add(name)
        return name

    def unique(self, hint):
        """A name not used yet, ``hint`` itself when free, else ``hint_1``, ``hint_2``, ..."""
        base = _clean(hint)
        name, n = base, 0
        while name in self._used:
            n += 1
            name = f"{base}_{n}"
        self._used.add(name)
        return name

    # -- constants ---------------------------------------------------------------------------
    def add_initializer(self, array, hint, exact_name=False):
        """Store ``array`` as an initializer and return its name; it is written as raw bytes
        into the model (see :mod:`.writer`), never as a Python list."""
        name = self.reserve(hint) if exact_name else self.unique(hint)
        self._values[name] = np.asarray(array)
        return name

    def initializers(self, names):
        """``(name, array)`` of the initializers in ``names``, in the order they were added."""
        return [(name, array) for name, array in self._values.items() if name in names]

    def const(self, value, dtype=np.int64, hint="const"):
        """A small constant (shape, axes, scalar) as an initializer; returns its name."""
        return self.add_initializer(np.asarray(value, dtype=dtype), hint)

    def is_constant(self, name):
        """True when ``name`` is an initializer (a param or a constant), False for run-time inputs."""
        return name in self._values

    def constant_value(self, name):
        """The numpy value of initializer ``name`` (KeyError if it is not constant)."""
        return self._values[name]

    def remove_initializer(self, name):
        """Drop an initializer (when an optimisation replaced its only use)."""
        self._values.pop(name, None)

    # -- nodes -------------------------------------------------------------------------------
    def node(self, op_type, inputs, outputs, name, **attrs):
        """helper.make_node with a unique readable node name (convenience for converters)."""
        return helper.make_node(op_type, list(inputs), list(outputs), name=self.unique(name), **attrs)

    def add_nodes(self, nodes):
        self.nodes.extend(nodes)
