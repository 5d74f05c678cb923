#!/usr/bin/env python
"""Benchmark INT8 against FP32: export time with --quantize int8, test accuracy, ORT latency.

  python tools/bench_precision.py               # lenet_bn resnet18 resnet50 densenet121 vgg11 mobilenet1_0 mobilenet_v2_1_0
  python tools/bench_precision.py --models resnet18 --threads 1 --repeats 30
  python tools/bench_precision.py --sequence                # BERT-base, RoBERTa, DistilBERT, LSTM LM, zoo nets
  python tools/bench_precision.py --sequence --models bert,lstm_lm --repeats 5

Per model: ``tools/export.py --quantize int8`` runs as a user would run it (its wall time, calibration
included, is the export figure); weights come from ``runs/<model>-digits`` when tools/train.py
wrote it, and the export then measures FP32 and INT8 accuracy on the digits test split. ImageNet
models calibrate on crops of scikit-learn's two bundled photographs (``--calib``). Latency:
FP32 and INT8 in one process on the same threads, interleaved rounds, medians; ratio > 1 means
INT8 is faster. Writes ``precision.md`` (dated, with the command and the machine) to ``--out``,
default docs/benchmarks/ (run it from the repository root), where docs/precision.md links it.

``--sequence``: dynamic INT8 (nothing to calibrate) of GluonNLP BERT-base, RoBERTa-base,
DistilBERT and the standard LSTM LM (published sizes, random weights, built offline by
hybridzoo.testing.gluonnlp_models) and the zoo's sequence models (untrained), FP32 vs INT8 at
threads 1 and 2 and batch 1 and 8 (transformers at 128 tokens, language models at 35), with
the CPU's ISA (AVX2 / AVX-512 VNNI / AMX), which decides what integer kernels ONNX Runtime has.
Writes ``precision-sequence.md``.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

from hybridzoo_tools import _cli  # noqa: F401  (first: keeps this folder and its export.py off sys.path)
from hybridzoo_tools.bench import write_table

DEFAULT_MODELS = "lenet_bn,resnet18,resnet50,densenet121,vgg11,mobilenet1_0,mobilenet_v2_1_0"
SEQUENCE_MODELS = "bert,roberta,distilbert,standard_lstm,bert_small,transformer_classifier,rnn_lm,gru_lm,lstm_lm"
PHOTO_CROPS = 64
DEFAULT_OUT = os.path.join("docs", "benchmarks")  # where the docs link the tables (docs/benchmarks/README.md)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", help=f"comma-separated (default {DEFAULT_MODELS}; with --sequence "
                        f"{SEQUENCE_MODELS})")
    parser.add_argument("--sequence", action="store_true", help="sequence models, dynamic INT8, threads 1 and 2")
    parser.add_argument("--batch-sizes", default="1,32", help="batch sizes (default 1,32)")
    parser.add_argument("--repeats", type=int, default=10, help="interleaved rounds per batch size (default 10)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="ONNX Runtime threads, both variants (default: all cores)")
    parser.add_argument("--runs", default="runs", help="folder of tools/train.py runs (default runs/)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="folder for precision.md (default docs/benchmarks/)")
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in (args.models or (SEQUENCE_MODELS if args.sequence else DEFAULT_MODELS)).split(",")
                   if m.strip()]
    if args.sequence and args.batch_sizes == "1,32":
        args.batch_sizes = "1,8"
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.repeats < 1 or args.threads < 1 or min(args.batch_sizes) < 1:
        parser.error("--repeats, --threads and batch sizes must be positive")
    return args


def export_int8(name, args, work, photos):
    """Run tools/export.py --quantize int8 for ``name``; return (seconds, artifact folder, trained)."""
    import hybridzoo

    run = os.path.join(args.runs, f"{name}-digits")
    command = [sys.executable, os.path.join(_cli.TOOLS_DIR, "export.py"), "--model", name, "--out", work,
               "--format", "onnx", "--quantize", "int8"]
    trained = os.path.isfile(os.path.join(run, "best.params"))
    if trained:
        command += ["--params", run]
    if hybridzoo.get_config(name).dataset == "imagenet":
        command += ["--calib", photos]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"error: {name}: export failed: {result.stderr.strip().splitlines()[-1]}")
    return seconds, os.path.join(work, name), trained


def measure(name, args, work, photos):
    from export.deploy.runtime import OnnxModel
    from export.precision.serving import compare_latency

    seconds, folder, trained = export_int8(name, args, work, photos)
    check = json.load(open(os.path.join(folder, "report.json")))["precision"]["int8"]
    calibration = json.load(open(os.path.join(folder, "manifest.json")))["variants"]["int8"]["calibration"]
    models = {p: OnnxModel(os.path.join(folder, f), threads=args.threads)
              for p, f in (("fp32", "model.onnx"), ("int8", "model.int8.onnx"))}
    rows = compare_latency(models, args.batch_sizes, repeats=args.repeats)
    row = {"model": name, "input": "×".join(map(str, models["fp32"].sample_shape)), "trained": trained,
           "calibration": f"{calibration['samples']} " + ("photo crops" if calibration["source"].startswith("folder")
                                                          else calibration["source"]), "export_s": seconds,
           "fp32_accuracy": check.get("fp32_accuracy"), "int8_accuracy": check.get("int8_accuracy"),
           "agreement": check["top1_agreement"]}
    for r in rows:
        row[(r["batch"], r["precision"])] = r["p50_ms"]
    return row


def table(rows, batch_sizes):
    acc = lambda v: "-" if v is None else f"{v:.4f}"
    head = ["model", "input", "weights", "calibration", "export s", "FP32 acc", "INT8 acc", "top-1 agree"]
    for b in batch_sizes:
        head += [f"b{b} FP32 ms", f"b{b} INT8 ms", f"b{b} ratio"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], r["input"], "digits-trained" if r["trained"] else "untrained", r["calibration"],
                 f"{r['export_s']:.1f}", acc(r["fp32_accuracy"]), acc(r["int8_accuracy"]), f"{r['agreement']:.4f}"]
        for b in batch_sizes:
            fp32, int8 = r[(b, "fp32")], r[(b, "int8")]
            cells += [f"{fp32:.2f}", f"{int8:.2f}", f"**{fp32 / int8:.2f}×**"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def machine(args):
    import onnxruntime
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    load = " (load average %.1f)" % os.getloadavg()[0] if hasattr(os, "getloadavg") else ""
    return (f"{time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} cores{load}; ONNX Runtime {onnxruntime.__version__}, "
            f"{args.threads} intra-op threads for both variants; medians of {args.repeats} interleaved rounds")


def cpu_isa():
    """The widest integer-dot-product ISA this CPU has: what ONNX Runtime's INT8 kernels use."""
    flags = set()
    if os.path.exists("/proc/cpuinfo"):
        flags = {f for line in open("/proc/cpuinfo") if line.startswith("flags") for f in line.split(":", 1)[1].split()}
    for flag, name in (("amx_int8", "AMX"), ("avx512_vnni", "AVX-512 VNNI"), ("avx_vnni", "AVX-VNNI"),
                       ("avx512bw", "AVX-512 (no VNNI)"), ("avx2", "AVX2")):
        if flag in flags:
            return name
    return "no AVX2 (" + platform.machine() + ")"


