#!/usr/bin/env python
"""Print the agreement table: every zoo model x max abs error of each backend vs imperative.

  python tools/agreement_table.py            # all models (about 3 minutes on 2 cores)
  python tools/agreement_table.py 'resnet*'  # an fnmatch pattern

Same nets, inputs and checks as tests/test_agreement.py (both use hybridzoo_tools.zoo_agreement,
so the table and the test cannot drift apart): fixed seed, randomized BatchNorm, batch 1 and 3 through one
dynamic-batch file (sequence models: other lengths too), optimized and one-to-one ONNX graphs.
A detector's detections are compared as detections (paired by class above a score threshold;
the last column counts them) and its tensors before NMS element by element.
"""
import sys
import tempfile

from hybridzoo_tools import _cli  # first: keeps this folder and its export.py off sys.path

import hybridzoo  # noqa: E402  (before mxnet)

BACKENDS = ("hybridized", "symbol", "onnx", "onnx-plain")


def main(pattern="*"):
    if not hybridzoo.list_models(pattern):
        hybridzoo.get_config(pattern)  # raises ValueError naming close matches
    from hybridzoo_tools import zoo_agreement as cases
    print(f"| model | input | {' | '.join(BACKENDS)} | tolerance | ok |")
    print("|---" * (len(BACKENDS) + 4) + "|")
    failed = 0
    for name in hybridzoo.list_models(pattern):
        net = cases.build(name)
        with tempfile.TemporaryDirectory() as tmp:
            inputs = cases.sample_inputs(net)
            report = cases.agreement(net, inputs, tmp, name)  # detectors: errors before NMS, detections matched
        errors = " | ".join(f"{report['errors'][b]:.2e}" for b in BACKENDS)
        # the first input's shape; "5 / 8": exported at 5, also run at 8 (a dynamic sequence length)
        shape = " / ".join(dict.fromkeys("x".join(map(str, x[0].shape[1:])) for x in inputs.values()))
        matched = f" ({sum(report['detections'])} detections)" if "detections" in report else ""
        print(f"| {name} | {shape} | {errors} | {report['tolerance']:.1e} | "
              f"{'yes' if report['passed'] else 'NO'}{matched} |", flush=True)
        failed += not report["passed"]
    return 1 if failed else 0


def parse_args(argv=None):
    parser = _cli.parser_from_doc(__doc__)
    parser.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern over model names (default: all)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(_cli.run_main(lambda args: main(args.pattern), parse_args()))
