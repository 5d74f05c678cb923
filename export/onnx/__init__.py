"""Our own MXNet symbol -> ONNX converter (never mx.onnx / mx2onnx).

``export_model`` is a drop-in for ``mx.onnx.export_model``; ``get_operator_support`` lists the
ops the converter registry covers.
"""
from .api import get_operator_support

__all__ = ["get_operator_support"]