def sequence_onnx(name, work):
    """``(FP32 model.onnx path, sequence length)`` of a GluonNLP family (base size) or a zoo model."""
    from export import export_onnx
    from hybridzoo.testing import gluonnlp_models
    if name not in gluonnlp_models.FAMILIES:
        import hybridzoo
        from hybridzoo.seeded import init_model
        net = hybridzoo.get_model(name)
        init_model(net, 0)
        path = os.path.join(work, name, "model.onnx")
        os.makedirs(os.path.dirname(path))
        export_onnx(net, path, net.zoo_config.input_shapes(1), dynamic_axes=net.zoo_config.dynamic_axes())
        return path, 35 if name.endswith("_lm") else 128 if name == "bert_small" else 8
    case = gluonnlp_models.build(name, size="base")
    seq = 35 if name.endswith("lstm") else 128
    prefix = os.path.join(work, name, "symbol")
    os.makedirs(os.path.dirname(prefix))
    feeds = case.export_symbol(prefix, 1, seq)
    path = os.path.join(work, name, "model.onnx")
    export_onnx(prefix, path, input_shape={n: f.shape for n, f in feeds.items()}, dynamic_axes=case.dynamic_axes)
    return path, seq


def measure_sequence(name, args, work):
    """FP32 vs dynamic INT8 latency of one sequence model at each thread count and batch size."""
    from export.deploy.sequence import SequenceModel
    from export.precision.dynamic import quantize_dynamic_int8
    from export.precision.serving import compare_latency
    from export.memory import release_memory

    path, seq = sequence_onnx(name, work)
    release_memory()
    target = os.path.join(os.path.dirname(path), "model.int8.onnx")
    info = quantize_dynamic_int8(path, target)
    row = {"model": name, "seq": seq, "int8_ops": ", ".join(f"{op} x{n}" for op, n in info["quantized"].items())}
    for threads in (1, 2):
        models = {p: SequenceModel(f, threads=threads, seq_len=seq) for p, f in (("fp32", path), ("int8", target))}
        for r in compare_latency(models, args.batch_sizes, repeats=args.repeats):
            row[(threads, r["batch"], r["precision"])] = r["p50_ms"]
    return row


