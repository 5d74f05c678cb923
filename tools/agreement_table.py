#!/usr/bin/env python
"""Print the agreement table: every zoo model x max abs error of each backend vs imperative.

  python tools/agreement_table.py            # all models (about 3 minutes on 2 cores)
  python tools/agreement_table.py 'resnet*'  # an fnmatch pattern

Same nets, inputs and checks as tests/test_agreement.py (imported from there, so the table
and the test cannot drift apart): fixed seed, randomized BatchNorm, batch 1 and 3 through one
dynamic-batch file (sequence models: other lengths too), optimized and one-to-one ONNX graphs.
A detector's detections are compared as detections (paired by class above a score threshold;
the last column counts them) and its tensors before NMS element by element.
"""
import argparse
import importlib.util
import os
import sys
import tempfile

sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]

import hybridzoo  # noqa: E402  (before mxnet)

TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "test_agreement.py")
BACKENDS = ("hybridized", "symbol", "onnx", "onnx-plain")


def load_test_module():
    """tests/test_agreement.py as a module; it needs pytest (the ``test`` extra) and a git checkout."""
    if not os.path.isfile(TESTS):
        raise SystemExit(f"error: {TESTS} not found; run this from a git checkout of hybridzoo")
    spec = importlib.util.spec_from_file_location("test_agreement", TESTS)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as err:
        raise SystemExit(f"error: this table reuses tests/test_agreement.py, which needs {err.name}; "
                         "install the test extra: pip install -e '.[test]'") from None
    return module


def main(pattern="*"):
    if not hybridzoo.list_models(pattern):
        hybridzoo.get_config(pattern)  # raises ValueError naming close matches
    cases = load_test_module()
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern over model names (default: all)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        sys.exit(main(parse_args().pattern))
    except ValueError as err:
        sys.exit(f"error: {err}")
