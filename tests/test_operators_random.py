"""Converter tests: random sampling ops (uniform, normal, their ``_like`` forms, multinomial).

ONNX Runtime's draws cannot equal MXNet's (another generator), so each test checks what a
user relies on: MXNet's shape and dtype, the support, the first two moments within six
standard errors of a large sample, fresh draws on every run of a session, and a dynamic batch.
"""
import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from export import export_onnx
from export.onnx import get_operator_support
from export.onnx import MAX_OPSET, MIN_OPSET
from tests.op_harness import _ort

RUNNABLE_OPSET = 21  # opset 22 re-versioned these ops; ONNX Runtime 1.32 has no kernel for them
OPSETS = (MIN_OPSET, RUNNABLE_OPSET)



N = 20000  # draws per check: the mean's standard error is 0.7 % of the spread


def _export(sym, shape, path, opset, dynamic=True):
    export_onnx((sym, {}), path, input_shape={"data": shape}, opset=opset,
                dynamic_batch={"data": (0,)} if dynamic else None)
    return path


def _mxnet_signature(sym, shape, dtype=np.float32):
    shapes = sym.infer_shape(data=shape)[1]
    dtypes = sym.infer_type(data=dtype)[1]
    return [(tuple(s), np.dtype(t)) for s, t in zip(shapes, dtypes)]


def _two_runs(path, feeds):
    """Two runs of one session: like MXNet within a process, each run draws afresh."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds), session.run(None, feeds)


def _assert_moments(x, mean, std, what):
    x = x.astype(np.float64).ravel()
    assert abs(x.mean() - mean) <= 6 * std / np.sqrt(x.size), f"{what}: mean {x.mean():.4f} != {mean}"
    assert abs(x.std() - std) <= 6 * std / np.sqrt(2 * x.size), f"{what}: std {x.std():.4f} != {std}"


@pytest.mark.parametrize("opset", OPSETS)
def test_uniform_and_normal_fixed_shape(opset, tmp_path):
    data = mx.sym.var("data")
    sym = mx.sym.Group([data + mx.sym.random.uniform(low=-2, high=3, shape=(2, N // 2)),
                        data * mx.sym.random.normal(loc=1.5, scale=0.5, shape=(2, N // 2))])
    x = np.ones((2, N // 2), np.float32)
    path = _export(sym, x.shape, tmp_path / "fixed.onnx", opset, dynamic=False)
    first, second = _two_runs(path, {"data": x})
    assert [(o.shape, o.dtype) for o in first] == _mxnet_signature(sym, x.shape)
    uniform, normal = first[0] - 1, first[1]
    assert uniform.min() >= -2 and uniform.max() < 3
    _assert_moments(uniform, 0.5, 5 / np.sqrt(12), "uniform(-2, 3)")
    _assert_moments(normal, 1.5, 0.5, "normal(1.5, 0.5)")
    assert not np.array_equal(first[0], second[0]), "a second run repeated the uniform draw"
    assert not np.array_equal(first[1], second[1]), "a second run repeated the normal draw"


@pytest.mark.parametrize("opset", OPSETS)
def test_sample_shape_follows_the_dynamic_batch(opset, tmp_path):
    """``shape=(0, C)``: MXNet infers the 0 from the consumer; the file must follow the batch."""
    data = mx.sym.var("data")
    sym = data + mx.sym.random.uniform(low=0, high=1, shape=(0, 1000))
    path = _export(sym, (4, 1000), tmp_path / "dynamic.onnx", opset)
    for batch in (4, 7):
        (got,) = _ort(path, {"data": np.zeros((batch, 1000), np.float32)})
        assert got.shape == (batch, 1000) and got.dtype == np.float32
        assert got.min() >= 0 and got.max() < 1
        _assert_moments(got, 0.5, 1 / np.sqrt(12), f"uniform at batch {batch}")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("op, params, mean, std", [
    ("uniform_like", {"low": 1.0, "high": 5.0}, 3.0, 4 / np.sqrt(12)),
    ("normal_like", {"loc": -1.0, "scale": 3.0}, -1.0, 3.0),
])
def test_like_forms_take_shape_and_dtype_from_data(op, params, mean, std, opset, tmp_path):
    sym = getattr(mx.sym.random, op)(mx.sym.var("data"), **params)
    path = _export(sym, (2, N // 2), tmp_path / f"{op}.onnx", opset)
    for batch in (2, 5):
        (got,) = _ort(path, {"data": np.zeros((batch, N // 2), np.float32)})
        assert got.shape == (batch, N // 2) and got.dtype == np.float32
        _assert_moments(got, mean, std, f"{op} at batch {batch}")


PROBS = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25], [0.0, 1.0, 0.0]], np.float32)


@pytest.mark.parametrize("opset", OPSETS)
def test_multinomial_frequencies_and_log_probabilities(opset, tmp_path):
    sym = mx.sym.sample_multinomial(mx.sym.var("data"), shape=(N // 4,), get_prob=True)
    path = _export(sym, PROBS.shape, tmp_path / "multinomial.onnx", opset)
    (samples, log_prob), (again, _) = _two_runs(path, {"data": PROBS})
    assert [(o.shape, o.dtype) for o in (samples, log_prob)] == _mxnet_signature(sym, PROBS.shape)
    for row, p in enumerate(PROBS):
        freq = np.bincount(samples[row], minlength=3) / samples.shape[1]
        bound = 6 * np.sqrt(p * (1 - p) / samples.shape[1]) + 1e-9
        assert np.all(np.abs(freq - p) <= bound), f"row {row}: frequencies {freq} != {p}"
    with np.errstate(divide="ignore"):
        expected = np.log(np.take_along_axis(PROBS, samples.astype(np.int64), axis=1))
    np.testing.assert_allclose(log_prob, expected, rtol=1e-6)
    assert not np.array_equal(samples, again), "a second run repeated the same draws"
    more = np.tile(PROBS, (2, 1))  # the dynamic batch
    samples, log_prob = _ort(path, {"data": more})
    assert samples.shape == log_prob.shape == (6, N // 4)
    assert np.all(samples[[2, 5]] == 1), "a one-hot row must always draw its class"


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("shape, dtype", [((), "int32"), ((2, 3), "float32"), ((4,), "uint8"),
                                          ((), "float64")])
def test_multinomial_shapes_and_dtypes_match_mxnet(shape, dtype, opset, tmp_path):
    sym = mx.sym.sample_multinomial(mx.sym.var("data"), shape=shape, dtype=dtype)
    path = _export(sym, PROBS.shape, tmp_path / "multinomial.onnx", opset)
    (got,) = _ort(path, {"data": PROBS})
    assert [(got.shape, got.dtype)] == _mxnet_signature(sym, PROBS.shape)
    assert np.all((got >= 0) & (got < 3)) and np.all(got[2] == 1)


@pytest.mark.parametrize("opset", OPSETS)
def test_multinomial_of_one_distribution(opset, tmp_path):
    """A 1-D ``data`` is one distribution: ``shape=()`` gives MXNet's (1,), ``shape=(k,)`` k draws."""
    p = np.array([0.2, 0.8], np.float32)
    for shape in ((), (N,)):
        sym = mx.sym.sample_multinomial(mx.sym.var("data"), shape=shape)
        export_onnx((sym, {}), tmp_path / "one.onnx", input_shape={"data": p.shape}, opset=opset)
        (got,) = _ort(tmp_path / "one.onnx", {"data": p})
        assert [(got.shape, got.dtype)] == _mxnet_signature(sym, p.shape)
        if shape:
            assert abs(got.mean() - 0.8) <= 6 * np.sqrt(0.16 / N)


