#!/usr/bin/env python
"""Classify images or .npy arrays with an exported model.onnx on ONNX Runtime, or time it.

  python tools/infer.py artifacts/lenet_bn digit.png more_digits/ --top-k 3
  python tools/infer.py artifacts/resnet18/model.onnx --bench 1,32 --json
  python tools/infer.py artifacts/lenet_bn digits/ --precision int8       # model.int8.onnx
  python tools/infer.py artifacts/lenet_bn --bench 1,32                   # every variant, same run
  python tools/infer.py artifacts/lenet_bn digits/ --top-k 2 --json > predictions.json
  python tools/infer.py ssd.onnx street.jpg --threshold 0.4 --draw street-boxes.png
  python tools/infer.py artifacts/lstm_lm prompt.txt --precision int8 --top-k 3  # next token
  python tools/infer.py artifacts/bert_small --bench 1,8 --seq-len 128           # every variant

A detector (GluonCV's ids/scores/boxes outputs) prints its top boxes with labels and scores.
A model with several inputs also takes .npz files holding arrays under the inputs' names (a BERT
classifier's ids, token types and lengths; inputs left out are filled: lengths full, others 0).

Preprocessing (colour, resize, scale, mean/std) and labels come from the manifest.json beside
the model (or the ONNX metadata); a model exported with untrained weights gets a warning.
Exit status: 0 done, 1 the model or an input cannot be used (one line on stderr), 2 a usage
error, 130 interrupted (Ctrl-C).
"""
import argparse
import json
import os
import sys

from hybridzoo_tools import _cli  # first: keeps this folder (and its export.py) off sys.path

# imported by main(), so that Ctrl-C while onnxruntime loads is one line
detection = OnnxModel = FP32 = PRECISIONS = available = check_precision = compare_latency = variant_path = None
DEFAULT_SEQ = SequenceModel = is_sequence_model = None


def _import_runtime():
    global detection, OnnxModel, FP32, PRECISIONS, available, check_precision, compare_latency, variant_path
    global DEFAULT_SEQ, SequenceModel, is_sequence_model
    from export.deploy import detection
    from export.deploy.runtime import OnnxModel
    from export.deploy.sequence import DEFAULT_SEQ, SequenceModel, is_sequence_model
    from export.precision.serving import FP32, PRECISIONS, available, check_precision, compare_latency, variant_path


