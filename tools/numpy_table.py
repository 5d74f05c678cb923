#!/usr/bin/env python
"""Print the numpy-interface table: D2L's nets written in numpy mode (hybridzoo_tools.numpy_nets)
x ONNX Runtime's max error against the imperative net and export_onnx's time, the coverage of
MXNet's numpy interface, and the export time of a numpy-mode net against its legacy-API twin.

  python tools/numpy_table.py                  # every numpy-mode net, then the twins
  python tools/numpy_table.py --repeats 5      # median of 5 exports each
"""
import os
import statistics
import sys
import tempfile
import time

from hybridzoo_tools import _cli  # first: keeps this folder and its export.py off sys.path

import hybridzoo  # noqa: E402  (before mxnet)
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from mxnet import npx  # noqa: E402

from export import export_onnx  # noqa: E402
from export.onnx import numpy_interface_coverage  # noqa: E402
from hybridzoo_tools import numpy_nets  # noqa: E402

# numpy-mode net at the book's width -> the zoo's legacy-API model of the same architecture
TWINS = {"resnet18": (lambda: numpy_nets.resnet18((64, 128, 256, 512), 96), "resnet18"),
         "densenet": (lambda: numpy_nets.densenet(32, (4, 4, 4, 4), 64, 96), "densenet")}


def _timed_export(net, shapes, dtypes, folder, repeats, **kwargs):
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        path = export_onnx(net, os.path.join(folder, f"m{i}.onnx"), input_shape=shapes, input_dtype=dtypes,
                           **kwargs)
        times.append(time.perf_counter() - start)
    return path, statistics.median(times)


def net_row(name, folder, repeats):
    net, inputs = numpy_nets.NUMPY_NETS[name]()
    refs = net(*[mx.np.array(x, dtype=x.dtype) for x in inputs])
    refs = [r.asnumpy() for r in (refs if isinstance(refs, (list, tuple)) else [refs])]
    path, seconds = _timed_export(net, [x.shape for x in inputs], [x.dtype for x in inputs], folder,
                                  repeats, dynamic_axes=numpy_nets.dynamic_axes(name, inputs))
    names = ["data"] if len(inputs) == 1 else [f"data{i}" for i in range(len(inputs))]
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    gots = session.run(None, dict(zip(names, inputs)))
    return max(float(np.abs(g - r).max()) for g, r in zip(gots, refs)), seconds


def twin_row(name, folder, repeats):
    """Median export seconds of the numpy-mode net and of its legacy twin, runs interleaved."""
    make, zoo_name = TWINS[name]
    net, shape = make()
    numpy_nets.build(net, [np.zeros(shape, np.float32)])
    npx.reset_np()
    legacy = hybridzoo.get_model(zoo_name)
    legacy.initialize(mx.init.Xavier())
    times = {"numpy": [], "legacy": []}
    for _ in range(repeats):
        for kind, block in (("numpy", net), ("legacy", legacy)):
            if kind == "numpy":
                npx.set_np()
            times[kind].append(_timed_export(block, [shape], ["float32"], folder, 1)[1])
            npx.reset_np()
    npx.set_np()
    return statistics.median(times["numpy"]), statistics.median(times["legacy"])


def parse_args(argv=None):
    parser = _cli.parser_from_doc(__doc__, epilog_title="examples")
    parser.add_argument("--repeats", type=int, default=3, help="exports per net (median; default 3)")
    return parser.parse_args(argv)


def main(args):
    cov = numpy_interface_coverage()
    print(f"numpy interface: {cov['covered']} of {cov['with_onnx_meaning']} ops with an ONNX meaning "
          f"convert ({cov['registered']} registered); not yet: {', '.join(cov['not_covered']) or 'none'}")
    npx.set_np()
    try:
        with tempfile.TemporaryDirectory() as folder:
            print(f"{'net':<18}{'max |ORT - imperative|':>24}{'export s':>10}")
            for name in sorted(numpy_nets.NUMPY_NETS):
                err, seconds = net_row(name, folder, args.repeats)
                print(f"{name:<18}{err:>24.2e}{seconds:>10.3f}")
            print(f"{'twin (book width)':<18}{'numpy-mode s':>14}{'legacy-API s':>14}{'ratio':>8}")
            for name in TWINS:
                numpy_seconds, legacy_seconds = twin_row(name, folder, args.repeats)
                ratio = numpy_seconds / legacy_seconds
                print(f"{name:<18}{numpy_seconds:>14.3f}{legacy_seconds:>14.3f}{ratio:>8.2f}")
    finally:
        npx.reset_np()
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run_main(main, parse_args()))
