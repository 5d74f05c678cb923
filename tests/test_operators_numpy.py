"""Per-operator tests of the numpy interface: a one-op numpy-mode block (``F.np``/``F.npx``)
exported to a static and a dynamic-batch file, run in ONNX Runtime (the dynamic file also at
another batch) and compared with MXNet's numpy-mode result, at opsets 13 and the newest.
Each case also checks that the intended ``_np*`` op is what the block emits."""
import json
from pathlib import Path

import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import pytest
from mxnet import npx

from export import export_onnx
from export.onnx import MAX_OPSET, get_operator_support, numpy_interface_coverage
from export.onnx.ops.np_aliases import ALIASES
from export.blocks import block_symbol
from op_harness import OPSETS, SECOND_BATCH, Lambda, _ort, _rebatch, assert_close

RNG = np.random.RandomState(7)


@pytest.fixture(autouse=True)
def numpy_mode():
    RNG.seed(7)
    npx.set_np()
    yield
    npx.reset_np()


def randn(*shape):
    return RNG.randn(*(shape or (2, 3, 4))).astype(np.float32)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape or (2, 3, 4)).astype(np.float32)


def unit(*shape):
    return RNG.uniform(-0.9, 0.9, shape or (2, 3, 4)).astype(np.float32)


def ints(high, *shape, low=0, dtype=np.int32):
    return RNG.randint(low, high, shape or (2, 3, 4)).astype(dtype)


def _emitted_ops(block, count):
    return {n["op"] for n in json.loads(block_symbol(block, count).tojson())["nodes"]}


def check_np(fn, inputs, opset, tmp_path, op=None, dynamic=True, reference=None, allow_constant=False):
    """Export ``Lambda(fn)`` statically and with a dynamic batch (axis 0 of the first input);
    compare ORT with MXNet (or with ``reference(*inputs)`` where MXNet cannot run the op)."""
    block = Lambda(fn)
    if op:
        assert op in _emitted_ops(block, len(inputs)), f"{op} not emitted"
    hybridized = Lambda(fn)  # (int32 array + 1.5: int32 imperatively, float64 hybridized)
    hybridized.hybridize()
    names = ["data"] if len(inputs) == 1 else [f"data{i}" for i in range(len(inputs))]
    runs = [(False, inputs)]
    if dynamic:
        rebatched = _rebatch(inputs[0], SECOND_BATCH, np.random.RandomState(1))
        runs += [(True, inputs), (True, [rebatched] + list(inputs[1:]))]
    for i, (batch, feeds) in enumerate(runs):
        path = tmp_path / f"op_{opset}_{int(batch)}.onnx"
        if i < 2:
            export_onnx(block, path, input_shape=[x.shape for x in inputs], opset=opset,
                        input_dtype=[x.dtype for x in inputs],
                        dynamic_axes={names[0]: {0: "batch"}} if batch else {})
        if reference is None:  # the hybridized block: its dtypes can differ from the imperative
            refs = hybridized(*[mx.np.array(x, dtype=x.dtype) for x in feeds])
            refs = [r.asnumpy() for r in (refs if isinstance(refs, (list, tuple)) else [refs])]
        else:
            refs = [np.asarray(r) for r in reference(*feeds)]
        gots = _ort(path, dict(zip(names, feeds)))
        assert len(gots) == len(refs)
        for k, (got, ref) in enumerate(zip(gots, refs)):
            assert_close(got, ref, f"output {k} (opset {opset}, {'dynamic' if batch else 'static'}, "
                         f"batch {feeds[0].shape[0] if feeds[0].ndim else '-'})", allow_constant)


BINARY = [("add", "_npi_add"), ("subtract", "_npi_subtract"), ("multiply", "_npi_multiply"),
          ("true_divide", "_npi_true_divide"), ("mod", "_npi_mod"), ("power", "_npi_power"),
          ("hypot", "_npi_hypot"), ("maximum", "broadcast_maximum"), ("minimum", "broadcast_minimum"),
          ("arctan2", "_npi_arctan2"), ("copysign", "_npi_copysign"), ("ldexp", "_npi_ldexp"),
          ("equal", "_npi_equal"), ("not_equal", "_npi_not_equal"), ("greater", "_npi_greater"),
          ("greater_equal", "_npi_greater_equal"), ("less", "_npi_less"), ("less_equal", "_npi_less_equal")]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,op", BINARY, ids=[b[0] for b in BINARY])
