"""MXNet's numpy interface at the symbol level: which graphs use it, and shape semantics.

A graph hybridized under ``npx.set_np()`` carries ``_np_*``/``_npi_*``/``_npx_*`` ops and, in
its JSON, ``"is_np_shape": 1``. Its shapes follow numpy: ``()`` is a 0-d scalar and ``0`` a
zero size (MXNet's legacy shape inference reads both as "unknown"), so every
``infer_shape`` on such a graph runs under ``mx.util.np_shape(True)``; legacy graphs keep
legacy semantics.
"""
import contextlib
from types import SimpleNamespace

NUMPY_PREFIXES = ("_np_", "_npi_", "_npx_")


def is_numpy_op(op):
    return op.startswith(NUMPY_PREFIXES)


def is_numpy_json(graph_json):
    """True for a symbol JSON (parsed) saved in numpy mode or holding a numpy-interface op."""
    attrs = graph_json.get("attrs") or {}
    flag = attrs.get("is_np_shape", ["int", 0])
    if int(flag[1] if isinstance(flag, list) else flag):
        return True
    return any(is_numpy_op(node["op"]) for node in graph_json.get("nodes", ()))


def symbol_nodes(graph_json):
    """The nodes of a symbol JSON (parsed) as ``(op, name, attrs)`` records."""
    return [SimpleNamespace(op=n["op"], name=n["name"], attrs=n.get("attrs") or n.get("attr") or {})
            for n in graph_json["nodes"]]


@contextlib.contextmanager
def shape_semantics(graph_json):
    """numpy shape semantics around MXNet's shape inference for a numpy graph (its parsed JSON)."""
    if not is_numpy_json(graph_json):
        yield False
        return
    import mxnet as mx  # only here: importing export.onnx must not load MXNet
    with mx.util.np_shape(True):
        yield True
