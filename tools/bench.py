#!/usr/bin/env python
"""Benchmark MXNet (imperative, hybridized) against ONNX Runtime on our graph and on mx2onnx's.

  python tools/bench.py                                   # D2L set + resnet50 + densenet121
  python tools/bench.py --models lenet,alexnet --repeats 3 --batch-sizes 1,32
  python tools/bench.py --set nlp --threads 2            # BERT-base (seq 128) and an LSTM LM, batch 1 and 8
  python tools/bench.py --models 'resnet*' --threads 1 --no-peer --out bench/resnets
  python tools/bench.py --set detection                  # SSD, YOLOv3, Faster R-CNN (tools/bench_detection.py)

Run it from the repository root: each set writes its Markdown table to docs/benchmarks/ (zoo.md,
nlp.md, detection.md; the zoo set also zoo.png, git-ignored), where the docs link it; --out DIR
writes elsewhere (bench/ is git-ignored).

For each model, in one process: the same weights (seeded init, randomized BatchNorm) run as
an imperative and a hybridized Gluon net, and in ONNX Runtime from our ``export_onnx`` file and
from ``mx.onnx.export_model``'s file (the peer) made from the same symbol files. Backends are
measured interleaved (round robin, order rotated each round); each figure is the median over
rounds of the mean call time within a round. MXNet (OMP_NUM_THREADS) and ONNX Runtime
(intra_op_num_threads) get the same thread count. Writes ``zoo.md`` (Markdown table: date, command,
machine and versions) and ``zoo.png`` (bar chart) to ``--out`` (default docs/benchmarks/).
Exit status: 0 done, 2 a usage error (e.g. an unknown model), 130 interrupted (Ctrl-C).

This is the only place that imports mx2onnx: MXNet 1.9.1's exporter needs ``onnx.mapping``,
which current onnx removed, so ``_install_onnx_mapping_shim`` recreates it from onnx.helper.
"""
import os
import platform
import sys
import tempfile
import time
import types

from hybridzoo_tools import _cli  # first: keeps this folder and its export.py off sys.path

EXTRA_MODELS = ("resnet50", "densenet121")
DEFAULT_OUT = os.path.join("docs", "benchmarks")  # where the docs link the tables (docs/benchmarks/README.md)


def parse_args(argv=None):
    parser = _cli.parser_from_doc(__doc__, usage="%(prog)s [--models LIST] [options]", epilog_title="examples")
    parser.add_argument("--set", choices=("zoo", "nlp", "detection"), default="zoo",
                        help="zoo: the zoo's models (default); nlp: GluonNLP BERT-base and a standard LSTM LM "
                             "(tools/bench_nlp.py); detection: SSD, YOLOv3, Faster R-CNN, batch 1 (tools/bench_detection.py)")
    parser.add_argument("--models", metavar="LIST", help="comma-separated names or wildcards (default: the D2L set, resnet50, densenet121)")
    parser.add_argument("--batch-sizes", metavar="LIST", default="1,32", help="batch sizes (default 1,32): latency at the first, throughput at the others")
    parser.add_argument("--repeats", metavar="N", type=int, default=7, help="interleaved rounds per batch size (default 7)")
    parser.add_argument("--min-time", metavar="S", type=float, default=0.2, help="seconds of calls per backend per round (default 0.2)")
    parser.add_argument("--threads", metavar="N", type=int, help="threads for MXNet and ONNX Runtime alike (default: all cores)")
    parser.add_argument("--opset", metavar="N", type=int, help="opset for our export (default: the exporter's)")
    parser.add_argument("--no-peer", action="store_true", help="skip mx2onnx")
    parser.add_argument("--seed", metavar="N", type=int, default=0, help="weights seed (default 0)")
    parser.add_argument("--out", metavar="DIR", default=DEFAULT_OUT,
                        help="folder for the set's table: zoo.md and zoo.png, nlp.md or detection.md (default docs/benchmarks/)")
    args = parser.parse_args(argv)
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    except ValueError:
        parser.error(f"--batch-sizes takes comma-separated integers like 1,32, got {args.batch_sizes!r}")
    if args.repeats < 1 or min(args.batch_sizes) < 1:
        parser.error("--repeats and batch sizes must be positive")
    return args


