"""Print a Markdown table of each D2L model's parameter count and forward time, imperative
vs hybridized (median of --repeats runs; batch 256 for 28x28 models, 32 for the others).

    python tools/zoo_stats.py [--repeats 5] [--batch N] [--models lenet resnet18 ...]
"""
import argparse
import os

import hybridzoo  # noqa: F401  (before mxnet: sets the OpenMP thread count)
from hybridzoo.stats import default_batch, model_stats

D2L_MODELS = ("linear_regression", "softmax_regression", "mlp", "mlp_dropout", "lenet", "lenet_bn",
              "alexnet", "vgg11", "vgg11:width=4", "nin", "googlenet", "resnet18", "densenet")


def parse_model(spec):
    """``"vgg11:width=4"`` -> ("vgg11", {"width": 4})."""
    name, _, args = spec.partition(":")
    kwargs = dict(arg.split("=", 1) for arg in args.split(",") if arg)
    return name, {key: int(value) for key, value in kwargs.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=D2L_MODELS,
                        help="registered names, optionally with integer kwargs: vgg11:width=4")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per mode (median)")
    parser.add_argument("--batch", type=int, default=None,
                        help="batch size for every model (default: 256 for 28x28 inputs, else 32)")
    args = parser.parse_args(argv)
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, load average "
          f"{os.getloadavg()[0]:.1f}\n")
    print("| model | params | batch | imperative (ms) | hybridized (ms) | speed-up |")
    print("|---|---:|---:|---:|---:|---:|")
    for spec in args.models:
        name, kwargs = parse_model(spec)
        batch = args.batch or default_batch(name)
        stats = model_stats(name, batch, args.repeats, **kwargs)
        imperative, hybridized = stats["imperative"] * 1e3, stats["hybridized"] * 1e3
        print(f"| {spec} | {stats['params']:,} | {batch} | {imperative:.1f} | {hybridized:.1f} "
              f"| {imperative / hybridized:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
