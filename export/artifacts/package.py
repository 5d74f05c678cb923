"""One deployable artifact folder per net, written whole or not at all.

``export_artifact(net, "artifacts")`` writes ``artifacts/<name>/``::

    <name>-symbol.json  <name>-0000.params   (format "symbol": SymbolBlock.imports reloads them)
    model.onnx                               (format "onnx")
    model.int8.onnx  model.fp16.onnx         (``precision=PrecisionPlan(...)``: export.precision)
    report.json                              (agreement: each backend vs the imperative net)
    manifest.json                            (hybridzoo-manifest/1, sha256 of every file above)

Everything is built in a hidden temporary folder inside the output folder and moved into
place only after the agreement check passed, so a failure leaves the previous artifact (if
any) untouched and no half-written folder behind. Files in ``<name>/`` that the previous
export did not write (its manifest lists the ones it did) are kept (:mod:`export.files.staging`).
The check reloads one backend at a time and releases it before the next, so it holds at most
one extra copy of the weights.
"""
import json
import os
from dataclasses import dataclass


from ..files import manifest as manifests
from .. import agreement
from ..errors import AgreementError, InvalidInputError  # noqa: F401  (AgreementError re-exported)
from ..memory import release_memory
from ..files.io import atomic_write_text
from ..files.staging import staged_dir
from ..symbol import export_symbol
from ..to_onnx import export_onnx

FORMATS = ("symbol", "onnx")
ONNX_NAME = "model.onnx"
REPORT_NAME = "report.json"
CHECK_BATCH = 3  # verification batch for a dynamic-batch export: not the export's batch of 1


@dataclass
class Artifact:
    name: str
    path: str
    manifest: dict
    report: dict


def stages(formats=FORMATS, check=True, precision=False, references=(agreement.REFERENCE, "hybridized")):
    """The steps :func:`export_artifact` reports to ``progress``, in order (``references``: the
    MXNet runs checked first; a symbol checkpoint's: ``("MXNet",)``)."""
    symbol, onnx = "symbol" in formats, "onnx" in formats
    steps = ["symbol files"] * symbol + ["ONNX"] * onnx
    if check:
        backends = list(references) + ["reloaded symbol"] * symbol + ["ONNX Runtime"] * onnx
        steps += [f"check: {b}" for b in backends]
    return steps + ["precision variants"] * bool(precision) + ["manifest"]


def export_artifact(net, out_dir, name=None, input_shape=None, formats=FORMATS, opset=None, batch=None,
                    optimize=True, check=True, weights=None, seed=0, ctx=None, providers=None,
                    dynamic_axes=None, precision=None, progress=None, finish=None):
    """Export ``net`` into ``out_dir/<name>`` and return an :class:`Artifact`.

    ``input_shape`` excludes the batch axis (zoo models default to their config's); ``batch`` fixes
    the ONNX batch size (``None``: dynamic); ``dynamic_axes`` (``{"data": {0: "batch", 2: "height"}}``)
    names the ONNX dynamic axes instead (any it cannot keep are listed in the manifest's
    ``fixed_axes``). ``check`` runs every written backend against the
    imperative net on random input and raises :class:`AgreementError` on disagreement.
    ``weights`` (``{"trained", "source", "seed"}``) is recorded in the manifest. ``precision``
    (an ``export.precision.PrecisionPlan``) adds INT8/FP16 copies of model.onnx, checked against
    it when ``check``; the manifest lists them under ``variants``, the report under ``precision``.
    ``net`` may also be a checkpoint (:class:`export.checkpoint.model.Checkpoint`, see
    :func:`export.export_checkpoint`): it writes its own files and names the MXNet runs it is
    checked against.
    ``progress(step)`` is called as each of :func:`stages` starts. ``finish(folder, manifest)``
    runs on the complete folder before it is renamed into place (e.g. a Triton entry made from
    it): if it raises, the artifact is discarded too.
    """
    progress = progress or (lambda step: None)
    name = name or getattr(net, "zoo_name", None)
    if not name:
        raise InvalidInputError("name is required for a net that is not from the zoo")
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise InvalidInputError(f"unknown format {', '.join(unknown) or '(none)'}: choose from {', '.join(FORMATS)}")
    if precision is not None and "onnx" not in formats:
        raise InvalidInputError(f"{name}: INT8/FP16 variants are made from model.onnx: add the onnx format")
    sample = tuple(input_shape or getattr(getattr(net, "zoo_config", None), "input_shape", ()) or ())
    if not sample:
        raise InvalidInputError(f"{name}: input_shape is required for a net without a zoo_config, e.g. (3, 224, 224)")
    shape = (batch or 1,) + sample
    if input_shape is None and agreement.described_inputs(net):  # token ids, lengths, states...: the config's
        shape = [tuple(s) for s in net.zoo_config.input_shapes(batch or 1)]
    target = os.path.join(out_dir, name)
    with staged_dir(target, owned=manifests.owned_files) as staging:  # keeps the user's files
        files = _write_formats(net, staging, name, shape, formats, opset, batch, optimize, seed, ctx,
                               progress, dynamic_axes)
        report = None
        if check:
            prefix = os.path.join(staging, name) if "symbol" in formats else None
            onnx_path = os.path.join(staging, ONNX_NAME) if "onnx" in formats else None
            check_batch = batch or _check_batch(dynamic_axes, len(shape) if isinstance(shape, list) else 1)
            report = agreement.check_artifact(net, shape, check_batch, seed, prefix, onnx_path, ctx, providers,
                                              progress)
            report["model"] = name
        variants = {}
        if precision is not None and (report is None or report["passed"]):
            progress("precision variants")
            variants, checks = precision.write(staging, ONNX_NAME, check=check)
            files += [entry["file"] for entry in variants.values()]
            if report is not None:
                report["precision"] = checks
        if report is not None:
            atomic_write_text(os.path.join(staging, REPORT_NAME), json.dumps(report, indent=2) + "\n")
            files.append(REPORT_NAME)
            if not report["passed"]:
                raise AgreementError(name, report)
        progress("manifest")
        manifest = _manifest(net, staging, name, files, formats, opset, weights, seed, variants)
        if finish is not None:
            finish(staging, manifest)
    return Artifact(name, target, manifest, report)


