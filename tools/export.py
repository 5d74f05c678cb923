#!/usr/bin/env python
"""Export zoo models or your own MXNet checkpoint as deployable artifacts: symbol JSON + params, model.onnx,
manifest, report.

  python tools/export.py                                  # lenet_bn -> artifacts/ (trained if runs/ has it)
  python tools/export.py --model resnet18 --out artifacts/ --triton
  python tools/export.py --model 'vgg*' --model alexnet --batch 8 --opset 13
  python tools/export.py --model lenet_bn --params runs/lenet_bn-digits/best.params
  python tools/export.py --model resnet18 --dynamic-axes data:0=batch,2=height,3=width
  python tools/export.py --model lenet_bn --params runs/lenet_bn-digits --quantize int8 --precision fp16
  python tools/export.py --model resnet50 --quantize int8 --calib my_images/ --calib-samples 64
  python tools/export.py --model bert_small --quantize int8           # dynamic INT8: nothing to calibrate
  python tools/export.py --model resnet18 --classes 1000 --in-channels 3 --input-size 224 --params my.params
  python tools/export.py --checkpoint my/model --input data:1x3x224x224 --labels classes.txt
  python tools/export.py --gluoncv ssd_512_mobilenet1.0_voc --params ssd_finetuned.params

Your own model: --checkpoint PREFIX (Module.save_checkpoint, HybridBlock.export), --symbol FILE
--params FILE, or --gluoncv/--gluonnlp NAME --params FILE (fine-tuned), with --input shapes where
none is recorded with the symbol, and preprocessing and labels for tools/infer.py.

Weights: --params, else the newest trained run runs/MODEL-*/ of tools/train.py, else seeded
untrained weights (--untrained forces those); each model's line says which. --params also takes
files without a manifest (net.save_parameters, or mxnet.gluon.model_zoo nets of the same
architecture), loaded unchecked.

Each model is checked after export: imperative, hybridized, reloaded symbol and ONNX Runtime
outputs on one random batch, max error vs imperative, pass/fail and latency. A progress bar on
stderr names the step running. Several models are exported one after another in a worker
process that is replaced once it has grown, so a batch needs about its largest model's memory.
Exit status: 0 done, 1 an export failed (one line on stderr; no half-written model folder is
left behind), 2 a usage error, 130 interrupted (Ctrl-C or SIGTERM).
"""
import argparse
import contextlib
import os
import sys
import warnings

from hybridzoo_tools import _cli  # first: keeps this folder (and its export.py) off sys.path
from hybridzoo_tools import own_model, zoo_export
from hybridzoo_tools.export_args import (check_precision_args, check_writable, parse_dynamic_axes,
                                         remove_if_empty, select_models)