def _install_onnx_mapping_shim():
    """Recreate the removed ``onnx.mapping`` (the two dicts mx2onnx reads) from onnx.helper."""
    import onnx
    from onnx import TensorProto, helper

    if hasattr(onnx, "mapping"):
        return
    to_np = {}
    for _, tensor_type in TensorProto.DataType.items():
        try:
            to_np[tensor_type] = helper.tensor_dtype_to_np_dtype(tensor_type)
        except (KeyError, ValueError, TypeError):  # UNDEFINED and types numpy cannot hold
            continue
    module = types.ModuleType("onnx.mapping")
    module.TENSOR_TYPE_TO_NP_TYPE = to_np
    module.NP_TYPE_TO_TENSOR_TYPE = {}
    for tensor_type, dtype in to_np.items():
        module.NP_TYPE_TO_TENSOR_TYPE.setdefault(dtype, tensor_type)
    sys.modules["onnx.mapping"] = module
    onnx.mapping = module


def select_models(hybridzoo, patterns):
    if patterns:
        names = []
        for pattern in patterns.split(","):
            found = hybridzoo.list_models(pattern.strip())
            if not found:
                hybridzoo.get_config(pattern.strip())  # raises with close-match suggestions
            names.extend(n for n in found if n not in names)
        return names
    d2l = [n for n in hybridzoo.list_models() if hybridzoo.get_config(n).dataset == "fashion_mnist"]
    return d2l + [n for n in EXTRA_MODELS if n in hybridzoo.list_models()]


class ModelBench:
    """The four backends of one model, their export times and their agreement."""

    def __init__(self, name, args, workdir):
        import export
        import hybridzoo
        import mxnet as mx
        from hybridzoo.seeded import init_model
        from export.deploy.runtime import session_options
        import onnxruntime as ort

        self.name, self.mx = name, mx
        config = hybridzoo.get_config(name)
        self.sample_shape = tuple(config.input_shape)
        ctx = mx.cpu()
        hybrid = init_model(hybridzoo.get_model(name), args.seed, ctx=ctx)
        imperative = hybridzoo.get_model(name)
        params_file = os.path.join(workdir, f"{name}.params")
        hybrid.save_parameters(params_file)
        imperative.load_parameters(params_file, ctx=ctx)
        hybrid.hybridize(static_alloc=True, static_shape=True)
        hybrid(mx.nd.zeros((1,) + self.sample_shape, ctx=ctx))  # HybridBlock.export needs one forward
        prefix = os.path.join(workdir, name)
        hybrid.export(prefix)  # both exporters start from the same symbol files
        symbol_file, weights_file = f"{prefix}-symbol.json", f"{prefix}-0000.params"

        ours_file = os.path.join(workdir, f"{name}.onnx")
        start = time.perf_counter()
        export.export_onnx(prefix, ours_file, input_shape=(1,) + self.sample_shape, opset=args.opset)
        self.export_ours = time.perf_counter() - start
        self.export_peer = None
        options = session_options(args.threads)
        options.log_severity_level = 3  # the peer's initializers-as-inputs warn once per weight
        self.backends = {
            "MXNet imperative": self._mxnet(imperative, ctx),
            "MXNet hybridized": self._mxnet(hybrid, ctx),
            "ORT ours": self._ort(ort.InferenceSession(ours_file, options, providers=["CPUExecutionProvider"])),
        }
        if not args.no_peer:
            peer_file = os.path.join(workdir, f"{name}-mx2onnx.onnx")
            start = time.perf_counter()
            mx.onnx.export_model(symbol_file, weights_file, [(1,) + self.sample_shape], onnx_file_path=peer_file,
                                 dynamic=True, dynamic_input_shapes=[(None,) + self.sample_shape])
            self.export_peer = time.perf_counter() - start
            self.backends["ORT mx2onnx"] = self._ort(
                ort.InferenceSession(peer_file, options, providers=["CPUExecutionProvider"]))

    def _mxnet(self, net, ctx):
        mx = self.mx

        def run(x):
            return net(mx.nd.array(x, ctx=ctx)).asnumpy()
        return run

    @staticmethod
    def _ort(session):
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})[0]

    def agreement(self, batch, seed):
        """max |backend - imperative| on one random batch, relative to max |imperative| (>= 1)."""
        import numpy as np
        x = np.random.default_rng(seed).standard_normal((batch,) + self.sample_shape).astype(np.float32)
        reference = self.backends["MXNet imperative"](x)
        scale = max(1.0, float(np.abs(reference).max()))
        return {b: float(np.abs(fn(x) - reference).max()) / scale for b, fn in self.backends.items()}


def measure(backends, batch, sample_shape, repeats, min_time, seed):
    """Interleaved rounds; returns {backend: median over rounds of mean seconds per call}."""
    import numpy as np
    x = np.random.default_rng(seed).standard_normal((batch,) + sample_shape).astype(np.float32)
    return measure_calls({name: (lambda fn=fn: fn(x)) for name, fn in backends.items()}, repeats, min_time)


