"""Per-operator test harness: export one MXNet op, run it in ONNX Runtime, compare with MXNet.

``check_symbol`` exports a ``(Symbol, params)`` pair (symbol inputs missing from ``params``
become ONNX graph inputs: the "weights as inputs" case); ``check_block`` exports a HybridBlock
(weights as Gluon Parameters, i.e. initializers). Both compare every output at the export
batch and, through the same dynamic-batch file, at a second batch size.
"""
import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import onnxruntime as ort
from mxnet.gluon import HybridBlock

from export import export_onnx
from export.onnx import MAX_OPSET, MIN_OPSET
from export.inputs import data_inputs

OPSETS = (MIN_OPSET, MAX_OPSET)
SECOND_BATCH = 3


class Lambda(HybridBlock):
    """A one-op block: ``Lambda(lambda F, x: F.op(x, **attrs))``."""

    def __init__(self, fn, **kwargs):
        super().__init__(**kwargs)
        self._fn = fn

    def hybrid_forward(self, F, *xs):
        return self._fn(F, *xs)


def tolerance(ref):
    return 1e-4 * max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)


def assert_close(got, ref, what, allow_constant=False):
    assert got.shape == ref.shape, f"{what}: ONNX shape {got.shape} != MXNet {ref.shape}"
    assert got.dtype == ref.dtype, f"{what}: ONNX dtype {got.dtype} != MXNet {ref.dtype}"
    if not allow_constant and ref.size > 1:
        assert np.ptp(ref.astype(np.float64)) > 0, f"{what}: degenerate (constant) reference output"
    err = float(np.abs(got.astype(np.float64) - ref.astype(np.float64)).max()) if ref.size else 0.0
    assert err <= tolerance(ref), f"{what}: max |ONNX - MXNet| = {err:.3g} > {tolerance(ref):.3g}"


def _rebatch(array, batch, rng):
    """``array`` with its batch axis (0) resized to ``batch``: each new row is a shuffled
    existing row, so values stay in the op's domain (e.g. positive for log) and no new ties
    appear within a row (which would make sort orders ambiguous)."""
    rows = [rng.permutation(array[i % array.shape[0]].ravel()) for i in range(batch)]
    return np.stack(rows).reshape((batch,) + array.shape[1:]).astype(array.dtype)


def _ort(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert set(names) == set(feeds), f"ONNX inputs {names} != fed {sorted(feeds)}"
    return session.run(None, feeds)


def _runtime(feeds, names):
    return {n: v for n, v in feeds.items() if n in names}


def _symbol_outputs(sym, arrays, compute_dtype=None):
    """MXNet's outputs; ``compute_dtype`` runs the op in another dtype (cast back after)."""
    if compute_dtype is not None:
        out_dtypes = sym.infer_type(**{n: v.dtype for n, v in arrays.items()})[1]
        cast = {n: v.astype(compute_dtype) for n, v in arrays.items()}
        return [o.astype(t) for o, t in zip(_symbol_outputs(sym, cast), out_dtypes)]
    args = {n: mx.nd.array(arrays[n], dtype=arrays[n].dtype) for n in sym.list_arguments()}
    aux = {n: mx.nd.array(arrays[n], dtype=arrays[n].dtype) for n in sym.list_auxiliary_states()}
    return [o.asnumpy() for o in sym.bind(mx.cpu(), args=args, aux_states=aux).forward()]


def check_symbol(sym, inputs, params=None, opset=MIN_OPSET, tmp_path=None, batched=("data",),
                 allow_constant=False, compute_dtype=None):
    """Export ``(sym, params)``, compare ORT with MXNet; returns the ONNX path.

    ``inputs``: run-time inputs (name -> numpy); ``batched``: those whose axis 0 is the batch
    (re-sized for the second-batch check; the rest, e.g. weights fed as inputs, stay fixed).
    ``compute_dtype``: compute MXNet's reference in this dtype (where its float32 kernel fails).
    """
    params = params or {}
    path = tmp_path / f"{sym.name}_{opset}.onnx"
    batched = [n for n in batched if n in inputs]
    names = data_inputs(sym, params)  # training-head labels are not ONNX inputs
    export_onnx((sym, params), path, input_shape={n: inputs[n].shape for n in names},
                opset=opset, input_dtype={n: inputs[n].dtype for n in names},
                dynamic_batch={n: (0,) for n in batched if n in names})
    rng = np.random.RandomState(1)
    runs = [inputs]
    if batched:
        runs.append({n: _rebatch(v, SECOND_BATCH, rng) if n in batched else v for n, v in inputs.items()})
    for feeds in runs:
        refs = _symbol_outputs(sym, {**feeds, **params}, compute_dtype)
        gots = _ort(path, _runtime(feeds, names))
        assert len(gots) == len(refs)
        for i, (got, ref) in enumerate(zip(gots, refs)):
            assert_close(got, ref, f"{sym.name} output {i} (opset {opset}, batch "
                         f"{feeds[batched[0]].shape[0] if batched else '-'})", allow_constant)
    return path


def check_block(block, inputs, opset=MIN_OPSET, tmp_path=None, name="block", allow_constant=False):
    """Export a (one-op) HybridBlock, compare ORT with the imperative block; axis 0 is the batch."""
    path = tmp_path / f"{name}_{opset}.onnx"
    inputs = list(inputs)
    export_onnx(block, path, input_shape=[x.shape for x in inputs], opset=opset,
                input_dtype=[x.dtype for x in inputs])
    rng = np.random.RandomState(1)
    names = ["data"] if len(inputs) == 1 else [f"data{i}" for i in range(len(inputs))]
    for feeds in (inputs, [_rebatch(x, SECOND_BATCH, rng) for x in inputs]):
        refs = block(*[mx.nd.array(x, dtype=x.dtype) for x in feeds])
        refs = [r.asnumpy() for r in (refs if isinstance(refs, (list, tuple)) else [refs])]
        gots = _ort(path, dict(zip(names, feeds)))
        for i, (got, ref) in enumerate(zip(gots, refs)):
            assert_close(got, ref, f"{name} output {i} (opset {opset}, batch {feeds[0].shape[0]})",
                         allow_constant)
    return path


def check_dynamic(sym, make, sizes, dynamic_axes, params=None, opset=MIN_OPSET, tmp_path=None,
                  allow_constant=False, name=None):
    """Export ``(sym, params)`` once at ``sizes[0]`` with ``dynamic_axes`` (``{input: {axis:
    dim}}``), then compare ORT with MXNet at every entry of ``sizes`` (dicts of dim -> size;
    ``make(**sizes)`` returns the feeds) through that one file. Returns the ONNX path."""
    params = params or {}
    path = tmp_path / f"{name or sym.name}_{opset}.onnx"
    first = make(**sizes[0])
    names = data_inputs(sym, params)
    export_onnx((sym, params), path, input_shape={n: first[n].shape for n in names}, opset=opset,
                input_dtype={n: first[n].dtype for n in names}, dynamic_axes=dynamic_axes)
    for at in sizes:
        feeds = make(**at)
        refs = _symbol_outputs(sym, {**feeds, **params})
        gots = _ort(path, _runtime(feeds, names))
        assert len(gots) == len(refs)
        for i, (got, ref) in enumerate(zip(gots, refs)):
            assert_close(got, ref, f"{path.stem} output {i} at {at}", allow_constant)
    return path
