#!/usr/bin/env python
"""Export zoo models as deployable artifacts: symbol JSON + params, model.onnx, manifest, report.

  python tools/export.py                                  # lenet_bn -> artifacts/ (trained if runs/ has it)
  python tools/export.py --model resnet18 --out artifacts/ --triton
  python tools/export.py --model 'vgg*' --model alexnet --batch 8 --opset 13
  python tools/export.py --model lenet_bn --params runs/lenet_bn-digits/best.params
  python tools/export.py --model resnet18 --classes 1000 --in-channels 3 --input-size 224 --params my.params

Weights: --params, else the newest trained run runs/MODEL-*/ of tools/train.py, else seeded
untrained weights (--untrained forces those); each model's line says which. --params also takes
files without a manifest (net.save_parameters, or mxnet.gluon.model_zoo nets of the same
architecture), loaded unchecked.

Each model is checked after export: imperative, hybridized, reloaded symbol and ONNX Runtime
outputs on one random batch, max error vs imperative, pass/fail and latency. A progress bar on
stderr names the step running. Exit status: 0 done, 1 an export failed (one line on stderr;
no half-written model folder is left behind), 2 a usage error, 130 interrupted (Ctrl-C).
"""
import argparse
import os
import sys
import tempfile

# This folder holds export.py, which would shadow the `export` package: keep it off the path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]

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
    out.add_argument("--no-optimize", action="store_true", help="keep the ONNX graph one-to-one (no BatchNorm folding)")
    out.add_argument("--triton", action="store_true", help="also write a Triton model repository under OUT/triton/")
    out.add_argument("--triton-max-batch", metavar="N", type=int, default=64, help="Triton max_batch_size for dynamic batch (default 64)")
    run = parser.add_argument_group("checks")
    run.add_argument("--no-verify", action="store_true", help="skip the agreement check")
    run.add_argument("--ctx", default="auto", choices=("auto", "cpu", "gpu"),
                     help="MXNet context and ONNX Runtime provider: auto = GPU/CUDA when present, else CPU")
    args = parser.parse_args(argv)
    if args.params and args.untrained:
        parser.error("give --params or --untrained, not both")
    if args.all and args.model:
        parser.error("give --model or --all, not both")
    if not args.all and not args.model:
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
    import hybridzoo  # after --help: it loads MXNet
    try:
        args.names = select_models(hybridzoo, args)
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
    return args


def select_models(hybridzoo, args):
    """Names from --all / --model patterns; an unknown name raises with close matches."""
    if args.all:
        return hybridzoo.list_models()
    names = []
    for pattern in args.model:
        found = hybridzoo.list_models(pattern)
        if not found:
            hybridzoo.get_config(pattern)  # raises ValueError naming close matches
            found = [pattern]
        names.extend(n for n in found if n not in names)
    return names


def check_writable(folder):
    """Fail before any export when ``--out`` cannot hold files (not after minutes of work).

    Returns whether the folder was created here, so a failed run can take it away again.
    """
    created = not os.path.isdir(folder)
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ValueError(f"cannot write to --out {folder}: {err.strerror or err}; choose a writable folder") from None
    return created


def remove_if_empty(folder):
    """Undo ``check_writable``'s folder after a failed run that wrote nothing into it."""
    try:
        os.rmdir(folder)  # only ever removes an empty folder
    except OSError:
        pass


def build(hybridzoo, name, args, ctx):
    """The net with its weights, the manifest's ``weights`` record, and a line saying which."""
    from export.source import check_block_input
    from hybridzoo import weights
    from hybridzoo.testing import init_model

    kwargs = {k: v for k, v in (("classes", args.classes), ("in_channels", args.in_channels),
                                ("input_size", args.input_size)) if v is not None}
    net = hybridzoo.get_model(name, **kwargs)
    net.collect_params().setattr("grad_req", "null")  # no gradient buffers: one copy of the weights less
    check_block_input(net, (1,) + tuple(net.zoo_config.input_shape))  # too small: name the smallest size
    source = args.params or (None if args.untrained else weights.find_trained_run(name))
    if source is None:
        # Seeded init with BatchNorm statistics randomized, so the agreement check exercises
        # them (identity BatchNorm would hide conversion bugs).
        init_model(net, args.seed, ctx=ctx)
        return net, {"trained": False, "source": None, "seed": args.seed}, f"untrained (seed {args.seed}) weights"
    try:
        record, origin = weights.load_weights(net, name, source, ctx)
    except ValueError as err:
        if args.params:
            raise
        raise ValueError(f"{err}; or pass --untrained for seeded weights") from None
    return net, record, origin