def _write_formats(net, staging, name, shape, formats, opset, batch, optimize, seed, ctx, progress,
                   dynamic_axes=None):
    files = []
    if "symbol" in formats:
        progress("symbol files")
        if hasattr(net, "write_symbol"):  # a checkpoint: its own graph and params, as given
            files += net.write_symbol(os.path.join(staging, name))
        else:
            paths = export_symbol(net, os.path.join(staging, name), shape, seed=seed, ctx=ctx,
                                  manifest=manifests.MANIFEST_NAME)
            files += [os.path.basename(paths["symbol"]), os.path.basename(paths["params"])]
        release_memory()  # HybridBlock.export's copy of the weights
    if "onnx" in formats:
        progress("ONNX")
        write = getattr(net, "write_onnx", None) or (lambda *a, **k: export_onnx(net, *a, seed=seed, **k))
        write(os.path.join(staging, ONNX_NAME), shape, opset=opset, dynamic_batch=batch is None,
              optimize=optimize, dynamic_axes=dynamic_axes)
        files.append(ONNX_NAME)
    return files


def _check_batch(dynamic_axes, count):
    """The verification batch of a dynamic-batch export: CHECK_BATCH, or 1 when ``dynamic_axes``
    leaves some input's batch fixed (it replaces the dynamic batch of the inputs it leaves out)."""
    if dynamic_axes is not None and (len(dynamic_axes) < count or any(0 not in a for a in dynamic_axes.values())):
        return 1
    return CHECK_BATCH


def _manifest(net, staging, name, files, formats, opset, weights, seed, variants=None):
    path = os.path.join(staging, manifests.MANIFEST_NAME)
    update = manifests.build(
        model=name, config=getattr(net, "zoo_config", None),
        weights=weights or manifests.weights_info(net, seed=seed),
        files=manifests.file_entries(staging, files), versions_=manifests.versions(net, opset),
        variants=variants)
    if "onnx" in formats:
        update["inputs"], update["outputs"] = manifests.onnx_io(os.path.join(staging, ONNX_NAME))
        update["versions"]["opset"] = _onnx_opset(os.path.join(staging, ONNX_NAME))
        fixed = _onnx_props(os.path.join(staging, ONNX_NAME)).get("fixed_axes")
        if fixed:  # requested dynamic axes the model cannot vary (exported at their size)
            update["fixed_axes"] = json.loads(fixed)
    return manifests.write(path, update, merge_existing=True)


def _onnx_opset(path):
    import onnx
    model = onnx.load(path, load_external_data=False)
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _onnx_props(path):
    import onnx
    return {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}


def format_report(report):
    """The agreement table as text lines: backend, max error vs the reference (the first backend,
    imperative for a net), pass/fail, latency."""
    reference = next(iter(report["backends"]))
    lines = [f"{'backend':<16} {'max |err| vs ' + reference:>24} {'result':>6} {'latency ms':>11}"]
    for backend, row in report["backends"].items():
        latency = "-" if row["latency_ms"] is None else f"{row['latency_ms']:.3f}"
        lines.append(f"{backend:<16} {row['max_abs_error']:>24.2e} {'pass' if row['passed'] else 'FAIL':>6} "
                     f"{latency:>11}")
    lines.append(f"tolerance {report['tolerance']:.1e} at input {tuple(report['input_shape'])}")
    return lines
