"""``export_onnx``: any source (HybridBlock, symbol prefix, ``(Symbol, params)``) -> ONNX file."""
import os
import tempfile

from . import source as sources
from .onnx.api import build_model_parts, save_model
from .onnx.convert import check_opset
from .errors import InvalidInputError

# optimize level: ONNX Runtime's transformer fusions (contrib ops: runs on ONNX Runtime only)
TRANSFORMER = "transformer"


def export_onnx(source, path, input_shape=None, opset=None, dynamic_batch=True, optimize=True,
                input_dtype=None, epoch=None, seed=0, metadata=None, dynamic_axes=None):
    """Export ``source`` to ONNX at ``path`` and return ``path``.

    ``source``: a HybridBlock (initialized under ``seed`` if it is not, hybridized, warmed up), a
    symbol prefix on disk (``prefix-symbol.json`` + ``prefix-NNNN.params``; ``epoch`` picks the
    file, default the highest), or ``(Symbol or path, params dict or path)``. ``input_shape``
    includes the batch axis, e.g. ``(1, 1, 28, 28)``; several inputs: a dict name -> shape or a
    list (in forward-argument order for Gluon's ``data0``, ``data1``... names, else in symbol
    input order; training labels may be included). ``input_dtype``: one dtype, or one per input
    (list or dict, as ``input_shape``); default float32. Zoo models default to their config's
    inputs at batch 1 and its dtypes (``net.zoo_config``: ``input_shapes``, ``input_dtypes``).
    ``dynamic_batch`` makes axis 0 of the inputs (and every axis that follows it) symbolic
    (zoo models: their config's ``dynamic_axes()``, e.g. batch and sequence length);
    ``dynamic_axes`` (torch.onnx style: ``{"data0": {0: "batch", 1: "seq"}}`` or ``{"data0":
    [0, 1]}``) replaces it, naming any dynamic axes; an axis that cannot vary is exported fixed
    with a warning and recorded in the model's ``fixed_axes`` metadata.
    ``optimize`` folds BatchNorm into convolutions, computes param-only shape ops and drops
    identities; ``optimize="transformer"`` then applies ONNX Runtime's transformer fusions
    (:mod:`export.onnx.fusion`; the file then runs on ONNX Runtime only). ``metadata`` adds
    ``metadata_props`` entries. Nothing is written when anything fails.
    """
    opset = check_opset(opset)
    if optimize not in (True, False, TRANSFORMER):
        raise InvalidInputError(f"optimize={optimize!r}: choose True, False or {TRANSFORMER!r}")
    src = sources.resolve(source, input_shape, input_dtype, epoch=epoch, seed=seed, dynamic_batch=dynamic_batch,
                          dynamic_axes=dynamic_axes, opset=opset)
    model, weights = build_model_parts(src.symbol, src.params, src.inputs, opset=opset,
                                       dynamic_batch=dynamic_batch, optimize=bool(optimize),
                                       metadata={**src.metadata, **(metadata or {})}, dynamic_axes=src.dynamic_axes)
    if optimize != TRANSFORMER:
        return save_model(model, path, weights)
    from .onnx.fusion import fuse_transformer
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(path))) as tmp:
        plain = save_model(model, os.path.join(tmp, "plain.onnx"), weights)
        fuse_transformer(plain, path)
    return path
