#!/usr/bin/env python
"""Benchmark: train the 28x28 D2L classifiers on digits and print a Markdown accuracy table.

  python tools/accuracy_table.py                       # all five, runs under runs/accuracy/
  python tools/accuracy_table.py --models lenet_bn --out /tmp/acc

Each model trains with its digits recipe (hybridzoo.train.DATASET_RECIPES) on the fixed
1,437/360 split. "best" is the checkpoint kept in best.params (selected on the test split, so
optimistic); "final" is the last epoch's test accuracy. Wall time includes data preparation
and per-epoch evaluation. Targets: >= 0.93 each, lenet_bn >= 0.97, each under 5 minutes.
"""
import os
import time

import hybridzoo

from hybridzoo_tools import _cli  # first: keeps this folder and its export.py off sys.path
from hybridzoo import train

MODELS = ("softmax_regression", "mlp", "mlp_dropout", "lenet", "lenet_bn")


def main(argv=None):
    parser = _cli.parser_from_doc(__doc__)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=hybridzoo.list_models(),
                        metavar="MODEL", help=f"default: {' '.join(MODELS)}")
    parser.add_argument("--out", default=os.path.join("runs", "accuracy"), help="parent of the run directories")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rows = []
    for name in args.models:
        started = time.perf_counter()
        result = train.train(name, dataset="digits", out=os.path.join(args.out, name), seed=args.seed,
                             progress=False, overwrite=True)  # the table's own runs, made anew each time
        seconds = time.perf_counter() - started
        recipe, manifest = result.manifest["recipe"], result.manifest
        rows.append(f"| {name} | {recipe['optimizer']} lr {recipe['lr']:g}, batch {recipe['batch_size']}, "
                    f"{recipe['epochs']} epochs | {manifest['test_accuracy']:.4f} (epoch {manifest['epoch']}) "
                    f"| {manifest['final']['test_accuracy']:.4f} | {seconds:.1f} |")
        print(rows[-1], flush=True)
    print()
    print("| model | digits recipe | best test acc | final test acc | wall time (s) |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