def untrained_note(names):
    """The hint after exporting untrained weights that no trained run replaced."""
    if len(names) == 1:
        which, model = f"runs/{names[0]}-*/", names[0]
    else:
        which, model = f"runs/ for {len(names)} models ({', '.join(names[:3])}, ...)", "NAME"
    return (f"note: no trained weights in {which}; for real ones run python tools/train.py --model {model} "
            "--dataset digits, then this again")


def export_one(name, args, ctx, providers, bar):
    """Export one model with a progress bar of its steps; return its report lines and weights record."""
    import hybridzoo
    from export.artifacts.package import export_artifact, format_report
    from export.artifacts.triton import write_triton_model

    def progress(step):  # "resnet152: check: ONNX Runtime  step 7/9 [00:21]", every step shown
        bar.set_description_str(f"{name}: {step}", refresh=False)
        bar.update(1)
        bar.refresh()

    bar.reset()
    progress("weights")
    net, weights, origin = build(hybridzoo, name, args, ctx)

    triton = []

    def write_triton(folder, manifest):  # inside the artifact's staging: a failure discards both
        layout = (manifest.get("preprocess") or {}).get("layout")
        triton.append(write_triton_model(os.path.join(folder, "model.onnx"), os.path.join(args.out, "triton"),
                                         name, max_batch_size=args.triton_max_batch, layout=layout,
                                         labels=manifest.get("labels")))

    artifact = export_artifact(net, args.out, name, formats=args.format, opset=args.opset, batch=args.batch,
                               optimize=not args.no_optimize, check=not args.no_verify, weights=weights,
                               seed=args.seed, ctx=ctx, providers=providers, progress=progress,
                               finish=write_triton if args.triton else None)
    lines = [f"{name}: {origin} -> {artifact.path}"]
    if artifact.report:
        lines += ["  " + line for line in format_report(artifact.report)]
    lines += [f"  triton: {path}" for path in triton]
    return lines, weights


def main(argv=None):
    try:
        args = parse_args(argv)
        return run(args)
    except KeyboardInterrupt:
        print("interrupted: models already exported are complete; none is left half-written", file=sys.stderr)
        return 130


def run(args):
    import mxnet as mx
    from tqdm import tqdm

    from export._memory import release_memory
    from export.artifacts.package import AgreementError, stages
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
        steps = len(stages(args.format, not args.no_verify)) + 1  # + building the net with its weights
        with tqdm(total=steps, leave=False, file=sys.stderr, position=1 if len(args.names) > 1 else 0,
                  disable=not sys.stderr.isatty(), bar_format="{desc}  step {n_fmt}/{total_fmt} [{elapsed}]") as bar:
            for name in models:
                current = name
                lines, weights = export_one(name, args, ctx, providers, bar)
                if weights["trained"] is False:
                    untrained.append(name)
                tqdm.write("\n".join(lines), file=sys.stdout)
                release_memory()  # this model's arrays, before the next one is built
        if untrained and not args.untrained:
            print(untrained_note(untrained))
    except KeyboardInterrupt:
        if created:
            remove_if_empty(args.out)
        raise
    except AgreementError as err:
        print(f"error: {err}", file=sys.stderr)
    except (ValueError, OSError, TypeError, NotImplementedError, mx.base.MXNetError) as err:
        message = " ".join(str(err).split())  # one line, whatever the library put in it
        if isinstance(err, OSError) and err.filename and err.strerror:
            message = f"{err.filename}: {err.strerror}"
        where = f"{current}: " if current and not message.startswith(current) else ""
        print(f"error: {where}{message}", file=sys.stderr)
    else:
        return 0
    if created:
        remove_if_empty(args.out)
    return 1


if __name__ == "__main__":
    sys.exit(main())
