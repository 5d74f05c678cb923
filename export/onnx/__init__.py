"""Our own MXNet symbol -> ONNX converter (never MXNet's built-in mx2onnx).

``export_model`` is a drop-in for MXNet 1.9.1's built-in ``export_model``; ``get_operator_support`` lists the
ops the converter registry covers. ``register_converter`` adds a converter for an op we lack (a
custom op: ``"Custom:<op_type>"``), given an :class:`OpNode` and building nodes with an
:class:`Emitter`; see docs/converters.md.
"""
from .api import get_operator_support, numpy_interface_coverage
from .convert import DEFAULT_OPSET, MAX_OPSET, UnsupportedOperatorError
from .mx_compat import export_model
from .ops._emit import Emitter, unsupported
from .registry import MIN_OPSET, OpNode, register_converter, unregister_converter

__all__ = ["export_model", "get_operator_support", "numpy_interface_coverage", "UnsupportedOperatorError",
           "DEFAULT_OPSET", "MIN_OPSET", "MAX_OPSET",
           "register_converter", "unregister_converter", "OpNode", "Emitter", "unsupported"]
