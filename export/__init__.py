"""The symbol-graph compiler: HybridBlock -> MXNet symbol files, symbol -> ONNX, verification.

``export_symbol(net, prefix)`` writes ``prefix-symbol.json`` + ``prefix-0000.params`` + manifest;
``export_onnx(source, path)`` converts a block, a symbol prefix or a ``(Symbol, params)`` pair;
``export_checkpoint(prefix, inputs=[...], out_dir=...)`` makes a verified artifact folder of your
own checkpoint (``export/artifacts/checkpoint.py``, on ``export.checkpoint``).

Both load lazily (PEP 562), so the deployment side (``export.deploy``, ``tools/infer.py``)
imports neither MXNet nor the converter: inference needs only onnxruntime, numpy and Pillow.
"""
import importlib

_LAZY = {"export_symbol": ".symbol", "export_onnx": ".to_onnx", "export_checkpoint": ".artifacts.checkpoint"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