@pytest.mark.parametrize("sym", [
    mx.sym.random.uniform(shape=(0, 3)) + mx.sym.var("data"),
    mx.sym.random.normal_like(mx.sym.var("data")),
    mx.sym.sample_multinomial(mx.sym.var("data")),
], ids=["uniform", "normal_like", "multinomial"])
def test_newer_opsets_write_valid_onnx_that_onnx_runtime_cannot_run_yet(sym, tmp_path):
    """docs/detectors.md says files at opsets 22-23 need opset <= 21 in ONNX Runtime: when a release
    adds the kernels this test fails, and docs/detectors.md and RUNNABLE_OPSET should follow."""
    path = tmp_path / "random.onnx"
    export_onnx((sym, {}), path, input_shape={"data": (2, 3)}, opset=MAX_OPSET)
    onnx.checker.check_model(str(path), full_check=True)
    with pytest.raises(Exception, match=r"NOT_IMPLEMENTED|Could not find an implementation"):
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_random_ops_are_listed_as_supported():
    support = get_operator_support()
    names = support if isinstance(support, (set, frozenset, list, tuple)) else set(support)
    for op in ("_random_uniform", "_random_normal", "_random_uniform_like",
               "_random_normal_like", "_sample_multinomial"):
        assert op in names, f"{op} is not in get_operator_support()"
