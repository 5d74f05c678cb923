"""The numpy interface's other names: ``_npx_*``/``_npi_*`` ops that are a legacy op (or another
numpy op) under another name share its converter; ops with no ONNX meaning are listed with
the way out that :func:`export.onnx.convert.check_supported` puts in its error.

A graph hybridized by MXNet 1.9.1 records the canonical name (``_npx_convolution`` is saved
as ``Convolution``); the aliases cover symbol files that spell the other name. Imported after
every other converter module: an alias shares the converters registered under its target.
"""
from ..registry import alias, converter
from ._numpy import via

ALIASES = {  # numpy-interface name -> the op whose converter it shares
    "_npx_activation": "Activation", "_npx_batch_dot": "batch_dot", "_npx_batch_flatten": "Flatten",
    "_npx_batch_norm": "BatchNorm", "_npx_cast": "Cast", "_npi_cast": "Cast",
    "_npx_convolution": "Convolution", "_npx_deconvolution": "Deconvolution", "_npx_dropout": "Dropout",
    "_npx_embedding": "Embedding", "_npx_erf": "erf", "_npx_fully_connected": "FullyConnected",
    "_npx_gather_nd": "gather_nd", "_npi_gather_nd": "gather_nd", "_npx_layer_norm": "LayerNorm",
    "_npx_leaky_relu": "LeakyReLU", "_npx_log_softmax": "log_softmax", "_npx_softmax": "softmax",
    "_npx_multibox_detection": "_contrib_MultiBoxDetection",
    "_npx_multibox_prior": "_contrib_MultiBoxPrior", "_npx_one_hot": "one_hot", "_npx_pick": "pick",
    "_npx_pooling": "Pooling", "_npx_reshape_like": "reshape_like", "_npx_rnn": "RNN",
    "_npi_rnn_param_concat": "_rnn_param_concat", "_npx_roi_pooling": "ROIPooling",
    "_npx_sequence_mask": "SequenceMask", "_npx_shape_array": "shape_array", "_npx_slice": "slice",
    "_npi_slice": "slice", "_npx_smooth_l1": "smooth_l1", "_npx_topk": "topk",
    "_npx_arange_like": "_contrib_arange_like", "_np_repeat": "repeat", "_npi_argsort": "argsort",
    "_npi_sort": "sort", "_npi_clip": "clip", "_npi_expand_dims": "expand_dims", "_npi_full": "_full",
    "_npi_linspace": "_linspace", "_npi_arange": "_arange", "_npi_maximum": "broadcast_maximum",
    "_npi_minimum": "broadcast_minimum", "_npi_maximum_scalar": "_maximum_scalar",
    "_npi_minimum_scalar": "_minimum_scalar", "_npi_hypot_scalar": "_hypot_scalar",
    "_npi_split": "_split_v2", "_npi_stack": "stack", "_npi_swapaxes": "SwapAxis", "_npi_take": "take",
    "_npi_tile": "tile",
    "_npi_flip": "flip", "_np_transpose": "transpose", "_np_copy": "identity",
    "_np_reshape": "reshape", "_npx_reshape": "reshape", "_npi_reshape": "reshape",
    "_npi_broadcast_to": "broadcast_to", "_npi_det": "_linalg_det",
    "_npi_hsplit": "_split_v2", "_npi_dsplit": "_split_v2",
    **{f"_npx__image_{k}": f"_image_{k}" for k in ("to_tensor", "normalize", "flip_left_right",
                                                  "flip_top_bottom", "crop", "adjust_lighting", "resize")},
    "_np_amax": "_np_max", "_np_amin": "_np_min", "_np_product": "_np_prod", "_np_sometrue": "_np_any",
}
for _name, _target in ALIASES.items():
    alias(_name, _target)

# samplers: the legacy converter on a view named as the legacy op (it reads the op's name)
converter("_npi_uniform")(via("_random_uniform"))
converter("_npi_normal")(via("_random_normal"))

_GRADIENT = "a gradient op: export the inference graph (hybridize and run outside autograd.record)"
_DATA_SHAPE = ("its output shape depends on the values (ONNX Runtime needs static ranks and "
               "MXNet cannot infer it): do it before or after the exported graph")
_SAMPLER = "a random sampler ONNX has no op for: draw the values outside and feed them as an input"
_SOLVER = "a matrix decomposition or solver ONNX has no op for: compute it outside the graph"
_WRITE = "an in-place write: express it with np.where or concatenation in the forward"
NO_ONNX_MEANING = {
    **dict.fromkeys(("_npi_backward_ediff1d", "_npi_backward_nan_to_num", "_npi_backward_polyval",
                     "_npi_hsplit_backward"), _GRADIENT),
    **dict.fromkeys(("_npi_boolean_mask", "_npi_nonzero", "_npx_nonzero", "_npi_unique",
                     "_npi_bincount", "_npi_histogram", "_npi_delete", "_npi_insert_scalar",
                     "_npi_insert_slice", "_npi_insert_tensor"), _DATA_SHAPE),
    **dict.fromkeys(("_npi_bernoulli", "_npi_choice", "_npi_exponential", "_npi_gamma",
                     "_npi_gumbel", "_npi_logistic", "_npi_multinomial", "_npi_normal_n",
                     "_npi_uniform_n", "_npi_pareto", "_npi_rayleigh", "_npi_weibull",
                     "_npi_random_randint", "_npi_shuffle", "_npi_powerd"), _SAMPLER),
    **dict.fromkeys(("_npi_cholesky", "_npi_eig", "_npi_eigh", "_npi_eigvals", "_npi_eigvalsh",
                     "_npi_svd", "_npi_inv", "_npi_pinv", "_npi_pinv_scalar_rcond", "_npi_solve",
                     "_npi_tensorinv", "_npi_tensorsolve", "_npi_slogdet"), _SOLVER),
    **dict.fromkeys(("_npi_slice_assign", "_npi_slice_assign_scalar", "_npi_scatter_set_nd",
                     "_npi_boolean_mask_assign_scalar", "_npi_boolean_mask_assign_tensor",
                     "_npi_copyto"), _WRITE),
    **dict.fromkeys(("_npi_cvimdecode", "_npi_cvimread", "_npi_cvimresize"),
                    "image file decoding: decode and resize images before the graph"),
    **dict.fromkeys(tuple(f"_npx__image_random_{k}" for k in (
        "brightness", "color_jitter", "contrast", "flip_left_right", "flip_top_bottom", "hue",
        "lighting", "saturation")), "a training-time augmentation: leave it out of the inference graph"),
    "_npx_multibox_target": "a training-target op: leave it out of the inference graph",
    "_npx_gamma": "the gamma function has no ONNX op: compute it outside the graph",
    "_npx_gammaln": "log-gamma has no ONNX op: compute it outside the graph",
    "_npx_erfinv": "erfinv has no ONNX op: compute it outside the graph",
    "_npi_lcm": "integer lcm has no ONNX op: compute it outside the graph",
    "_npi_lcm_scalar": "integer lcm has no ONNX op: compute it outside the graph",
    "_npi_share_memory": "a question about buffers, not a computation: drop it from the forward",
    "_npx_constraint_check": "a run-time assertion: check the inputs before running the model",
    "_npi_Custom": "a Python-defined op: register your converter with "
                   "@export.onnx.register_converter('Custom:<op_type>') (docs/converters.md)",
}