def parse_args(argv=None):
    _import_runtime()
    parser = _cli.parser_from_doc(__doc__, usage="%(prog)s MODEL [INPUT ...] [--bench B1,B2] [options]",
                                  epilog_title="examples")
    parser.add_argument("model", help="model.onnx, or the artifact folder holding it")
    parser.add_argument("inputs", nargs="*", help="image files (PNG/JPEG/...), folders, or .npy arrays; "
                        "sequence models: text files (through the manifest's vocabulary), .npy token ids, or .npz "
                        "arrays by input name")
    parser.add_argument("--top-k", metavar="K", type=int, default=5, help="classes (detectors: boxes) to print per input (default 5)")
    parser.add_argument("--batch-size", metavar="N", type=int, default=32, help="inputs per run (default 32)")
    parser.add_argument("--providers", metavar="LIST", help="comma-separated, e.g. cuda,cpu (default: CUDA if available, else CPU)")
    parser.add_argument("--threads", metavar="N", type=int, help="onnxruntime intra-op threads (default: all cores)")
    parser.add_argument("--precision", type=_precisions, metavar="LIST",
                        help=f"variant(s) of the artifact folder to run: {', '.join(PRECISIONS)}, comma-separated; "
                             "the first classifies (default: the model file given, fp32 for a folder; "
                             "--bench on a folder compares every variant it has)")
    parser.add_argument("--bench", type=_batch_sizes, metavar="B1,B2",
                        help="time random batches of these sizes: latency p50/p90/p99, throughput, speed-up vs fp32")
    parser.add_argument("--seq-len", metavar="N", type=int, default=DEFAULT_SEQ,
                        help=f"sequence models: tokens per --bench sequence (default {DEFAULT_SEQ})")
    parser.add_argument("--repeats", metavar="N", type=int, default=50, help="timed runs per batch size (default 50)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.add_argument("--threshold", metavar="S", type=float, default=0.5, help="detectors: lowest score to print (default 0.5)")
    parser.add_argument("--draw", metavar="OUT", help="detectors: save the image with its boxes (one image: a file like out.png; several: a folder)")
    args = parser.parse_intermixed_args(argv)
    if not args.inputs and not args.bench:
        parser.error("give inputs to classify, or --bench batch sizes")
    if (args.top_k < 1 or args.batch_size < 1 or args.repeats < 1 or args.seq_len < 1
            or (args.threads is not None and args.threads < 1)):
        parser.error("--top-k, --batch-size, --repeats, --seq-len and --threads must be positive")
    if args.threads:
        args.threads = _cli.at_most_cores(args.threads, "--threads", "onnxruntime threads")
    return args


def _batch_sizes(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated batch sizes like 1,32, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be positive integers, got {text!r}")
    return sizes


def _precisions(text):
    try:
        return [check_precision(p.strip()) for p in text.split(",") if p.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def model_files(args):
    """``{precision: ONNX file}`` to run: the variants asked for, else the file given, else (a
    folder) fp32, or every variant the folder has when benchmarking."""
    if args.precision:
        return {p: variant_path(args.model, p) for p in args.precision}
    if not os.path.isdir(args.model):
        return {None: args.model}
    found = available(args.model) if args.bench else [FP32]
    return {p: variant_path(args.model, p) for p in found or [FP32]}


def open_model(path, args):
    """A SequenceModel for token ids / several inputs, else an OnnxModel (images, features)."""
    if is_sequence_model(os.path.join(path, "model.onnx") if os.path.isdir(path) else path):
        return SequenceModel(path, providers=args.providers, threads=args.threads, seq_len=args.seq_len)
    return OnnxModel(path, providers=args.providers, threads=args.threads)


def print_predictions(results):
    width = max(len(r["input"]) for r in results)
    for r in results:
        top = "  ".join(f"{t['label'] if t['label'] is not None else t['class']} {t['prob']:.3f}"
                        for t in r["top"])
        print(f"{r['input']:<{width}}  {top}")


def print_detections(results):
    for r in results:
        print(f"{r['input']}: {len(r['detections'])} box(es)")
        for d in r["detections"]:
            box = ", ".join(f"{v:.1f}" for v in d.box)
            print(f"  {d.label if d.label is not None else d.class_id}  {d.score:.3f}  [{box}]")


def run_inputs(model, args, report):
    """Classify, or for a detector find (and draw) boxes; fills ``report``."""
    if isinstance(model, SequenceModel):
        report["predictions"] = model.predict(args.inputs, top_k=args.top_k)
        return
    shapes = [o.shape for o in model.session.get_outputs()]
    if not detection.is_detector(shapes):
        report["predictions"] = model.classify(args.inputs, top_k=args.top_k, batch_size=args.batch_size)
        return
    found = detection.detect(model, args.inputs, args.threshold, args.top_k, args.batch_size)
    report["detections"] = found
    if args.draw:
        report["drawn"] = detection.draw_results(found, args.draw)


def print_bench(rows):
    print(f"{'batch':>5} {'precision':>9} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9} {'items/s':>10} {'vs fp32':>8}")
    for r in rows:
        speedup = "-" if r["speedup"] is None else f"{r['speedup']:.2f}x"
        print(f"{r['batch']:>5} {r['precision']:>9} {r['p50_ms']:>9.3f} {r['p90_ms']:>9.3f} {r['p99_ms']:>9.3f} "
              f"{r['throughput']:>10.1f} {speedup:>8}")


def main(argv=None):
    return _cli.run_main(lambda argv: run(parse_args(argv)), argv)


def run(args):
    try:
        models = {precision: open_model(path, args) for precision, path in model_files(args).items()}
        models = {precision or model.precision: model for precision, model in models.items()}
        model = next(iter(models.values()))
        report = {"model": model.name, "path": model.path, "precision": next(iter(models)),
                  "providers": model.providers, "input": {"name": model.input_name, "shape": list(model.input_shape)}}
        if args.inputs:
            run_inputs(model, args, report)
            if model.untrained_warning():
                print(f"warning: {model.untrained_warning()}", file=sys.stderr)
        if args.bench:
            report["bench"] = compare_latency(models, args.bench, repeats=args.repeats)
    except _cli.user_errors() as err:
        _cli.print_error(err)
        return _cli.EXIT_ERROR
    if args.json:
        print(json.dumps(report, indent=2, default=lambda d: d.to_dict()))
        return 0
    shape = ", ".join("N" if d is None or d == "batch" else str(d) for d in model.input_shape)
    print(f"{model.name} ({model.path}, {report['precision']}) on {', '.join(model.providers)}; "
          f"input {model.input_name} ({shape})")
    if "predictions" in report:
        print_predictions(report["predictions"])
    if "detections" in report:
        print_detections(report["detections"])
        for path in report.get("drawn", ()):
            print(f"boxes drawn: {path}")
    if "bench" in report:
        print_bench(report["bench"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
