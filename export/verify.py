"""Run exported artifacts and measure how far they are from a reference (checks only: nothing
here exports; :mod:`export.agreement` exports and checks).

A *backend* is a function ``inputs (list of numpy arrays) -> outputs (list of numpy arrays)``;
``block_backend``, ``symbol_backend`` and ``onnx_backend`` make one from a net, a symbol
prefix and an ONNX file. ``compare`` runs each against the reference and reports the max abs
error, the tolerance ``1e-4 * max(1, max|ref|)``, pass/fail and the median latency.
"""
import os
import time
import warnings

import mxnet as mx
import numpy as np
import onnxruntime as ort

from .memory import release_memory
from .deploy.runtime import default_providers, session_options

RTOL = 1e-4


def default_context():
    return mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu()


def make_session(path, providers=None, threads=None):
    """An ONNX Runtime session on ``path`` (CUDA EP when available, else CPU)."""
    return ort.InferenceSession(str(path), sess_options=session_options(threads),
                                providers=providers or default_providers())


def reload_symbol(prefix, epoch=0, input_names=("data",), ctx=None):
    """``SymbolBlock.imports`` of ``prefix-symbol.json`` + ``prefix-NNNN.params``."""
    with warnings.catch_warnings():  # MXNet warns that the inputs have no declared type
        warnings.filterwarnings("ignore", "Cannot decide type for the following arguments", UserWarning)
        return mx.gluon.SymbolBlock.imports(f"{prefix}-symbol.json", list(input_names),
                                            f"{prefix}-{int(epoch):04d}.params",
                                            ctx=ctx or default_context())


def _as_list(outputs):
    if isinstance(outputs, (list, tuple)):
        return [o.asnumpy() for o in outputs]
    return [outputs.asnumpy()]


def block_backend(net, hybridize=None, ctx=None):
    """Run a Gluon block; ``hybridize`` True/False switches its mode first (None: leave it)."""
    ctx = ctx or default_context()

    def run(inputs):
        if hybridize is not None:
            net.hybridize(active=hybridize)
        return _as_list(net(*[mx.nd.array(x, ctx=ctx, dtype=x.dtype) for x in inputs]))
    return run


def symbol_backend(prefix, epoch=0, input_names=("data",), ctx=None):
    return block_backend(reload_symbol(prefix, epoch, input_names, ctx), ctx=ctx)


def executor_backend(sym, params, input_names, ctx=None):
    """Run ``sym`` as the Module API does at inference: bound to ``params`` (numpy) for each
    batch's shapes and dtypes; inputs the caller does not feed (training heads' labels, which
    inference ignores) get zeros of their inferred shape."""
    os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")  # not a log line per bind ("MKLDNN is activated")
    ctx = ctx or default_context()
    arrays = {k: mx.nd.array(v, ctx=ctx, dtype=v.dtype) for k, v in params.items()}
    aux_names, executors = sym.list_auxiliary_states(), {}

    def bind(inputs):
        feed = dict(zip(input_names, inputs))
        arg_shapes, _, _ = sym.infer_shape(**{n: x.shape for n, x in feed.items()})
        arg_types, _, _ = sym.infer_type(**{n: x.dtype for n, x in feed.items()})
        args = {n: arrays[n] if n in arrays else mx.nd.zeros(s, ctx=ctx, dtype=t)
                for n, s, t in zip(sym.list_arguments(), arg_shapes, arg_types)}
        return sym.bind(ctx, args=args, aux_states={n: arrays[n] for n in aux_names}, grad_req="null")

    def run(inputs):
        key = tuple((x.shape, x.dtype.str) for x in inputs)
        if key not in executors:
            executors.clear()  # one bound executor at a time
            executors[key] = bind(inputs)
        executor = executors[key]
        for name, x in zip(input_names, inputs):
            executor.arg_dict[name][:] = mx.nd.array(x, ctx=ctx, dtype=x.dtype)
        return _as_list(executor.forward(is_train=False))
    return run


def onnx_backend(path_or_session, providers=None, threads=None):
    session = path_or_session if isinstance(path_or_session, ort.InferenceSession) \
        else make_session(path_or_session, providers, threads)
    names = [i.name for i in session.get_inputs()]
    return lambda inputs: session.run(None, dict(zip(names, inputs)))


class Lazy:
    """A backend built on its first call and dropped by :meth:`close`: :func:`compare` closes
    each after use, so a check holds the weights of one reloaded backend at a time."""

    def __init__(self, make):
        self.make, self.backend = make, None

    def __call__(self, inputs):
        if self.backend is None:
            self.backend = self.make()
        return self.backend(inputs)

    def close(self):
        self.backend = None
        release_memory()


def tolerance(reference):
    return RTOL * max(1.0, max(float(np.abs(r).max()) for r in reference))


def max_error(reference, outputs):
    if len(reference) != len(outputs):
        return float("inf")
    if any(np.shape(r) != np.shape(o) for r, o in zip(reference, outputs)):
        return float("inf")
    return max(float(np.abs(np.asarray(r, np.float64) - np.asarray(o, np.float64)).max())
               for r, o in zip(reference, outputs))


def timed(backend, inputs, repeats=3):
    """``(outputs, median latency in ms)`` after one warm-up run."""
    outputs = backend(inputs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        backend(inputs)
        times.append((time.perf_counter() - start) * 1e3)
    return outputs, float(np.median(times)) if times else None


def compare(reference, backends, inputs, repeats=3, progress=None, close=True, error=max_error):
    """``{"tolerance", "backends": {name: {"max_abs_error", "passed", "latency_ms"}}}``.

    ``reference`` is a backend (its latency is reported under ``"reference"``) or a list of
    reference output arrays. ``progress(name)`` is called before each backend runs; backends
    with a ``close()`` (:class:`Lazy`) are closed after theirs unless ``close=False``.
    ``error(reference, outputs)`` measures the difference (a detector's:
    :func:`export.verify_detection.multibox_error`).
    """
    report = {"backends": {}}
    if callable(reference):
        reference, ms = timed(reference, inputs, repeats)
        report["reference_latency_ms"] = ms
    reference = [np.asarray(r) for r in reference]
    tol = tolerance(reference)
    report["tolerance"] = tol
    for name, backend in backends.items():
        if progress is not None:
            progress(f"check: {name}")
        outputs, ms = timed(backend, inputs, repeats)
        if close:
            getattr(backend, "close", lambda: None)()
        found = error(reference, outputs)
        report["backends"][name] = {"max_abs_error": found, "passed": found <= tol,
                                    "latency_ms": ms}
    return report
