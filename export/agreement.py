"""The agreement check, one pipeline for the artifact folder (``export_artifact``), the tests and
``tools/agreement_table.py``: the imperative net is the reference; each backend written from it
(hybridized, the reloaded symbol, ONNX Runtime) runs every input set, one backend and its copy of
the weights at a time, and passes when its max error is within ``export.verify.tolerance``.

:func:`check` compares backends that exist already; :func:`agreement` first exports a net to
every format (symbol files, optimized and one-to-one ONNX) in a scratch folder.
"""
import os

import mxnet as mx
import numpy as np

from . import verify
from .finite import check_outputs
from .memory import release_memory
from .block_inputs import gluon_input_names, zoo_dynamic_axes
from .symbol import export_symbol
from .to_onnx import export_onnx


def check(net, makers, input_sets, ctx=None, error=verify.max_error, repeats=0, progress=None, validate=None):
    """Run ``net`` imperatively (the reference; or ``net`` is a backend already, e.g. a checkpoint's
    symbol bound to an executor) and each backend ``makers[label]()`` builds on
    every ``input_sets[key]`` (a list of arrays); return ``{"tolerance", "passed", "reference":
    {key: outputs}, "reference_latency_ms", "backends": {label: {"max_abs_error", "passed",
    "latency_ms"}}}`` with each backend's worst error over the sets. ``repeats`` timed runs (on
    the first set) give the median latencies; ``progress(step)`` is called as each backend starts;
    ``validate(outputs)`` may refuse the reference's outputs before anything is compared."""
    ctx = ctx or verify.default_context()
    keys = sorted(input_sets)
    imperative = verify.block_backend(net, hybridize=False, ctx=ctx) if isinstance(net, mx.gluon.Block) else net
    reference, latency = {}, None
    for key in keys:
        reference[key], ms = verify.timed(imperative, input_sets[key], repeats if key == keys[0] else 0)
        if validate is not None:
            validate(reference[key])
        latency = ms if key == keys[0] else latency
    report = {"tolerance": 0.0, "reference": reference, "reference_latency_ms": latency, "backends": {}}
    for label, make in makers.items():
        backend = verify.Lazy(make)  # built on first use, released after its last set
        row = {"max_abs_error": 0.0, "passed": True, "latency_ms": None}
        for key in keys:
            found = verify.compare(reference[key], {label: backend}, input_sets[key], close=False, error=error,
                                   repeats=repeats if key == keys[0] else 0,
                                   progress=progress if key == keys[0] else None)
            report["tolerance"] = max(report["tolerance"], found["tolerance"])
            got = found["backends"][label]
            row["max_abs_error"] = max(row["max_abs_error"], got["max_abs_error"])
            row["passed"] = row["passed"] and got["passed"]
            row["latency_ms"] = got["latency_ms"] if key == keys[0] else row["latency_ms"]
        backend.close()
        report["backends"][label] = row
    report["passed"] = all(r["passed"] for r in report["backends"].values())
    return report


REFERENCE = "imperative"


def described_inputs(net):
    """True for zoo nets whose config lists their inputs (``zoo_config.inputs``)."""
    return bool(getattr(getattr(net, "zoo_config", None), "inputs", None))


def seeded_inputs(net, shape, batch, seed):
    """One seeded batch of ``batch``: what the zoo config describes (token ids below the
    vocabulary, valid lengths within the sequence...), else standard normal float32 of ``shape``
    (batch axis included, replaced)."""
    if described_inputs(net):
        return net.zoo_config.sample_inputs(batch, seed)
    return [np.random.default_rng(seed).standard_normal((batch,) + tuple(shape[1:])).astype(np.float32)]


def error_measure(net):
    """Element by element, except for zoo detectors, whose NMS-sorted rows are compared as
    detections (:func:`export.verify_detection.multibox_error`)."""
    if getattr(getattr(net, "zoo_config", None), "task", None) != "detection":
        return verify.max_error
    from .verify_detection import multibox_error
    return multibox_error