def test_binary_broadcasts_like_numpy(name, op, opset, tmp_path):
    a, b = randn(), randn(3, 1)
    if name in ("power", "ldexp"):
        a = positive()
    if "equal" in name or "greater" in name or "less" in name:
        a, b = np.round(a), np.round(b)
    if name == "ldexp":
        b = np.round(b * 2)
    check_np(lambda F, x, y: getattr(F.np, name)(x, y), [a, b], opset, tmp_path, op)


MIXED = [("add", ints(5), randn(3, 4)), ("true_divide", ints(9, low=1), ints(4, low=1, *(3, 4))),
         ("multiply", ints(5, dtype=np.int64), ints(5, *(3, 4))), ("greater", ints(3), ints(3, *(3, 4))),
         ("subtract", ints(9), ints(9, *(3, 4)))]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("case", MIXED, ids=[f"{m[0]}_{m[1].dtype}_{m[2].dtype}" for m in MIXED])
def test_binary_promotes_dtypes_like_numpy_mode(case, opset, tmp_path):
    name, a, b = case
    check_np(lambda F, x, y: getattr(F.np, name)(x, y), [a, b], opset, tmp_path)


SCALAR = {
    "_npi_add_scalar": lambda x: x + 1.5, "_npi_subtract_scalar": lambda x: x - 1.5,
    "_npi_rsubtract_scalar": lambda x: 1.5 - x, "_npi_multiply_scalar": lambda x: x * 1.5,
    "_npi_true_divide_scalar": lambda x: x / 1.5, "_npi_rtrue_divide_scalar": lambda x: 1.5 / x,
    "_npi_mod_scalar": lambda x: x % 1.5, "_npi_rmod_scalar": lambda x: 1.5 % x,
    "_npi_power_scalar": lambda x: x ** 1.5, "_npi_rpower_scalar": lambda x: 1.5 ** x,
    "_npi_equal_scalar": lambda x: x == 2.0, "_npi_not_equal_scalar": lambda x: x != 2.0,
    "_npi_greater_scalar": lambda x: x > 2.0, "_npi_greater_equal_scalar": lambda x: x >= 2.0,
    "_npi_less_scalar": lambda x: x < 2.0, "_npi_less_equal_scalar": lambda x: x <= 2.0,
}
SCALAR_NP = {"_maximum_scalar": ("maximum", 0.5), "_minimum_scalar": ("minimum", 0.5),
             "_hypot_scalar": ("hypot", 1.5), "_npi_arctan2_scalar": ("arctan2", 1.5),
             "_npi_copysign_scalar": ("copysign", -1.0), "_npi_ldexp_scalar": ("ldexp", 2.0)}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op", sorted(SCALAR))
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_scalar_forms_keep_the_hybridized_dtype(op, dtype, opset, tmp_path):
    x = positive() * 2 if dtype == "float32" else ints(5, low=1)
    if "equal" in op:
        x = np.round(x)
    if op == "_npi_rpower_scalar" and dtype == "int32":
        x = ints(4)
    check_np(lambda F, v: SCALAR[op](v), [x], opset, tmp_path, op)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op", sorted(SCALAR_NP))
def test_scalar_functions(op, opset, tmp_path):
    name, scalar = SCALAR_NP[op]
    # MXNet 1.9.1 cannot hybridize copysign's scalar forms (a gradient-graph error): numpy's
    ref = (lambda order: lambda v: [np.copysign(*order(v))]) if name == "copysign" else None
    check_np(lambda F, v: getattr(F.np, name)(v, scalar), [randn()], opset, tmp_path, op,
             reference=ref and ref(lambda v: (v, scalar)))
    if op.startswith("_npi_"):
        check_np(lambda F, v: getattr(F.np, name)(scalar, v), [randn()], opset, tmp_path,
                 "_npi_r" + op[len("_npi_"):], reference=ref and ref(lambda v: (scalar, v)))