# With no arguments: the README's first command. Trained weights when tools/train.py's default
# run exists, else untrained weights under --seed (the manifest then says "trained": false).
DEFAULT_MODEL = "lenet_bn"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     usage="%(prog)s [--model NAME | --all] [options]",
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    which = parser.add_argument_group("models")
    which.add_argument("--model", action="append", metavar="NAME",
                       help="registered name or wildcard, repeatable (default: lenet_bn)")
    which.add_argument("--all", action="store_true", help="every registered model")
    weights = parser.add_argument_group("weights and shape")
    weights.add_argument("--params", metavar="PATH", help="weights: a tools/train.py run folder, its .params or .json, "
                         "or any .params file of the model (default: the newest runs/MODEL-*/ run)")
    weights.add_argument("--untrained", action="store_true", help="seeded untrained weights even when runs/ has a trained run")
    weights.add_argument("--seed", metavar="N", type=int, default=0, help="seed for untrained weights (default 0)")
    weights.add_argument("--classes", metavar="N", type=int, help="output classes (default: the model's)")
    weights.add_argument("--in-channels", metavar="C", type=int, help="input channels (default: the model's)")
    weights.add_argument("--input-size", metavar="S", type=int, help="input height = width (default: the model's)")
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", default="artifacts", help="output folder (default artifacts/)")
    out.add_argument("--format", metavar="LIST", default="symbol,onnx", help="comma-separated: symbol, onnx (default both)")
    out.add_argument("--opset", metavar="N", type=int, help="ONNX opset (default: the exporter's)")
    out.add_argument("--batch", metavar="N|dynamic", default="dynamic", help="fixed ONNX batch size N, or 'dynamic' (default)")
    out.add_argument("--dynamic-axes", metavar="IN:AX=NAME,...", action="append",
                     help="dynamic ONNX axes of input IN, e.g. data:0=batch,2=height,3=width (repeatable; "
                          "replaces --batch's dynamic batch)")
    out.add_argument("--no-optimize", action="store_true", help="keep the ONNX graph one-to-one (no BatchNorm folding)")
    out.add_argument("--triton", action="store_true", help="also write a Triton model repository under OUT/triton/")
    out.add_argument("--triton-max-batch", metavar="N", type=int, default=64, help="Triton max_batch_size for dynamic batch (default 64)")
    low = parser.add_argument_group("precision variants (beside model.onnx; see docs/precision.md)")
    low.add_argument("--quantize", choices=("int8",), help="also write model.int8.onnx: static QDQ (calibrated on the "
                     "training split or --calib) for graphs with convolutions, else dynamic (nothing to calibrate)")
    low.add_argument("--quantize-method", choices=("static", "dynamic"), help="INT8 method instead of the graph's")
    low.add_argument("--precision", choices=("fp16",), help="also write model.fp16.onnx (FP16 compute, FP32 inputs/outputs)")
    low.add_argument("--calib", metavar="DIR", help="calibration images or .npy arrays (preprocessed as the manifest says); "
                     "needed for models whose dataset is not available here, e.g. ImageNet")
    low.add_argument("--calib-method", choices=("minmax", "entropy", "percentile"),
                     help="activation range estimation (default minmax)")
    low.add_argument("--calib-samples", metavar="N", type=int, help="calibration samples (default 128)")
    low.add_argument("--keep-fp32", metavar="LIST",
                     help="layers left unquantized: first (first conv), last (classifier), node names, or none (default)")
    low.add_argument("--triton-precision", choices=("fp32", "int8", "fp16"),
                     help="variant --triton lays out (default: int8 when quantized, else fp16 when made, else fp32)")
    run = parser.add_argument_group("checks")
    run.add_argument("--no-verify", action="store_true", help="skip the agreement check and the variants' check against FP32")
    run.add_argument("--ctx", default="auto", choices=("auto", "cpu", "gpu"),
                     help="MXNet context and ONNX Runtime provider: auto = GPU/CUDA when present, else CPU")
    own_model.add_arguments(parser)
    args = parser.parse_args(argv)
    import hybridzoo  # after --help, before anything loads MXNet: hybridzoo sets its threads first
    args = own_model.check_arguments(parser, args)
    if args.params and args.untrained:
        parser.error("give --params or --untrained, not both")
    if args.all and args.model:
        parser.error("give --model or --all, not both")
    if not args.all and not args.model and not args.source:
        args.model = [DEFAULT_MODEL]
    args.format = [f.strip() for f in args.format.split(",") if f.strip()]
    if args.batch == "dynamic":
        args.batch = None
    else:
        try:
            args.batch = int(args.batch)
        except ValueError:
            parser.error(f"--batch takes a positive integer or 'dynamic', got {args.batch!r}")
        if args.batch < 1:
            parser.error(f"--batch takes a positive integer or 'dynamic', got {args.batch}")
    args.dynamic_axes = parse_dynamic_axes(parser, args.dynamic_axes)
    try:
        args.names = [args.name] if args.source else select_models(hybridzoo, args)
    except ValueError as err:
        parser.error(str(err))
    if args.params and len(args.names) != 1:
        parser.error(f"--params holds one model's weights but {len(args.names)} models were selected")
    for flag in ("classes", "in_channels", "input_size", "triton_max_batch"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f"--{flag.replace('_', '-')} takes a positive integer, got {value}")
    if args.triton and "onnx" not in args.format:
        parser.error("--triton needs the onnx format")
    check_precision_args(parser, args)
    return args


def precision_plan(net, weights, args):
    """:func:`hybridzoo_tools.zoo_export.precision_plan` with this run's flags."""
    return zoo_export.precision_plan(net, weights, int8=args.quantize, fp16=args.fp16, calib=args.calib,
                                     calib_samples=args.calib_samples, calib_method=args.calib_method,
                                     keep_fp32=args.keep_fp32, method=args.quantize_method)