def measure_calls(calls, repeats, min_time):
    """``calls``: {backend: zero-argument call}. After one warm-up call each (allocation, ORT
    arena, MXNet graph caching), interleaved rounds with the order rotated each round; returns
    {backend: median over rounds of mean seconds per call}."""
    import numpy as np
    names = list(calls)
    for fn in calls.values():
        fn()
    rounds = {n: [] for n in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn, count, start = calls[name], 0, time.perf_counter()
            while True:
                fn()
                count += 1
                elapsed = time.perf_counter() - start
                if elapsed >= min_time:
                    break
            rounds[name].append(elapsed / count)
    return {n: float(np.median(t)) for n, t in rounds.items()}


def peer_export(symbol_file, params_file, shapes, dynamic_shapes, path, opset=None):
    """mx2onnx on the symbol files (float32 inputs). ``opset`` pins the opset it converts for
    and stamps (``onnx.defs.onnx_opset_version()``, else onnx's newest, at which its graphs can
    be invalid) and the one its ``checker.check_graph`` call checks against (else the newest)."""
    import mxnet as mx
    import numpy as np
    import onnx
    saved = onnx.defs.onnx_opset_version, onnx.checker.check_graph
    if opset:
        context = onnx.checker.C.CheckerContext()
        context.ir_version = onnx.helper.find_min_ir_version_for([onnx.helper.make_opsetid("", opset)])
        context.opset_imports = {"": opset}
        onnx.defs.onnx_opset_version = lambda: opset
        onnx.checker.check_graph = lambda graph, ctx=None, *a, **k: saved[1](graph, context, *a, **k)
    try:
        mx.onnx.export_model(symbol_file, params_file, list(shapes), [np.float32] * len(shapes), path,
                             dynamic=True, dynamic_input_shapes=list(dynamic_shapes))
    finally:
        onnx.defs.onnx_opset_version, onnx.checker.check_graph = saved
    return path


def machine_line(threads):
    import mxnet as mx
    import onnx
    import onnxruntime as ort
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} logical cores (load average {load} at the end of the run), "
            f"{threads} threads for MXNet and ORT, OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY', 'unset')}; "
            f"Python {platform.python_version()}, mxnet {mx.__version__}, onnxruntime {ort.__version__}, "
            f"onnx {onnx.__version__}")