UNARY = [(n, f) for n, f in [
    ("absolute", randn), ("arccos", lambda: unit()),
    ("arccosh", lambda: positive() + 1), ("arcsin", lambda: unit()),
    ("arcsinh", randn), ("arctan", randn), ("arctanh", lambda: unit()),
    ("cbrt", randn), ("ceil", lambda: randn() * 3), ("cos", randn), ("cosh", randn), ("degrees", randn),
    ("exp", randn), ("expm1", randn), ("fix", lambda: randn() * 3), ("floor", lambda: randn() * 3),
    ("log", positive), ("log10", positive), ("log1p", positive), ("log2", positive), ("negative", randn),
    ("radians", randn), ("reciprocal", positive), ("rint", lambda: np.round(randn() * 4) / 2),
    ("sign", randn), ("sin", randn), ("sinh", randn), ("sqrt", positive), ("square", randn),
    ("tan", lambda: RNG.uniform(-1.2, 1.2, (2, 3, 4)).astype(np.float32)), ("tanh", randn),
    ("trunc", lambda: randn() * 3), ("logical_not", lambda: ints(2).astype(np.float32)),
    ("around", lambda: np.round(randn() * 4) / 2)]]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,make", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, make, opset, tmp_path):
    op = "_npi_absolute" if name == "absolute" else f"_npi_{name}"
    check_np(lambda F, x: getattr(F.np, name)(x), [make()], opset, tmp_path, op)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", ["exp", "sqrt", "floor", "negative", "square", "absolute"])
def test_unary_on_integers_keeps_mxnets_integer_result(name, opset, tmp_path):
    check_np(lambda F, x: getattr(F.np, name)(x), [ints(5, low=1)], opset, tmp_path)


SPECIAL = np.array([[np.nan, np.inf, -np.inf, 1.5], [-2.0, 0.0, 3.0, np.nan]], np.float32)
TESTS = [("isnan", lambda F, x: F.np.isnan(x)), ("isinf", lambda F, x: F.np.isinf(x)),
         ("isposinf", lambda F, x: F.np.isposinf(x)), ("isneginf", lambda F, x: F.np.isneginf(x)),
         ("isfinite", lambda F, x: F.np.isfinite(x)),
         ("nan_to_num", lambda F, x: F.np.nan_to_num(x, nan=-7.0, posinf=9.0, neginf=-9.0)),
         ("around_1", lambda F, x: F.np.around(F.np.nan_to_num(x, posinf=5, neginf=-5) * 1.37, 1)),
         ("relu", lambda F, x: F.npx.relu(F.np.nan_to_num(x))),
         ("sigmoid", lambda F, x: F.npx.sigmoid(F.np.nan_to_num(x)))]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn", TESTS, ids=[t[0] for t in TESTS])
def test_value_tests_and_nan_to_num(name, fn, opset, tmp_path):
    check_np(fn, [SPECIAL], opset, tmp_path)


def test_bitwise_ops_need_opset_18_for_integers(tmp_path):
    a, b = ints(16), ints(16, *(3, 4))
    check_np(lambda F, x, y: F.np.bitwise_xor(F.np.bitwise_or(F.np.bitwise_and(x, y), 5), y), [a, b],
             MAX_OPSET, tmp_path)
    check_np(lambda F, x: F.np.bitwise_and(F.np.bitwise_not(x > 7), x < 12), [a], 13, tmp_path)
    with pytest.raises(NotImplementedError, match="opset >= 18"):
        export_onnx(Lambda(lambda F, x, y: F.np.bitwise_and(x, y)), tmp_path / "b.onnx",
                    input_shape=[a.shape, b.shape], input_dtype=["int32", "int32"], opset=13,
                    dynamic_batch=False)


