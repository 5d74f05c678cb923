"""Parse MXNet's string-valued node attributes (``"(3, 3)"``, ``"True"``, ``"1e-05"``, ``"None"``)."""
import ast
import math

from ..errors import InvalidInputError


def _raw(attrs, key, default):
    value = attrs.get(key)
    if value is None or value == "None":
        return default
    return value


def attr_str(attrs, key, default=None):
    return _raw(attrs, key, default)


def attr_bool(attrs, key, default=False):
    value = _raw(attrs, key, None)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")


def attr_int(attrs, key, default=None):
    value = _raw(attrs, key, None)
    return default if value is None else int(float(value))


def attr_float(attrs, key, default=None):
    value = _raw(attrs, key, None)
    return default if value is None else float(value)


def attr_eps(node, default):
    """A norm's ``eps`` (``node``: anything with ``attrs`` and ``name``): a finite number >= 0,
    else one line naming the node (a negative eps makes sqrt(var + eps) NaN in ONNX Runtime,
    where MXNet gives 0: the two could not agree)."""
    eps = attr_float(node.attrs, "eps", default)
    if not (math.isfinite(eps) and eps >= 0):
        raise InvalidInputError(f"node {node.name!r} has eps={node.attrs.get('eps')!r}: a normalization's eps must "
                                "be a finite number >= 0; export the symbol again")
    return eps


def attr_tuple(attrs, key, default=None, cast=int):
    """``"(3, 3)"`` / ``"[3,3]"`` / ``"3"`` -> ``(3, 3)`` / ``(3,)``; ``"()"`` -> ``()``."""
    value = _raw(attrs, key, None)
    if value is None:
        return default
    parsed = ast.literal_eval(value) if isinstance(value, str) else value
    if isinstance(parsed, (list, tuple)):
        return tuple(None if v is None else cast(v) for v in parsed)
    return (cast(parsed),)


def attr_axis_tuple(attrs, key, default=None):
    """Like :func:`attr_tuple` for axis lists, where MXNet writes ``"()"`` or ``"None"`` for 'all'."""
    value = attr_tuple(attrs, key, None)
    if value is None or value == ():
        return default
    return value
