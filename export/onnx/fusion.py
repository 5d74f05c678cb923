"""Opt-in optimize level: ONNX Runtime's transformer fusions on an exported file.

``onnxruntime.transformers``' optimizer rewrites residual Add + LayerNormalization into
``SkipLayerNormalization``, the erf-GELU into ``Gelu``/``BiasGelu`` and, where it recognises
the pattern, attention into ``Attention``: Microsoft contrib ops, so the result runs on ONNX
Runtime only (hence opt-in). Needs ``sympy`` (the ``fusion`` extra), which its shape
inference imports.
"""
import contextlib
import logging
import os

from ..files.io import atomic_path
from ..errors import MissingDependencyError

FUSED_OPS = ("Attention", "MultiHeadAttention", "SkipLayerNormalization", "Gelu", "BiasGelu",
             "FastGelu", "EmbedLayerNormalization")


@contextlib.contextmanager
def _quiet(name="onnxruntime.transformers"):
    """The optimizer logs a warning per unmatched pattern and model producer: not ours to show."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def fuse_transformer(src, dst, num_heads=0, hidden_size=0):
    """Write ``src`` with ONNX Runtime's BERT fusions applied to ``dst`` (atomically); returns
    ``{fused op: count}``. ``num_heads``/``hidden_size`` 0: detected by the optimizer."""
    try:
        from onnxruntime.transformers.fusion_options import FusionOptions
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError as err:
        raise MissingDependencyError(f"the transformer optimize level needs onnxruntime.transformers and sympy "
                          f"({err}); install them with pip install 'hybridzoo[fusion]'") from None
    options = FusionOptions("bert")
    # ORT's simplified-LayerNorm fusion crashes on the LayerNorm we compose below opset 17;
    # from opset 17 on our LayerNorm is ONNX's LayerNormalization already.
    options.enable_layer_norm = False
    with _quiet():
        model = optimize_model(os.fspath(src), model_type="bert", num_heads=num_heads,
                               hidden_size=hidden_size, opt_level=0, optimization_options=options)
    with atomic_path(dst) as tmp:
        model.save_model_to_file(tmp)
    counts = {}
    for node in model.model.graph.node:
        if node.op_type in FUSED_OPS and node.domain == "com.microsoft":
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts
