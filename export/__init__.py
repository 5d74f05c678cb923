"""The symbol-graph compiler: HybridBlock -> MXNet symbol files, symbol -> ONNX, verification.

``export_symbol(net, prefix)`` writes ``prefix-symbol.json`` + ``prefix-0000.params`` + manifest;
``export_onnx(source, path)`` converts a block, a symbol prefix or a ``(Symbol, params)`` pair.
"""
from .symbol import export_symbol
from .to_onnx import export_onnx

__all__ = ["export_onnx", "export_symbol"]