PADS = ((0, 0), (1, 2), (2, 1))
SHAPE = [
    ("np_reshape", lambda F, x: F.np.reshape(x, (-1, 4)), (2, 3, 4), "_np_reshape"),
    ("np_reshape_0d", lambda F, x: F.np.reshape(x[:, :1, :1], (-1,)).sum() * x, (2, 3, 4), "_np_reshape"),
    ("npx_reshape_copy_infer", lambda F, x: F.npx.reshape(x, (-2, -1)), (2, 3, 4), "_npx_reshape"),
    ("npx_reshape_merge", lambda F, x: F.npx.reshape(x, (-5, -2)), (2, 3, 4), "_npx_reshape"),
    ("npx_reshape_split", lambda F, x: F.npx.reshape(x, (-2, -6, 2, -1, -2)), (2, 4, 3), "_npx_reshape"),
    ("npx_reshape_drop_one", lambda F, x: F.npx.reshape(x, (-2, -3, -4)), (2, 1, 3, 4), "_npx_reshape"),
    ("npx_reshape_rest", lambda F, x: F.npx.reshape(x, (-2, 12)), (2, 3, 4), "_npx_reshape"),
    ("npx_reshape_reverse", lambda F, x: F.npx.reshape(x, (-4, -5), reverse=True), (2, 3, 4), "_npx_reshape"),
    ("transpose_none", lambda F, x: F.np.transpose(x) * 1, (2, 3, 4), "_np_transpose"),
    ("transpose_axes", lambda F, x: F.np.transpose(x, (0, 2, 1)), (2, 3, 4), "_np_transpose"),
    ("squeeze_all", lambda F, x: F.np.squeeze(x), (2, 1, 3, 1), "_np_squeeze"),
    ("squeeze_axis", lambda F, x: F.np.squeeze(x, axis=3), (2, 1, 3, 1), "_np_squeeze"),
    ("concatenate", lambda F, x: F.np.concatenate([x, x * 2], axis=-1), (2, 3, 4), "_npi_concatenate"),
    ("concatenate_none", lambda F, x: F.np.concatenate([x, x[:, :1] * 2], axis=None), (2, 3, 4),
     "_npi_concatenate"),
    ("stack", lambda F, x: F.np.stack([x, x + 1], axis=2), (2, 3, 4), "_npi_stack"),
    ("split_sections", lambda F, x: F.np.split(x, 2, axis=2), (2, 3, 4), "_split_v2"),
    ("split_indices", lambda F, x: F.np.split(x, [1, 2], axis=1), (2, 3, 4), "_split_v2"),
    ("vstack", lambda F, x: F.np.vstack([x, x * 2]), (2, 3, 4), "_npi_vstack"),
    ("moveaxis", lambda F, x: F.np.moveaxis(x, [0, 2], [2, 0]), (2, 3, 4), "_np_moveaxis"),
    ("roll_axis", lambda F, x: F.np.roll(x, 2, axis=2), (2, 3, 4), "_np_roll"),
    ("roll_axes", lambda F, x: F.np.roll(x, (1, -1), axis=(1, 2)), (2, 3, 4), "_np_roll"),
    ("flip", lambda F, x: F.np.flip(x, axis=(1, 2)), (2, 3, 4), "_npi_flip"),
    ("atleast_3d", lambda F, x: F.np.atleast_3d(x, x[0]), (2, 3), "_np_atleast_3d"),
    ("atleast_2d", lambda F, x: F.np.atleast_2d(x, x[0, 0]), (2, 3), "_np_atleast_2d"),
    ("atleast_1d", lambda F, x: F.np.atleast_1d(x, x[0, 0]), (2, 3), "_np_atleast_1d"),
    ("tril", lambda F, x: F.np.tril(x, -1), (2, 4, 4), "_npi_tril"),
    ("pad_constant", lambda F, x: F.np.pad(x, PADS, constant_values=3), (2, 3, 4), "_npi_pad"),
    ("pad_edge", lambda F, x: F.np.pad(x, PADS, mode="edge"), (2, 3, 4), "_npi_pad"),
    ("pad_reflect", lambda F, x: F.np.pad(x, PADS, mode="reflect"), (2, 3, 4), "_npi_pad"),
    ("diff", lambda F, x: F.np.diff(x, n=2, axis=2), (2, 3, 4), "_npi_diff"),
    ("diagonal", lambda F, x: F.np.diagonal(x, 1, 1, 2), (2, 3, 4), "_np_diagonal"),
    ("trace", lambda F, x: F.np.trace(x, -1, 1, 2), (2, 3, 4), "_np_trace"),
    ("rot90", lambda F, x: F.np.rot90(x, 1, (1, 2)), (2, 3, 4), "_npi_rot90"),
    ("rot90_2", lambda F, x: F.np.rot90(x, 2, (1, 2)), (2, 3, 4), "_npi_rot90"),
    ("rot90_3", lambda F, x: F.np.rot90(x, 3, (1, 2)), (2, 3, 4), "_npi_rot90"),
    ("swapaxes", lambda F, x: F.np.swapaxes(x, 1, 2), (2, 3, 4), "SwapAxis"),
    ("expand_dims", lambda F, x: F.np.expand_dims(x, 1), (2, 3, 4), "expand_dims"),
    ("tile", lambda F, x: F.np.tile(x, (1, 2)), (2, 3, 4), "tile"),
    ("repeat", lambda F, x: F.np.repeat(x, 2, axis=1), (2, 3, 4), "repeat"),
    ("copy", lambda F, x: F.np.copy(x) + 0, (2, 3, 4), "_np_copy"),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn,shape,op", SHAPE, ids=[s[0] for s in SHAPE])
def test_shape_ops(name, fn, shape, op, opset, tmp_path):
    check_np(fn, [randn(*shape)], opset, tmp_path, op)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn", [("diag_1d", lambda F, x: F.np.diag(x, 1)),
                                     ("diag_2d", lambda F, x: F.np.diag(x * 1, -1)),
                                     ("diagflat", lambda F, x: F.np.diagflat(x, -1)),
                                     ("broadcast_to", lambda F, x: F.np.broadcast_to(x[:, :1], (3, 5)))])
