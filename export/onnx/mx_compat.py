"""``export_model``: a drop-in for MXNet 1.9.1's built-in ``export_model`` (mx2onnx), on our converter.

Same signature and argument meaning; switching is one import. Differences, all deliberate:
the opset is ours (``opset_version``, default 17) instead of onnx's newest; weights are
initializers only; with ``dynamic=True`` and no ``dynamic_input_shapes`` only the batch axis
becomes symbolic (MXNet made every axis unknown), with ``dynamic_input_shapes`` exactly its
``None`` axes (and every axis that follows them), each ``None`` an unknown of its own unless the
graph forces two equal; outputs keep MXNet's names
(``<node>_output``) and order; the file is checked and written atomically.
"""
import logging

import numpy as np
import onnx

from ..inputs import PARAM_ATTRS, feedable_inputs
from ..model_files import load_params, load_symbol, strip_prefixes
from .api import build_model_parts, resolve_inputs, save_model
from .convert import BATCH_DIM
from .writer import append_initializers
from ..errors import InvalidInputError

log = logging.getLogger(__name__)


def _dynamic_axes(sym, names, everything, in_shapes, dynamic, dynamic_input_shapes):
    """mx2onnx's ``dynamic``/``dynamic_input_shapes`` as our ``dynamic_axes``: each ``None``
    dim is an unknown of its own (the first input's axis 0 named ``batch``, the others
    ``<input>_dim<k>``), so inputs may differ in it (ROIs beside images, lengths beside a
    time-major sequence); dims the graph forces equal become one dim when the model is
    converted (:func:`.dims.resolve`). Without ``dynamic_input_shapes``, axis 0 of every data
    input is ``None``. A name (``(batch, "seq_length", 512)``) is a label, not a promise that
    inputs using it are equal (MXNet's own transformer test feeds a growing decoder input and a
    fixed memory, both labelled "seq_length"): each input's named axis is a dim of its own
    (``seq_length``, ``seq_length_1``...), merged in the same way."""
    if not dynamic:
        if dynamic_input_shapes is not None:
            raise InvalidInputError("dynamic_input_shapes is given but dynamic=False; pass dynamic=True")
        return {}
    if dynamic_input_shapes is None:
        attrs = sym.attr_dict()
        dyn = {n: (None,) + s[1:] if s and not any(k in attrs.get(n, {}) for k in PARAM_ATTRS) else s
               for n, s in in_shapes.items()}
    else:
        dyn = name_shapes_raw(names, everything, dynamic_input_shapes, "dynamic_input_shapes")
    axes, uses = {}, {}
    for name, shape in in_shapes.items():
        if len(shape) != len(dyn[name]):
            raise InvalidInputError(f"dynamic_input_shapes entry {tuple(dyn[name])} for input {name!r} has "
                             f"{len(dyn[name])} dims but in_shapes gives {tuple(shape)}")
        axes[name] = {}
        for i, d in enumerate(dyn[name]):
            if d is None:
                d = BATCH_DIM if i == 0 and BATCH_DIM not in uses else f"{name}_dim{i}"
            if isinstance(d, str):
                uses[d] = uses.get(d, -1) + 1
                axes[name][i] = d if uses[d] == 0 else f"{d}_{uses[d]}"
    return axes


def name_shapes_raw(names, everything, values, what):
    """Per-input entries (labels optional) without converting them to ints (None stays)."""
    values = [tuple(v) for v in values]
    if len(values) == len(names):
        return dict(zip(names, values))
    if len(values) == len(everything):
        return {n: v for n, v in zip(everything, values) if n in names}
    raise InvalidInputError(f"{what} has {len(values)} entries but the symbol has {len(names)} run-time "
                     f"input(s) {names} (or {len(everything)} with labels); give one per input")


def _shape_list(in_shapes):
    """``[(1, 3, 224, 224)]``, or one shape ``(1, 3, 224, 224)`` -> a list of int tuples."""
    def is_shape(value):
        return isinstance(value, (list, tuple)) and all(isinstance(d, (int, np.integer)) for d in value)
    if is_shape(in_shapes) and in_shapes:
        return [tuple(int(d) for d in in_shapes)]
    if not isinstance(in_shapes, (list, tuple)) or not all(is_shape(s) for s in in_shapes):
        raise InvalidInputError(f"in_shapes must be a list of shapes (batch axis included), e.g. "
                         f"[(1, 3, 224, 224)], or one shape; got {in_shapes!r}")
    return [tuple(int(d) for d in s) for s in in_shapes]


def export_model(sym, params=None, in_shapes=None, in_types=np.float32, onnx_file_path="model.onnx",
                 verbose=False, dynamic=False, dynamic_input_shapes=None,
                 run_shape_inference=False, input_type=None, input_shape=None, opset_version=None,
                 dynamic_axes=None):
    """Export an MXNet symbol + params (objects or file paths) to ``onnx_file_path``; return it.

    ``sym``: Symbol or path to ``-symbol.json`` (or ``mx.model.load_checkpoint``'s ``(sym,
    arg_params, aux_params)`` with ``params`` left out). ``params``: dict (``arg:``/``aux:``
    prefixes accepted), ``[arg_params, aux_params]`` or path to ``.params``. ``in_shapes``:
    list of input shapes (batch included) in symbol input order, params excluded; training
    labels (``softmax_label``...) may be included or not: they are dropped with a warning.
    ``in_types``: one dtype or one per input. ``input_type``/``input_shape`` are the old names
    of ``in_types``/``in_shapes``. ``dynamic_axes`` (ours, torch.onnx style, e.g. ``{"data":
    {0: "batch", 1: "seq"}}``) overrides ``dynamic``/``dynamic_input_shapes``.
    """
    if input_type is not None:
        in_types = input_type
    if input_shape is not None:
        in_shapes = input_shape
    if isinstance(sym, tuple) and len(sym) == 3 and params is None:  # load_checkpoint's result
        sym, params = sym[0], [sym[1], sym[2]]
    if params is None:
        raise InvalidInputError("params is required: a dict, [arg_params, aux_params] or a .params path")
    if in_shapes is None:
        raise InvalidInputError("in_shapes is required, e.g. in_shapes=[(1, 3, 224, 224)]")
    sym = load_symbol(sym) if isinstance(sym, str) else sym
    params = load_params(params) if isinstance(params, str) else strip_prefixes(params)
    inputs = resolve_inputs(sym, params, _shape_list(in_shapes), in_types, "in_shapes")
    if dynamic_axes is None:
        dynamic_axes = _dynamic_axes(sym, inputs.names, feedable_inputs(sym, params), inputs.shapes, dynamic,
                                     dynamic_input_shapes)
    model, weights = build_model_parts(sym, params, inputs, opset=opset_version,
                                       dynamic_batch=False, optimize=False,
                                       dynamic_axes=dynamic_axes)
    if run_shape_inference:  # on the whole model; the weights are then inside it
        append_initializers(model.graph, weights)
        model, weights = onnx.shape_inference.infer_shapes(model), ()
    save_model(model, onnx_file_path, weights)
    if verbose:
        log.info("exported %s: inputs %s, opset %d", onnx_file_path, inputs.shapes,
                 model.opset_import[0].version)
    return onnx_file_path
