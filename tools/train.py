#!/usr/bin/env python
"""Train a registered classifier; write the best parameters with their manifest, a log and curves.

  python tools/train.py --model lenet_bn --dataset digits
  python tools/train.py --model lenet --dataset fashion_mnist --data-dir ~/data/fashion-mnist --epochs 10
  python tools/train.py --model lenet_bn --dataset digits --resume runs/lenet_bn-digits --epochs 30
  python tools/train.py --model mlp --epochs 5 --lr 0.05 --optimizer adam --out runs/mlp-adam

The recipe (lr, batch size, epochs, resize) comes from the model's config for the dataset
unless overridden. Files go to --out (default runs/MODEL-DATASET): best.params + best.json
(load with hybridzoo.get_model(MODEL, pretrained=...) or tools/export.py --params), last.*
(for --resume), log.jsonl, curves.png. A folder that already holds a run is never replaced
or mixed with a new one unless --overwrite is given. In a cluster started with the DMLC_*
environment, pass --kvstore dist_sync; each worker trains on its own shard and the first one
writes files. Exit status: 0 done, 1 training failed (one line on stderr), 2 a usage error,
130 interrupted (Ctrl-C: the run keeps its last finished epoch, for --resume).
"""
import argparse
import math
import os
import sys
import textwrap
import time

from hybridzoo_tools import _cli  # first: keeps this folder off sys.path

hybridzoo = data = train = None  # imported by main(), so that Ctrl-C while MXNet loads is one line


def _import_zoo():
    global hybridzoo, data, train
    import hybridzoo  # first: sleeping OpenMP threads on every core (hybridzoo/_threads.py)
    from hybridzoo import data, train


def parse_args(argv=None):
    _import_zoo()
    classifiers = [n for n in hybridzoo.list_models()  # image classifiers (sequence models: train_sequence.py)
                   if hybridzoo.get_config(n).task == "classification" and not hybridzoo.get_config(n).inputs]
    models = textwrap.fill(", ".join(classifiers), 96, initial_indent="  ", subsequent_indent="  ")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], usage="%(prog)s --model NAME [options]",
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="examples:\n" + "\n\n".join(__doc__.split("\n\n")[1:])
                                     + f"\n\nmodels:\n{models}")
    parser.add_argument("--model", required=True, help="registered model name, e.g. lenet_bn (list below)")
    parser.add_argument("--dataset", default="digits", choices=data.DATASETS,
                        help="digits (bundled with scikit-learn, default) or fashion_mnist (local IDX files)")
    parser.add_argument("--data-dir", help=f"folder of the Fashion-MNIST IDX files (default {data.DEFAULT_FASHION_MNIST_DIR})")
    parser.add_argument("--out", help="run directory (default runs/MODEL-DATASET)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the recipe's)")
    parser.add_argument("--batch-size", type=int, help="examples per batch and worker")
    parser.add_argument("--epochs", type=int, help="total epochs (with --resume: up to this many)")
    parser.add_argument("--wd", type=float, help="weight decay (default 0)")
    parser.add_argument("--optimizer", choices=train.OPTIMIZERS, help="default sgd")
    parser.add_argument("--momentum", type=float, help="SGD momentum (default 0)")
    parser.add_argument("--resize", type=int, help="train at this input size instead of the config's")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--ctx", default="auto", help="auto (GPU when present, else CPU), cpu, gpu or gpu:N")
    parser.add_argument("--kvstore", choices=train.KVSTORES, help="Gluon Trainer's kvstore (default device)")
    parser.add_argument("--workers", type=int, help="DataLoader worker processes (default 0: in-process)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in this directory")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run already in --out (default: refuse, so no run is lost or mixed)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    args = parser.parse_args(argv)
    if args.model not in hybridzoo.list_models():
        try:
            hybridzoo.get_config(args.model)
        except ValueError as err:  # names the closest models, or all of them
            parser.error(str(err))
    for name in ("lr", "batch_size", "epochs", "resize", "workers"):
        value = getattr(args, name)
        if value is not None and (value < 0 or (value == 0 and name != "workers")):
            parser.error(f"--{name.replace('_', '-')} must be positive, got {value}")
    for name in ("lr", "wd", "momentum"):
        if getattr(args, name) is not None and not math.isfinite(getattr(args, name)):
            parser.error(f"--{name} must be a finite number, got {getattr(args, name)}")
    if args.workers:
        args.workers = _cli.at_most_cores(args.workers, "--workers", "DataLoader worker processes")
    if args.out and os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error(f"--out {args.out} is a file; give a folder for the run")  # fail now, not after an epoch
    return args


def main(argv=None):
    parsed = []  # Ctrl-C may come while MXNet loads, before there are arguments

    def parse_and_run(argv):
        parsed.append(parse_args(argv))
        return run(parsed[0])
    started = time.time()
    return _cli.run_main(parse_and_run, argv,
                         interrupted=lambda: interrupted(parsed[0], started) if parsed else "interrupted")


def interrupted(args, started=0.0):
    """The line for Ctrl-C: where the run's last finished epoch is, if one finished."""
    out = args.resume or args.out or os.path.join("runs", f"{args.model}-{args.dataset}")
    last = os.path.join(out, train.LAST + ".json")
    if os.path.isfile(last) and (args.resume or os.path.getmtime(last) >= started):
        return f"interrupted: {out} keeps its last finished epoch; continue with --resume {out}"
    if os.path.isfile(last):  # --overwrite before this run's first checkpoint
        return f"interrupted before the first epoch finished; {out} keeps the run it held"
    return "interrupted before the first epoch finished"


def run(args):
    try:
        result = train.train(
            args.model, dataset=args.dataset, out=args.out, ctx=args.ctx, data_dir=args.data_dir,
            resume=args.resume, overwrite=args.overwrite, progress=not args.quiet, lr=args.lr, batch_size=args.batch_size,
            epochs=args.epochs, wd=args.wd, optimizer=args.optimizer, momentum=args.momentum,
            resize=args.resize, seed=args.seed, kvstore=args.kvstore, workers=args.workers)
    except FileNotFoundError:  # an input (--data-dir, --resume): run_main's line names it
        raise
    except OSError as err:  # e.g. a run folder we may not write to
        print(f"error: cannot write {err.filename or 'the run'}: {err.strerror or err}; choose another --out",
              file=sys.stderr)
        return 1
    m = result.manifest
    if m:
        print(f"best test accuracy {m['test_accuracy']:.4f} at epoch {m['epoch']}/{m['epochs']} "
              f"({result.seconds:.1f} s); parameters: {result.best_params}")
    else:  # a cluster worker other than the first
        print(f"training done ({result.seconds:.1f} s); the first worker writes the files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