def export_one(name, args, ctx, providers, bar):
    """Export one model with a progress bar of its steps; return its report lines, weights
    record and the precision variants' warnings."""
    import hybridzoo  # noqa: F401  (first in a worker process: MXNet's thread setup)
    from export import export_checkpoint
    from export.artifacts.package import export_artifact, format_report
    from export.artifacts.triton import write_triton_model
    from export.precision.plan import format_variants
    from export.precision.serving import FILE_NAMES

    def progress(step):  # "resnet152: check: ONNX Runtime  step 7/9 [00:21]", every step shown
        bar.set_description_str(f"{name}: {step}", refresh=False)
        bar.update(1)
        bar.refresh()

    bar.reset()
    progress("weights")
    triton = []

    def write_triton(folder, manifest):  # inside the artifact's staging: a failure discards both
        layout = (manifest.get("preprocess") or {}).get("layout")
        path = write_triton_model(os.path.join(folder, FILE_NAMES[args.triton_precision]),
                                  os.path.join(args.out, "triton"), name, max_batch_size=args.triton_max_batch,
                                  layout=layout, labels=manifest.get("labels"))
        triton.append(f"{path} ({args.triton_precision})")

    options = dict(formats=args.format, opset=args.opset, batch=args.batch, optimize=not args.no_optimize,
                   check=not args.no_verify, ctx=ctx, providers=providers, dynamic_axes=args.dynamic_axes,
                   progress=progress, finish=write_triton if args.triton else None)
    with warnings.catch_warnings(record=bool(args.source)) as caught:  # your own model's (labels dropped...): one line each
        if args.source:
            net, origin = own_model.load(args, ctx)
            weights = net.weights
            artifact = export_checkpoint(net, out_dir=args.out, precision=precision_plan(net, weights, args), **options)
        else:
            net, weights, origin = zoo_export.net_with_weights(
                name, ctx, args.params, args.untrained, args.seed, classes=args.classes,
                in_channels=args.in_channels, input_size=args.input_size)
            artifact = export_artifact(net, args.out, name, weights=weights, seed=args.seed,
                                       precision=precision_plan(net, weights, args), **options)
    lines = [f"{name}: {origin} -> {artifact.path}"]
    if artifact.report:
        lines += ["  " + line for line in format_report(artifact.report)]
    variant_lines, notes = format_variants(artifact.manifest.get("variants"), (artifact.report or {}).get("precision"))
    lines += ["  " + line for line in variant_lines]
    lines += [f"  triton: {path}" for path in triton]
    return lines, weights, notes + own_model.export_warnings(caught)


INTERRUPTED = "interrupted: models already exported are complete; none is left half-written"


def main(argv=None):
    return _cli.run_main(lambda argv: run(parse_args(argv)), argv, interrupted=INTERRUPTED)


def run(args):
    from tqdm import tqdm

    from export.worker import Worker
    from export.memory import release_memory
    from export.artifacts.package import stages
    from export.errors import AgreementError, PrecisionError
    from export.deploy.runtime import resolve_providers
    from hybridzoo.train import resolve_context

    current = None  # the model being exported, named in any error
    untrained = []  # models that got seeded weights because no trained run exists
    created = False  # whether this run made --out (removed again if it fails with it empty)
    try:
        created = check_writable(args.out)
        ctx = resolve_context(args.ctx)
        providers = resolve_providers("cuda,cpu" if args.ctx == "gpu" else ("cpu" if args.ctx == "cpu" else None))
        models = tqdm(args.names, desc="export", unit="model", disable=len(args.names) < 2, file=sys.stderr)
        # The steps of the model being exported (resnet152 takes half a minute), on terminals only.
        references = ("MXNet",) if args.source in ("checkpoint", "symbol") else ("imperative", "hybridized")
        steps = len(stages(args.format, not args.no_verify, args.quantize or args.fp16, references)) + 1  # + the weights
        # Several models: exported in a worker process replaced when it has grown (MXNet keeps native
        # memory that grows model after model in one process: --all peaked at 1.35x its largest).
        with Worker() if len(args.names) > 1 else contextlib.nullcontext() as worker, \
                tqdm(total=steps, leave=False, file=sys.stderr, position=1 if len(args.names) > 1 else 0,
                     disable=not sys.stderr.isatty(), bar_format="{desc}  step {n_fmt}/{total_fmt} [{elapsed}]") as bar:
            for name in models:
                current = name
                if worker:
                    lines, weights, warnings = worker.run(export_one, name, args, ctx, providers, target=bar)
                else:
                    lines, weights, warnings = export_one(name, args, ctx, providers, bar)
                if weights["trained"] is False:
                    untrained.append(name)
                tqdm.write("\n".join(lines), file=sys.stdout)
                for warning in warnings:
                    tqdm.write(f"warning: {name}: {warning}", file=sys.stderr)
                if not worker:  # a worker releases its own after each model
                    release_memory()  # this model's arrays, before the next one is built
        if untrained and not args.untrained:
            print(zoo_export.untrained_note(untrained))
    except BaseException as err:
        if created:
            remove_if_empty(args.out)
        if not isinstance(err, _cli.user_errors()):
            raise  # Ctrl-C (run_main prints it) or a bug (its traceback)
        # An agreement or precision failure names the model itself; others get it prefixed.
        _cli.print_error(err, where=None if isinstance(err, (AgreementError, PrecisionError)) else current)
        return _cli.EXIT_ERROR
    return _cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