def markdown(rows, batch_sizes, machine, command):
    lat, *thr = batch_sizes
    head = ["model", "input", "export ours s", "export mx2onnx s", "export speed-up",
            f"b{lat} MXNet imp ms", f"b{lat} MXNet hyb ms", f"b{lat} ORT ours ms", f"b{lat} ORT mx2onnx ms",
            f"b{lat} ours vs mx2onnx", f"b{lat} ours vs hybridized"]
    for b in thr:
        head += [f"b{b} MXNet hyb img/s", f"b{b} ORT ours img/s", f"b{b} ORT mx2onnx img/s", f"b{b} ours vs mx2onnx"]
    head += ["max rel. error ours", "max rel. error mx2onnx"]
    lines = [f"Machine: {machine}", "", f"Command: `{command}`", "",
             "Ratios > 1 mean ours is faster (time ratio peer/ours, or throughput ratio ours/peer). "
             "Latency: mean per call, median of interleaved rounds.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        t = row["times"]
        cells = [row["model"], "×".join(map(str, row["shape"])), _f(row["export_ours"], 3), _f(row["export_peer"], 2),
                 _ratio(row["export_peer"], row["export_ours"])]
        b = t[lat]
        cells += [_ms(b.get("MXNet imperative")), _ms(b.get("MXNet hybridized")), _ms(b.get("ORT ours")),
                  _ms(b.get("ORT mx2onnx")), _ratio(b.get("ORT mx2onnx"), b.get("ORT ours")),
                  _ratio(b.get("MXNet hybridized"), b.get("ORT ours"))]
        for size in thr:
            s = t[size]
            cells += [_ips(size, s.get("MXNet hybridized")), _ips(size, s.get("ORT ours")),
                      _ips(size, s.get("ORT mx2onnx")), _ratio(s.get("ORT mx2onnx"), s.get("ORT ours"))]
        cells += [_e(row["error"].get("ORT ours")), _e(row["error"].get("ORT mx2onnx"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _f(value, digits):
    return "–" if value is None else f"{value:.{digits}f}"


def _ms(seconds):
    return "–" if seconds is None else f"{seconds * 1e3:.2f}"


def _ips(batch, seconds):
    return "–" if seconds is None else f"{batch / seconds:.1f}"


def _ratio(slow, fast):
    return "–" if slow is None or fast is None else f"**{slow / fast:.2f}×**"


def _e(value):
    return "–" if value is None else f"{value:.1e}"


def ratios(row, batch_sizes):
    """The headline ratios of one model (> 1: ours is faster); missing backends give None."""
    lat, *thr = batch_sizes
    t = row["times"]

    def ratio(slow, fast):
        return None if slow is None or fast is None else slow / fast
    found = {"export: mx2onnx time / ours": ratio(row["export_peer"], row["export_ours"]),
             f"b{lat} latency: mx2onnx / ours": ratio(t[lat].get("ORT mx2onnx"), t[lat].get("ORT ours")),
             f"b{lat} latency: MXNet hybridized / ORT ours": ratio(t[lat].get("MXNet hybridized"),
                                                                   t[lat].get("ORT ours"))}
    for b in thr:
        found[f"b{b} throughput: ours / mx2onnx"] = ratio(t[b].get("ORT mx2onnx"), t[b].get("ORT ours"))
    return found


def chart(rows, batch_sizes, path):
    """Grouped bars of the headline ratios per model, log scale, 1 = parity."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    table = [ratios(r, batch_sizes) for r in rows]
    series = list(table[0])
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(rows) + 2), 5))
    x = np.arange(len(rows))
    width = 0.8 / len(series)
    for i, name in enumerate(series):
        values = [t[name] or 0.0 for t in table]
        bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=name)
        ax.bar_label(bars, [f"{v:.1f}" if v else "" for v in values], fontsize=7, padding=1)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(x, [r["model"] for r in rows])
    ax.set_ylabel("ratio (> 1: ours faster)")
    ax.set_title("hybridzoo export + ONNX Runtime vs mx2onnx and MXNet")
    ax.set_ylim(top=max(v or 1.0 for t in table for v in t.values()) * 4)  # room for the labels
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    try:
        return run(parse_args(argv), argv)
    except KeyboardInterrupt:
        print("interrupted: no table was written", file=sys.stderr)
        return 130


def run(args, argv=None):
    # Same thread count for both engines; OpenMP reads it when libmxnet loads, so set it first.
    threads = args.threads or len(os.sched_getaffinity(0))
    args.threads = threads
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import hybridzoo
    from tqdm import tqdm

    if not args.no_peer:
        _install_onnx_mapping_shim()
    if args.set == "nlp":
        return _main_nlp(args, argv)
    if args.set == "detection":
        return _detection(args, argv)
    try:
        models = select_models(hybridzoo, args.models)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in tqdm(models, desc="bench", unit="model"):
            bench = ModelBench(name, args, workdir)
            times = {b: measure(bench.backends, b, bench.sample_shape, args.repeats, args.min_time, args.seed)
                     for b in args.batch_sizes}
            rows.append({"model": name, "shape": bench.sample_shape, "export_ours": bench.export_ours,
                         "export_peer": bench.export_peer, "times": times,
                         "error": bench.agreement(2, args.seed)})
            del bench
    write_table(markdown(rows, args.batch_sizes, machine_line(threads), command_line(argv)), args.out, "zoo.md",
                "the zoo set, ours vs mx2onnx vs MXNet")
    chart(rows, args.batch_sizes, os.path.join(args.out, "zoo.png"))
    print(f"wrote {os.path.join(args.out, 'zoo.png')}")
    return 0


def command_line(argv):
    """The command as a reader would type it, for the table's header."""
    return ("python tools/bench.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()


def _main_nlp(args, argv):
    from hybridzoo_tools import bench_nlp as nlp
    with tempfile.TemporaryDirectory() as workdir:
        rows = nlp.run(args, workdir, sys.modules[__name__])
    write_table(nlp.markdown(rows, machine_line(args.threads), command_line(argv), sys.modules[__name__]),
                args.out, "nlp.md", "GluonNLP (--set nlp), ours vs mx2onnx vs MXNet")
    return 0


def _detection(args, argv):
    """The detection set, from tools/bench_detection.py."""
    from hybridzoo_tools import bench_detection
    write_table(bench_detection.run(args, measure, machine_line), args.out, "detection.md",
                "detectors (--set detection), ours vs mx2onnx vs MXNet", command=command_line(argv))
    return 0


def write_table(text, folder, name, title, command=None):
    """Print a set's Markdown table and keep it in ``folder/name`` under a dated title (and the
    command, when ``text`` does not name it): the file docs/benchmarks/ links."""
    head = f"# Benchmark: {title}, {time.strftime('%Y-%m-%d')}\n\n"
    if command:
        head += f"Command: `{command}`\n\n"
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + text)
    print(head + text)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
