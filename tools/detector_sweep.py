#!/usr/bin/env python
"""Export the 29 GluonCV detectors of MXNet's own ONNX test-suite and check ORT against MXNet.

  python tools/detector_sweep.py                         # all 29 at 512x512, R-CNNs with 100 proposals
  python tools/detector_sweep.py 'ssd_*' --size 300 --rois 0   # a pattern; --rois 0: GluonCV's own count
  python tools/detector_sweep.py --spread faster_rcnn_resnet50_v1b_voc

Each model runs in its own process (memory is released between models), built offline with
test weights that give distinct scores (``hybridzoo.testing.gluoncv_detectors``), exported as a user would
(dynamic batch; R-CNNs fix it at 1) and compared as MXNet's test-suite compares detectors
(``export.verify_detection``): matched detections above a threshold, and the raw pre-NMS
tensors' relative error (judged against MXNet's float64 result when over 1e-4); a second export
with dynamic image size is checked at another size. ``--spread`` also runs MXNet without MKLDNN on the raw tensors: how far
MXNet's own two CPU implementations are apart, the yardstick for float32 rounding. Latency:
median of ``--repeats`` calls, MXNet hybridized vs ORT, both on ``--threads`` threads.
Prints a Markdown table; exit status 1 when any model fails.
"""
import argparse
import fnmatch
import os
import sys
import tempfile
import time
import warnings

from hybridzoo_tools import _cli  # first: keeps this folder and its export.py off sys.path


def parse_args(argv=None):
    parser = _cli.parser_from_doc(__doc__)
    parser.add_argument("models", nargs="*", help="names or wildcards (default: all 29)")
    parser.add_argument("--size", type=int, default=512, help="square input side (default 512)")
    parser.add_argument("--rois", type=int, default=100, help="R-CNN proposals kept, 0: GluonCV's own (default 100)")
    parser.add_argument("--opset", type=int, help="opset (default: the exporter's)")
    parser.add_argument("--threads", type=int, default=2, help="threads for MXNet and ORT alike (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per backend (default 5)")
    parser.add_argument("--spread", action="store_true", help="also measure MXNet MKLDNN vs reference kernels")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per model (default 1800)")
    return parser.parse_args(argv)