def sequence_table(rows, batch_sizes):
    head = ["model", "seq", "int8 ops"] + [f"t{t} b{b} FP32 / INT8 ms (ratio)" for t in (1, 2) for b in batch_sizes]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], str(r["seq"]), r["int8_ops"]]
        for t in (1, 2):
            for b in batch_sizes:
                fp32, int8 = r[(t, b, "fp32")], r[(t, b, "int8")]
                cells.append(f"{fp32:.2f} / {int8:.2f} (**{fp32 / int8:.2f}×**)")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main_sequence(args, argv):
    import onnxruntime
    rows = []
    header = (f"{time.strftime('%Y-%m-%d')}, CPU ISA {cpu_isa()}, {os.cpu_count()} cores (load average "
              f"{os.getloadavg()[0]:.1f}); ONNX Runtime {onnxruntime.__version__}; medians of {args.repeats} "
              "interleaved rounds, FP32 and INT8 in the same run; random weights")
    print(header, flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-precision-") as work:
        for name in args.models:
            rows.append(measure_sequence(name, args, work))
            print(sequence_table(rows[-1:], args.batch_sizes)[-1], flush=True)
    text = "\n".join([f"Machine: {header}", "", *sequence_table(rows, args.batch_sizes)]) + "\n"
    command = ("python tools/bench_precision.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    write_table(text, args.out, "precision-sequence.md", "Dynamic INT8 vs FP32, sequence models "
                "(tools/bench_precision.py --sequence)", command=command)
    return 0


def main(argv=None):
    args = parse_args(argv)
    import hybridzoo  # noqa: F401  (thread setup before anything loads MXNet)
    if args.sequence:
        return main_sequence(args, argv)
    from hybridzoo.data import write_photo_crops

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-precision-") as work:
        photos = os.path.join(work, "photos")
        write_photo_crops(photos, PHOTO_CROPS)
        for name in args.models:
            rows.append(measure(name, args, work, photos))
            print(table(rows[-1:], args.batch_sizes)[-1], flush=True)
    text = "\n".join([f"Machine: {machine(args)}", "", *table(rows, args.batch_sizes)]) + "\n"
    command = ("python tools/bench_precision.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    write_table(text, args.out, "precision.md", "INT8 vs FP32 (tools/bench_precision.py)", command=command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
