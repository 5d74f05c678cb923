#!/usr/bin/env python
"""Print the agreement table: every zoo model x max abs error of each backend vs imperative.

  python tools/agreement_table.py            # all models (about 3 minutes on 2 cores)
  python tools/agreement_table.py 'resnet*'  # an fnmatch pattern

Same nets, inputs and checks as tests/test_agreement.py (imported from there, so the table
and the test cannot drift apart): fixed seed, randomized BatchNorm, batch 1 and 3 through one
dynamic-batch file, optimized and one-to-one ONNX graphs.
"""
import importlib.util
import os
import sys
import tempfile

sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]

import hybridzoo  # noqa: E402  (before mxnet)
from export import verify  # noqa: E402

TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "test_agreement.py")
BACKENDS = ("hybridized", "symbol", "onnx", "onnx-plain")


def load_test_module():
    spec = importlib.util.spec_from_file_location("test_agreement", TESTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(pattern="*"):
    cases = load_test_module()
    print(f"| model | input | {' | '.join(BACKENDS)} | tolerance | ok |")
    print("|---" * (len(BACKENDS) + 4) + "|")
    failed = 0
    for name in hybridzoo.list_models(pattern):
        net = cases.build(name)
        with tempfile.TemporaryDirectory() as tmp:
            report = verify.agreement(net, cases.sample_inputs(net), tmp, name)
        errors = " | ".join(f"{report['errors'][b]:.2e}" for b in BACKENDS)
        shape = "x".join(map(str, net.zoo_config.input_shape))
        print(f"| {name} | {shape} | {errors} | {report['tolerance']:.1e} | "
              f"{'yes' if report['passed'] else 'NO'} |", flush=True)
        failed += not report["passed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