def select(patterns):
    from hybridzoo.testing.gluoncv_detectors import DETECTORS
    names = [n for n in DETECTORS if not patterns or any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    if not names:
        raise SystemExit(f"error: no detector matches {' '.join(patterns)}; see hybridzoo.testing.gluoncv_detectors.DETECTORS")
    return names


def check(args):
    """One model (``args.one``) in a child process: its table row (``args.raw_out``: only save
    MXNet's raw tensors there)."""
    import hybridzoo  # noqa: F401  (thread count before mxnet)
    import mxnet as mx
    import numpy as np
    import onnxruntime as ort

    from export import export_onnx
    from export.deploy.runtime import session_options, time_calls
    from export.verify_detection import compare_detections, defined_roi_align, mxnet_raw_tensors, raw_agreement
    from hybridzoo.testing.gluoncv_detectors import build_detector

    size, name = args.size, args.one
    net = build_detector(name, size=size, rois=args.rois or None, context=defined_roi_align)
    net.hybridize()
    batch = np.random.RandomState(1).uniform(-1, 1, (1, 3, size, size)).astype(np.float32)
    if args.raw_out:  # only MXNet's raw tensors (the --spread run)
        np.savez(args.raw_out, *mxnet_raw_tensors(net, batch))
        return {}
    row = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # R-CNNs: the batch is exported fixed
            start = time.perf_counter()
            export_onnx(net, path, input_shape=batch.shape, opset=args.opset)  # as a user would
            row["export_s"] = time.perf_counter() - start
            row["dynamic_size"] = _dynamic_size(net, batch, os.path.join(tmp, "dynamic.onnx"), args.opset)
        result = compare_detections(net, batch, path)
        (report,) = result["images"]
        row.update(reference=report["reference"], matched=report["matched"], candidate=report["candidate"],
                   threshold=result["threshold"])
        raw = raw_agreement(net, batch, os.path.join(tmp, "raw.onnx"), args.opset)
        row.update(raw_ok=raw["ok"], raw_error=raw["onnx_vs_mxnet"], f64=(raw["onnx_vs_float64"], raw["mxnet_vs_float64"]))
        options = session_options(args.threads)
        if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":  # as MXNet's threads: no spinning
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        data = mx.nd.array(batch)
        row["mxnet_ms"] = 1e3 * float(np.median(time_calls(lambda: [o.asnumpy() for o in net(data)], args.repeats, 1)))
        row["ort_ms"] = 1e3 * float(np.median(time_calls(lambda: session.run(None, {"data": batch}), args.repeats, 1)))
    return row


def _dynamic_size(net, batch, path, opset):
    """"yes" when the detector exports with a dynamic image size and matches MXNet at a second
    size, else the first line of the reason."""
    from export import export_onnx
    from export.verify_detection import compare_detections
    size = batch.shape[2]
    try:
        export_onnx(net, path, input_shape=batch.shape, opset=opset,
                    dynamic_axes={"data": {0: "batch", 2: "height", 3: "width"}})
    except Exception as err:  # noqa: BLE001 (a result of the sweep)
        return f"no: {str(err).splitlines()[0][:90]}"
    other = batch[:, :, : size - 64, 64:]
    (report,) = compare_detections(net, other.copy(), path)["images"]
    return "yes" if report["matched"] == report["reference"] == report["candidate"] else \
        f"no: {report['matched']}/{report['reference']} matched at {other.shape[2]}x{other.shape[3]}"


def run_child(name, args, raw_out=None, env=None):
    """:func:`check` of one model in a process of its own, with MXNet's threads (and ``env``) set
    before it starts; a crash or a timeout comes back as ``{"status": reason}``."""
    one = argparse.Namespace(**{**vars(args), "one": name, "raw_out": raw_out})
    result = _cli.run_isolated(check, one, timeout=args.timeout,
                               env={"OMP_NUM_THREADS": str(args.threads), **(env or {})})
    if set(result) == {"status", "detail"}:
        return {"status": f"{result['status']}: {result['detail']}"[:200]}
    return result


def spread(name, args):
    """Relative error between MXNet's raw tensors with and without MKLDNN."""
    import numpy as np
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, f"{kind}.npz") for kind in ("mkldnn", "reference")]
        for path, env in zip(paths, ({}, {"MXNET_MKLDNN_ENABLED": "0"})):
            failed = run_child(name, args, raw_out=path, env=env).get("status")
            if failed:
                return None
        a, b = (np.load(p) for p in paths)
        return max(float(np.abs(a[k] - b[k]).max()) / max(1.0, float(np.abs(b[k]).max())) for k in a.files)


def main(argv=None):
    args = parse_args(argv)
    names = select(args.models)
    print(f"input 1x3x{args.size}x{args.size}, R-CNN proposals {args.rois or 'GluonCV default'}, "
          f"{args.threads} threads, opset {args.opset or 'default'}\n")
    print("| model | exports | matched / reference | raw: ORT vs MXNet | vs float64: ORT / MXNet f32 | MKLDNN spread "
          "| export s | MXNet ms | ORT ms | ORT speed-up | dynamic image size |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    failed = 0
    for name in names:
        row = run_child(name, args)
        mkldnn = spread(name, args) if args.spread and "status" not in row else None
        if "status" in row:
            failed += 1
            print(f"| {name} | no: {row['status']} | | | | | | | | | |", flush=True)
            continue
        matched = row["matched"] == row["reference"] == row["candidate"]
        failed += not (matched and row["raw_ok"])
        spread_cell = f"{mkldnn:.1e}" if mkldnn is not None else ""
        f64 = "" if row["f64"][0] is None else f"{row['f64'][0]:.1e} / {row['f64'][1]:.1e}"
        print(f"| {name} | yes | {row['matched']} / {row['reference']}{'' if matched else ' FAIL'} | "
              f"{row['raw_error']:.1e}{'' if row['raw_ok'] else ' FAIL'} | {f64} | {spread_cell} | {row['export_s']:.2f} | "
              f"{row['mxnet_ms']:.0f} | {row['ort_ms']:.0f} | {row['mxnet_ms'] / row['ort_ms']:.2f}x | "
              f"{row['dynamic_size']} |", flush=True)
    print(f"\n{len(names) - failed}/{len(names)} pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