def check_artifact(net, shape, batch, seed, prefix=None, onnx_path=None, ctx=None, providers=None,
                   progress=None):
    """An artifact folder's agreement report: the imperative net (or a checkpoint's MXNet run, see
    :func:`mxnet_backends`) vs hybridized, the symbol files at
    ``prefix`` and the ONNX file at ``onnx_path`` (those given) on one :func:`seeded_inputs` batch,
    with each backend's median latency; ``report["passed"]`` says whether all agree."""
    progress = progress or (lambda step: None)
    measure = error_measure(net)
    inputs = seeded_inputs(net, shape, batch, seed)
    release_memory()  # the ONNX writer's arrays, before backends load their copies
    # The reference runs first (a block's switches hybridization off; "hybridized" switches it back on).
    (reference_name, reference), *others = mxnet_backends(net, ctx).items()
    makers = {label: (lambda backend=backend: backend) for label, backend in others}
    if prefix:
        names = gluon_input_names(len(inputs))
        reload = getattr(net, "reload", None) or (lambda prefix, ctx: verify.symbol_backend(prefix, input_names=names,
                                                                                             ctx=ctx))
        makers["reloaded symbol"] = lambda: reload(prefix, ctx)
    if onnx_path:
        makers["ONNX Runtime"] = lambda: verify.onnx_backend(onnx_path, providers)
    progress(f"check: {reference_name}")
    # A diverged net's outputs (NaN, 1e27) cannot be checked: refused, never called an exporter bug.
    report = check(reference, makers, {0: inputs}, ctx=ctx, error=measure, repeats=3, progress=progress,
                   validate=check_outputs)
    del report["reference"]
    report["backends"] = {reference_name: {"max_abs_error": 0.0, "passed": True,
                                           "latency_ms": report.pop("reference_latency_ms")},
                          **report["backends"]}
    report.update(input_shape=list(inputs[0].shape), passed=all(r["passed"] for r in report["backends"].values()))
    return report


def mxnet_backends(net, ctx):
    """``{name: backend}`` of the MXNet runs, the reference first: a net imperative then hybridized,
    or what a checkpoint (``export.checkpoint``) names (its symbol bound to an executor)."""
    if hasattr(net, "mxnet_backends"):
        return net.mxnet_backends(ctx)
    return {REFERENCE: verify.block_backend(net, hybridize=False, ctx=ctx),
            "hybridized": verify.block_backend(net, hybridize=True, ctx=ctx)}


def agreement(net, inputs, workdir, name="model", input_shape=None, ctx=None, dynamic_axes=None,
              error=verify.max_error):
    """Export ``net`` to every format in ``workdir`` and :func:`check` it: imperative (reference)
    vs hybridized, the ``SymbolBlock.imports`` reload, and ONNX Runtime on the optimized and the
    one-to-one graph.

    ``inputs``: ``{key: [arrays]}`` (the key, e.g. the batch size or ``(batch, length)``, only
    orders them); every set goes through the same files, exported at ``input_shape`` (default:
    the shapes of the smallest key's arrays, in their dtypes) with ``dynamic_axes`` (default:
    the zoo config's, e.g. batch and sequence length; else the batch). Returns
    ``{"tolerance", "errors": {backend: max error over input sets}, "passed", "reference"}``.
    """
    ctx = ctx or mx.cpu()
    first = inputs[min(inputs)]
    shapes = input_shape or [tuple(x.shape) for x in first]
    dtypes = [np.dtype(x.dtype).name for x in first]
    names = gluon_input_names(len(first))
    dynamic_axes = dynamic_axes or zoo_dynamic_axes(net)
    prefix = os.path.join(workdir, name)
    export_symbol(net, prefix, input_shape=shapes, ctx=ctx, manifest=None)
    makers = {"hybridized": lambda: verify.block_backend(net, hybridize=True, ctx=ctx),
              "symbol": lambda: verify.symbol_backend(prefix, input_names=names, ctx=ctx)}
    for optimize, label in ((True, "onnx"), (False, "onnx-plain")):
        path = os.path.join(workdir, f"{name}-{label}.onnx")
        export_onnx(prefix, path, input_shape=shapes, input_dtype=dtypes, optimize=optimize,
                    dynamic_axes=dynamic_axes)
        makers[label] = lambda path=path: verify.onnx_backend(path)
    report = check(net, makers, inputs, ctx=ctx, error=error)
    return {"tolerance": report["tolerance"], "passed": report["passed"], "reference": report["reference"],
            "errors": {label: row["max_abs_error"] for label, row in report["backends"].items()}}
