"""Converter registry: one small function per MXNet op, keyed by op name and minimum opset.

A converter has the signature ``convert(node: OpNode) -> list[onnx.NodeProto]`` and is
registered with ``@converter("Convolution", opset=13)``. Registering the same op again with a
higher ``opset`` adds the version used from that opset on (tf2onnx's ``version_13`` idea), so
one op's evolution across opsets sits in one place.

Users add converters for their own ops with the public :func:`register_converter` (kept in a
table of their own, so :func:`unregister_converter` brings ours back); an ``mx.operator``
custom op is keyed ``Custom:<op_type>``.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Tuple

import numpy as np

from ..errors import InvalidInputError, InvalidTypeError

MIN_OPSET = 13

_CONVERTERS: Dict[str, Dict[int, Callable]] = {}
_USER: Dict[str, Dict[int, Callable]] = {}  # register_converter's table, looked up first


def converter(*op_names, opset=MIN_OPSET):
    """Register the decorated function for each MXNet op name, from ``opset`` on."""
    def wrap(fn):
        for op in op_names:
            _CONVERTERS.setdefault(op, {})[opset] = fn
        return fn
    return wrap


def alias(name, target):
    """Register ``name`` as another name of ``target``: both share one table of converters
    (a version registered for either later applies to both)."""
    _CONVERTERS[name] = _CONVERTERS[target]


def register_converter(op_name, opset=MIN_OPSET, override=False):
    """Decorator: convert MXNet op ``op_name`` with the decorated function from ``opset`` on.

    ``op_name`` is the op as the symbol's JSON names it (``"_contrib_MyOp"``); a Python custom
    op (``mx.operator.register("my_op")``, op ``Custom``) is ``"Custom:my_op"`` (plain
    ``"Custom"`` takes every custom op without one of its own). The function gets an
    :class:`OpNode` and returns the ONNX nodes (build them with :class:`Emitter`) that write
    ``node.outputs``. An op we convert already is refused unless ``override=True``; yours then
    wins at every opset from ``opset`` on. :func:`unregister_converter` undoes it.
    """
    if not isinstance(op_name, str) or not op_name:
        raise InvalidTypeError(f"register_converter needs an op name such as 'Custom:my_op', got {op_name!r}")
    if not isinstance(opset, int) or opset < MIN_OPSET:
        raise InvalidInputError(f"register_converter({op_name!r}): opset {opset!r} is not supported; "
                                f"give an int >= {MIN_OPSET}")

    def wrap(fn):
        if not callable(fn):
            raise InvalidTypeError(f"register_converter({op_name!r}) decorates a function, not {fn!r}")
        taken = ("a built-in converter" if op_name in _CONVERTERS else
                 f"a converter registered at opset {opset}" if opset in _USER.get(op_name, {}) else None)
        if taken and not override:
            raise InvalidInputError(f"MXNet op {op_name!r} already has {taken}; pass override=True to "
                                    f"replace it, or call unregister_converter({op_name!r}) first")
        _USER.setdefault(op_name, {})[opset] = fn
        return fn
    return wrap


def unregister_converter(op_name, opset=None):
    """Remove what :func:`register_converter` added for ``op_name`` (every opset, or just
    ``opset``); a built-in converter it overrode applies again. Returns how many were removed."""
    versions = _USER.get(op_name, {})
    gone = [v for v in versions if opset is None or v == opset]
    for v in gone:
        del versions[v]
    if not versions:
        _USER.pop(op_name, None)
    return len(gone)


def from_user(fn):
    """True when ``fn`` was registered with :func:`register_converter`."""
    return any(fn in versions.values() for versions in _USER.values())


def op_key(op, attrs=None):
    """The registry key of a node: ``Custom:<op_type>`` for a custom op, else its op name."""
    op_type = (attrs or {}).get("op_type")
    return f"{op}:{op_type}" if op == "Custom" and op_type else op


def _usable(versions, opset):
    usable = [v for v in versions if v <= opset]
    return versions[max(usable)] if usable else None


def lookup(op, opset, attrs=None):
    """The converter for ``op`` (with ``attrs``: a custom op's own first) at ``opset``, or
    None; a user's registration first."""
    for key in dict.fromkeys((op_key(op, attrs), op)):
        for table in (_USER, _CONVERTERS):
            found = _usable(table.get(key, {}), opset)
            if found is not None:
                return found
    return None


def first_opset(op, attrs=None):
    """The lowest opset any converter of the node's op starts at, or None when it has none."""
    keys = dict.fromkeys((op_key(op, attrs), op))
    found = [v for key in keys for table in (_USER, _CONVERTERS) for v in table.get(key, {})]
    return min(found) if found else None


def supported_ops():
    """``{op name: sorted list of opsets where its converter changes}``, users' included."""
    ops = sorted(set(_CONVERTERS) | set(_USER))
    return {op: sorted(set(_CONVERTERS.get(op, {})) | set(_USER.get(op, {}))) for op in ops}


@dataclass
class OpNode:
    """Everything a converter may read about one MXNet node, plus the graph it emits into.

    The one argument of every converter, ours and those of :func:`register_converter`.
    ``op``/``name``: the MXNet op and node name; ``attrs``: its attributes as MXNet's strings
    (``"(3, 3)"``, ``"True"``; ``export.onnx.attrs`` parses them); ``opset``: the target opset.
    ``inputs``/``outputs`` are ONNX value names (outputs already chosen by the graph builder;
    the converter must produce exactly these). Shapes and dtypes come from one
    ``infer_shape``/``infer_type`` pass at the export shapes.

    Dynamic axes: ``in_dims[i]`` / ``out_dims[i]`` hold, per axis of input/output ``i``, None
    for a static axis or the :class:`~export.onnx.dims.SymDim` its run-time size follows (a
    named dim such as ``batch``, ``seq`` or an image ``height``; a product of dims; or some
    other function of them). A converter must not bake the export size of a dynamic axis into
    a constant: read it at run time (``Shape``) or use ``Emitter.reshape`` /
    ``Emitter.shape_tensor`` / ``Emitter.dim_size``, which build shapes from these dims.
    ``in_dynamic_axes[i]`` / ``out_dynamic_axes[i]`` list the dynamic axes (``in_batch_axes`` /
    ``out_batch_axes`` are their former names).
    """

    name: str
    op: str
    attrs: Dict[str, str]
    inputs: List[str]
    outputs: List[str]
    in_shapes: List[Tuple[int, ...]]
    in_dtypes: List[np.dtype]
    out_shapes: List[Tuple[int, ...]]
    out_dtypes: List[np.dtype]
    opset: int
    graph: "object"  # export.onnx.graph.GraphBuilder
    in_dims: List[tuple] = field(default_factory=list)
    out_dims: List[tuple] = field(default_factory=list)

    @property
    def in_dynamic_axes(self):
        return [_dynamic(d) for d in self.in_dims]

    @property
    def out_dynamic_axes(self):
        return [_dynamic(d) for d in self.out_dims]

    in_batch_axes = in_dynamic_axes
    out_batch_axes = out_dynamic_axes


def _dynamic(dims):
    return tuple(i for i, d in enumerate(dims) if d is not None)
