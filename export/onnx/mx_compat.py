"""``export_model``: a drop-in for MXNet 1.9.1's built-in ``export_model`` (mx2onnx), on our converter.

Same signature and argument meaning; switching is one import. Differences, all deliberate:
the opset is ours (``opset_version``, default 17) instead of onnx's newest; weights are
initializers only; with ``dynamic=True`` and no ``dynamic_input_shapes`` only the batch axis
becomes symbolic (MXNet made every axis unknown); outputs keep MXNet's names
(``<node>_output``) and order; the file is checked and written atomically.
"""
import logging

import numpy as np
import onnx

from ..source import load_params, load_symbol, strip_prefixes
from .api import build_model_parts, check_param_names, data_inputs, name_shapes, save_model
from .convert import BATCH_DIM
from .writer import append_initializers

log = logging.getLogger(__name__)


def _dynamic_axes(names, in_shapes, dynamic, dynamic_input_shapes):
    if not dynamic:
        if dynamic_input_shapes is not None:
            raise ValueError("dynamic_input_shapes is given but dynamic=False; pass dynamic=True")
        return False
    if dynamic_input_shapes is None:
        return True  # the batch axis of every data input
    if len(dynamic_input_shapes) != len(in_shapes):
        raise ValueError(f"dynamic_input_shapes has {len(dynamic_input_shapes)} entries but "
                         f"in_shapes has {len(in_shapes)}; give one per input")
    axes = {}
    for name, shape, dyn in zip(names, in_shapes, dynamic_input_shapes):
        if len(shape) != len(dyn):
            raise ValueError(f"dynamic_input_shapes entry {tuple(dyn)} for input {name!r} has "
                             f"{len(dyn)} dims but in_shapes gives {tuple(shape)}")
        axes[name] = tuple(i for i, d in enumerate(dyn) if d is None)
    return axes


def _shape_list(in_shapes):
    """``[(1, 3, 224, 224)]``, or one shape ``(1, 3, 224, 224)`` -> a list of int tuples."""
    def is_shape(value):
        return isinstance(value, (list, tuple)) and all(isinstance(d, (int, np.integer)) for d in value)
    if is_shape(in_shapes) and in_shapes:
        return [tuple(int(d) for d in in_shapes)]
    if not isinstance(in_shapes, (list, tuple)) or not all(is_shape(s) for s in in_shapes):
        raise ValueError(f"in_shapes must be a list of shapes (batch axis included), e.g. "
                         f"[(1, 3, 224, 224)], or one shape; got {in_shapes!r}")
    return [tuple(int(d) for d in s) for s in in_shapes]


def _dim_name(value, axis):
    return BATCH_DIM if axis == 0 else f"{value}_dim{axis}"


def export_model(sym, params, in_shapes=None, in_types=np.float32, onnx_file_path="model.onnx",
                 verbose=False, dynamic=False, dynamic_input_shapes=None,
                 run_shape_inference=False, input_type=None, input_shape=None, opset_version=None):
    """Export an MXNet symbol + params (objects or file paths) to ``onnx_file_path``; return it.

    ``sym``: Symbol or path to ``-symbol.json``. ``params``: dict (``arg:``/``aux:`` prefixes
    accepted), ``[arg_params, aux_params]`` or path to ``.params``. ``in_shapes``: list of input
    shapes (batch included) in symbol input order, params excluded. ``in_types``: one dtype or one
    per input. ``input_type``/``input_shape`` are the old names of ``in_types``/``in_shapes``.
    """
    if input_type is not None:
        in_types = input_type
    if input_shape is not None:
        in_shapes = input_shape
    if in_shapes is None:
        raise ValueError("in_shapes is required, e.g. in_shapes=[(1, 3, 224, 224)]")
    sym = load_symbol(sym) if isinstance(sym, str) else sym
    params = load_params(params) if isinstance(params, str) else strip_prefixes(params)
    check_param_names(sym, params)  # params of another model: say so before counting inputs
    names = data_inputs(sym, params)
    in_shapes = _shape_list(in_shapes)
    name_shapes(names, in_shapes, what="in_shapes")  # one shape per run-time input
    types = in_types if isinstance(in_types, (list, tuple)) else [in_types] * len(names)
    if len(types) != len(names):
        raise ValueError(f"in_types has {len(types)} entries for {len(names)} inputs {names}")
    dynamic_axes = _dynamic_axes(names, in_shapes, dynamic, dynamic_input_shapes)
    model, weights = build_model_parts(sym, params, dict(zip(names, in_shapes)),
                                       {n: np.dtype(t) for n, t in zip(names, types)},
                                       opset=opset_version, dynamic_batch=dynamic_axes,
                                       optimize=False, dim_name=_dim_name)
    if run_shape_inference:  # on the whole model; the weights are then inside it
        append_initializers(model.graph, weights)
        model, weights = onnx.shape_inference.infer_shapes(model), ()
    save_model(model, onnx_file_path, weights)
    if verbose:
        log.info("exported %s: inputs %s, opset %d", onnx_file_path, dict(zip(names, in_shapes)),
                 model.opset_import[0].version)
    return onnx_file_path