def test_diag_of_a_static_array(name, fn, opset, tmp_path):
    x = randn(4) if name == "diag_1d" else randn(3, 4)
    check_np(fn, [x], opset, tmp_path, dynamic=False)


REDUCE = [
    ("sum_all", lambda F, x: F.np.sum(x) * x, "_np_sum"),
    ("sum_axis_keepdims", lambda F, x: F.np.sum(x, axis=(1, 2), keepdims=True), "_np_sum"),
    ("sum_dtype", lambda F, x: F.np.sum(x, axis=1, dtype="float64"), "_np_sum"),
    ("prod_axis", lambda F, x: F.np.prod(x, axis=-1), "_np_prod"),
    ("max_axis", lambda F, x: F.np.max(x, axis=1), "_np_max"),
    ("max_all_keepdims", lambda F, x: F.np.max(x, keepdims=True) + x, "_np_max"),
    ("min_axis", lambda F, x: F.np.min(x, axis=(0, 2)), "_np_min"),
    ("mean_all", lambda F, x: F.np.mean(x) - x, "_npi_mean"),
    ("mean_axis", lambda F, x: F.np.mean(x, axis=2, keepdims=True), "_npi_mean"),
    ("all", lambda F, x: F.np.all(x > -1, axis=2), "_np_all"),
    ("any", lambda F, x: F.np.any(x > 1, axis=1), "_np_any"),
    ("argmax_axis", lambda F, x: F.np.argmax(x, axis=1), "_npi_argmax"),
    ("argmin_all", lambda F, x: F.np.argmin(x) + F.np.argmax(x, axis=2), "_npi_argmin"),
    ("std", lambda F, x: F.np.std(x, axis=(1, 2)), "_npi_std"),
    ("var_ddof", lambda F, x: F.np.var(x, axis=2, ddof=1, keepdims=True), "_npi_var"),
    ("norm_all", lambda F, x: F.np.linalg.norm(x) * x, "_npi_norm"),
    ("norm_axis_1", lambda F, x: F.np.linalg.norm(x, ord=1, axis=2), "_npi_norm"),
    ("norm_axis_3", lambda F, x: F.np.linalg.norm(x, ord=3, axis=1, keepdims=True), "_npi_norm"),
    ("norm_fro", lambda F, x: F.np.linalg.norm(x, axis=(1, 2)), "_npi_norm"),
    ("cumsum", lambda F, x: F.np.cumsum(x, axis=2), "_np_cumsum"),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn,op", REDUCE, ids=[r[0] for r in REDUCE])
def test_reductions(name, fn, op, opset, tmp_path):
    check_np(fn, [randn()], opset, tmp_path, op)


@pytest.mark.parametrize("opset", OPSETS)
def test_mean_of_integers_is_float(opset, tmp_path):
    check_np(lambda F, x: F.np.mean(x, axis=1), [ints(9)], opset, tmp_path, "_npi_mean")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", ["sum", "max", "min", "prod"])
def test_initial_takes_numpys_meaning(name, opset, tmp_path):
    """MXNet 1.9.1 parses ``initial`` but refuses to run it: numpy is the reference."""
    x = randn()
    check_np(lambda F, v: getattr(F.np, name)(v, axis=2, initial=0.5), [x], opset, tmp_path,
             reference=lambda v: [getattr(np, name)(v, axis=2, initial=0.5)])


CREATE = [
    ("zeros", lambda F, x: x + F.np.zeros((3, 4)), "_npi_zeros"),
    ("ones", lambda F, x: x * F.np.ones((4,), dtype="float32"), "_npi_ones"),
    ("full", lambda F, x: x - F.np.full((3, 1), 2.5), "_full"),
    ("full_like", lambda F, x: F.np.full_like(x, 3.0) * x, "_npi_full_like"),
    ("arange", lambda F, x: x * F.np.arange(2, 6), "_npi_arange"),
    ("arange_step", lambda F, x: x + F.np.arange(0.5, 2.4, 0.5, dtype="float32"), "_npi_arange"),
    ("eye", lambda F, x: F.np.matmul(x, F.np.eye(4, 4, k=1)), "_npi_eye"),
    ("identity", lambda F, x: F.np.matmul(x, F.np.identity(4)) + x, "_npi_identity"),
    ("linspace", lambda F, x: x * F.np.linspace(-1, 1, 4), "_linspace"),
    ("logspace", lambda F, x: x * F.np.logspace(0, 1, 4), "_npi_logspace"),
    ("hanning", lambda F, x: x * F.np.hanning(4), "_npi_hanning"),
    ("hamming", lambda F, x: x * F.np.hamming(4), "_npi_hamming"),
    ("blackman", lambda F, x: x * F.np.blackman(4), "_npi_blackman"),
    ("indices", lambda F, x: x + F.np.indices((3, 4))[1].astype("float32"), "_npi_indices"),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn,op", CREATE, ids=[c[0] for c in CREATE])
def test_creation(name, fn, op, opset, tmp_path):
    check_np(fn, [randn()], opset, tmp_path, op)


WHERE = [
    ("where", lambda F, x, y: F.np.where(x > 0, x, y), "_npi_where"),
    ("where_lscalar", lambda F, x, y: F.np.where(x > 0, 2.5, y), "_npi_where_lscalar"),
    ("where_rscalar", lambda F, x, y: F.np.where(x > 0, x, -1.5) + y, "_npi_where_rscalar"),
    ("where_scalar2", lambda F, x, y: F.np.where(x > 0, 1.0, -1.0) * y, "_npi_where_scalar2"),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn,op", WHERE, ids=[w[0] for w in WHERE])
def test_where_forms(name, fn, op, opset, tmp_path):
    check_np(fn, [randn(), randn(3, 4)], opset, tmp_path, op)


LINALG = [
    ("matmul_broadcast", lambda F, a, b: F.np.matmul(a, b), (2, 3, 4), (4, 5), "_npi_matmul"),
    ("matmul_batched", lambda F, a, b: F.np.matmul(a, b), (2, 3, 4), (1, 4, 2), "_npi_matmul"),
    ("dot_2d", lambda F, a, b: F.np.dot(a, b), (2, 4), (4, 3), "_np_dot"),
    ("dot_nd_1d", lambda F, a, b: F.np.dot(a, b), (2, 3, 4), (4,), "_np_dot"),
    ("dot_nd_nd", lambda F, a, b: F.np.dot(a, b), (2, 3, 4), (5, 4, 2), "_np_dot"),
    ("tensordot_int", lambda F, a, b: F.np.tensordot(a, b, 2), (2, 3, 4), (3, 4, 5),
     "_npi_tensordot_int_axes"),
    ("tensordot_axes", lambda F, a, b: F.np.tensordot(a, b, ((1, 2), (1, 0))), (2, 3, 4), (4, 3, 5),
     "_npi_tensordot"),
    ("einsum", lambda F, a, b: F.np.einsum("bij,jk->bik", a, b), (2, 3, 4), (4, 5), "_npi_einsum"),
    ("einsum_implicit", lambda F, a, b: F.np.einsum("bij,kj", a, b), (2, 3, 4), (5, 4), "_npi_einsum"),
    ("einsum_ellipsis", lambda F, a, b: F.np.einsum("...ij,jk->...ik", a, b), (2, 3, 4), (4, 2),
     "_npi_einsum"),
    ("batch_dot", lambda F, a, b: F.npx.batch_dot(a, b, transpose_b=True), (2, 3, 4), (2, 5, 4), "batch_dot"),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn,sa,sb,op", LINALG, ids=[c[0] for c in LINALG])
def test_linear_algebra(name, fn, sa, sb, op, opset, tmp_path):
    check_np(fn, [randn(*sa), randn(*sb)], opset, tmp_path, op, dynamic=name != "batch_dot")


NPX = [
    ("softmax", lambda F, x: F.npx.softmax(x, axis=1)), ("log_softmax", lambda F, x: F.npx.log_softmax(x)),
    ("activation", lambda F, x: F.npx.activation(x, act_type="softrelu")),
    ("leaky_relu", lambda F, x: F.npx.leaky_relu(x, slope=0.2)),
    ("layer_norm", lambda F, x: F.npx.layer_norm(x, F.np.ones((4,)) * 1.5, F.np.ones((4,)) * 0.2)),
    ("one_hot", lambda F, x: F.npx.one_hot(x, 5)),
    ("pick", lambda F, x: F.npx.pick(x, F.np.zeros((2, 4)), axis=1)),
    ("topk", lambda F, x: F.npx.topk(x, k=2, ret_typ="value")),
    ("sequence_mask", lambda F, x: F.npx.sequence_mask(x, F.np.full((2,), 2.0), use_sequence_length=True,
                                                     value=-2.0, axis=1)),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn", NPX, ids=[n[0] for n in NPX])
def test_npx_ops_share_the_legacy_converters(name, fn, opset, tmp_path):
    x = ints(5, 2, 3).astype(np.float32) if name == "one_hot" else randn()
    check_np(fn, [x], opset, tmp_path, dynamic=name not in ("pick", "sequence_mask"))


def test_every_alias_shares_its_targets_converter():
    for name, target in ALIASES.items():
        assert get_operator_support()[name] == get_operator_support()[target], name


TWO_INPUT_SHAPES = [
    ("hstack", lambda F, x, y: F.np.hstack([x, y]), (2, 3, 4), (2, 5, 4)),
    ("hstack_1d", lambda F, x, y: F.np.hstack([x, y]), (3,), (2,)),
    ("dstack", lambda F, x, y: F.np.dstack([x, y]), (2, 3), (2, 3)),
    ("dstack_3d", lambda F, x, y: F.np.dstack([x, y]), (2, 3, 1), (2, 3, 2)),
    ("column_stack", lambda F, x, y: F.np.column_stack([x, y]), (2, 3), (2,)),
    ("column_stack_2d", lambda F, x, y: F.np.column_stack([x, y]), (2, 3), (2, 2)),
    ("vstack_1d", lambda F, x, y: F.np.vstack([x, y]), (3,), (3,)),
    ("polyval", lambda F, p, x: F.np.polyval(p, x), (4,), (2, 3)),
    ("average_weighted", lambda F, x, w: F.np.average(x, axis=1, weights=w), (2, 3, 4), (3,)),
    ("average_returned", lambda F, x, w: F.np.average(x, axis=2, weights=w, returned=True),
     (2, 3, 4), (2, 3, 4)),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn,sa,sb", TWO_INPUT_SHAPES, ids=[c[0] for c in TWO_INPUT_SHAPES])
def test_stacking_and_numeric_routines_of_two_static_inputs(name, fn, sa, sb, opset, tmp_path):
    check_np(fn, [randn(*sa), positive(*sb)], opset, tmp_path, dynamic=False)


ONE_INPUT = [
    ("average", lambda F, x: F.np.average(x, axis=1), "_npi_average"),
    ("percentile_linear", lambda F, x: F.np.percentile(x, 30, axis=2), "_npi_percentile"),
    ("percentile_lower", lambda F, x: F.np.percentile(x, 40, axis=1, interpolation="lower"),
     "_npi_percentile"),
    ("percentile_higher", lambda F, x: F.np.percentile(x, 40, axis=1, interpolation="higher"),
     "_npi_percentile"),
    ("percentile_midpoint", lambda F, x: F.np.percentile(x, 40, axis=2, interpolation="midpoint",
                                                          keepdims=True), "_npi_percentile"),
    ("percentile_nearest", lambda F, x: F.np.percentile(x, 60, axis=2, interpolation="nearest"),
     "_npi_percentile"),
    ("ediff1d", lambda F, x: F.np.ediff1d(x, to_begin=1.5, to_end=-2.0), "_npi_ediff1d"),
    ("hsplit", lambda F, x: F.np.hsplit(x, 3), "_npi_hsplit"),
    ("dsplit", lambda F, x: F.np.dsplit(x, [1, 3]), "_npi_dsplit"),
    ("diag_indices_from",
     lambda F, x: x[:, :3, :3] + F.np.diag_indices_from(x[0, :3, :3])[0].astype("float32"),
     "_npi_diag_indices_from"),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn,op", ONE_INPUT, ids=[c[0] for c in ONE_INPUT])
def test_numeric_routines(name, fn, op, opset, tmp_path):
    check_np(fn, [randn()], opset, tmp_path, op, dynamic=name != "ediff1d")


IMAGE = [("to_tensor", lambda F, x: F.npx.image.to_tensor(x)),
         ("normalize", lambda F, x: F.npx.image.normalize(F.npx.image.to_tensor(x), mean=(0.1, 0.2, 0.3),
                                                          std=(0.5, 1.0, 2.0))),
         ("flip_left_right", lambda F, x: F.npx.image.flip_left_right(x)),
         ("flip_top_bottom", lambda F, x: F.npx.image.flip_top_bottom(x)),
         ("crop", lambda F, x: F.npx.image.crop(x, 1, 2, 3, 2)),
         ("adjust_lighting", lambda F, x: F.npx.image.adjust_lighting(x, alpha=(0.1, -0.2, 0.3))),
         ("resize_linear", lambda F, x: F.npx.image.resize(x, size=(9, 7))),
         ("resize_nearest", lambda F, x: F.npx.image.resize(x, size=(3, 4), interp=0)),
         ("resize_cubic", lambda F, x: F.npx.image.resize(x, size=(8, 3), interp=2)),
         ("resize_short_side", lambda F, x: F.npx.image.resize(x, size=4, keep_ratio=True))]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn", IMAGE, ids=[c[0] for c in IMAGE])
def test_image_tensor_ops(name, fn, opset, tmp_path):
    if name.startswith(("flip", "adjust", "resize")):  # one HWC image only; an even height: MXNet 1.9.1's
        # flip_top_bottom zeroes the middle row of an odd one (ours flips it as numpy does)
        check_np(fn, [ints(256, 4, 6, 3).astype(np.float32)], opset, tmp_path, dynamic=False)
    else:
        check_np(fn, [ints(256, 2, 5, 6, 3).astype(np.float32)], opset, tmp_path)


NOT_COVERED = {}  # ops with an ONNX meaning that stay unconverted, and why


@pytest.mark.parametrize("opset", OPSETS)
def test_numpy_interface_coverage_is_what_the_readme_says(opset):
    cov = numpy_interface_coverage(opset)
    assert cov["not_covered"] == sorted(NOT_COVERED)
    assert cov["registered"] == cov["with_onnx_meaning"] + len(cov["no_onnx_meaning"])
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert (f"Of the {cov['registered']} `_np*` ops MXNet 1.9.1 registers, {cov['with_onnx_meaning']} "
            f"have an ONNX meaning, of which {cov['covered']} convert") in " ".join(readme.split())


@pytest.mark.parametrize("opset", (13, 21))  # ORT has no kernels for opset 22's random ops
def test_samplers_draw_the_shape_dtype_and_range(opset, tmp_path):
    block = Lambda(lambda F, x: (x + F.np.random.uniform(2.0, 3.0, size=(3, 4)),
                                 F.np.random.normal(1.0, 0.1, size=(500,))))
    assert {"_npi_uniform", "_npi_normal"} <= _emitted_ops(block, 1)
    path = export_onnx(block, tmp_path / "r.onnx", input_shape=(2, 3, 4), opset=opset, dynamic_batch=False)
    uniform, normal = _ort(path, {"data": np.zeros((2, 3, 4), np.float32)})
    assert uniform.shape == (2, 3, 4) and uniform.dtype == np.float32 and normal.dtype == np.float32
    assert 2.0 <= uniform.min() and uniform.max() < 3.0 and np.ptp(uniform) > 0.1
    assert abs(normal.mean() - 1.0) < 0.03 and 0.07 < normal.std() < 0.13


def _weights(F, *shape):
    """A constant, non-trivial weight tensor built in the graph."""
    size = int(np.prod(shape))
    return F.np.sin(F.np.arange(size).astype("float32")).reshape(shape)


# (npx.batch_norm needs variables for its running statistics: the numpy nets test it)
NPX_LAYERS = [
    ("embedding", lambda F, x: F.npx.embedding(x, _weights(F, 7, 3), 7, 3), "ids"),
    ("fully_connected", lambda F, x: F.npx.fully_connected(x, _weights(F, 5, 12), F.np.ones((5,)),
                                                            num_hidden=5), (2, 3, 4)),
    ("convolution", lambda F, x: F.npx.convolution(x, _weights(F, 4, 3, 3, 3), F.np.ones((4,)), kernel=(3, 3),
                                                   num_filter=4, pad=(1, 1)), (2, 3, 5, 5)),
    ("pooling", lambda F, x: F.npx.pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="avg"), (2, 3, 4, 4)),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name,fn,shape", NPX_LAYERS, ids=[c[0] for c in NPX_LAYERS])
def test_npx_layers_with_weights_computed_in_the_graph(name, fn, shape, opset, tmp_path):
    x = ints(7, 2, 5, dtype=np.int64) if shape == "ids" else randn(*shape)
    check_np(fn, [x], opset, tmp_path)
