"""Our own MXNet symbol -> ONNX converter (never MXNet's built-in mx2onnx).

``export_model`` is a drop-in for MXNet 1.9.1's built-in ``export_model``; ``get_operator_support`` lists the
ops the converter registry covers.
"""
from .api import get_operator_support, numpy_interface_coverage
from .convert import DEFAULT_OPSET, MAX_OPSET, UnsupportedOperatorError
from .mx_compat import export_model
from .registry import MIN_OPSET

__all__ = ["export_model", "get_operator_support", "numpy_interface_coverage", "UnsupportedOperatorError",
           "DEFAULT_OPSET", "MIN_OPSET", "MAX_OPSET"]
