"""The detection set of ``tools/bench.py --set detection``: GluonCV detectors, ours vs mx2onnx vs MXNet.

For SSD-512-MobileNet, YOLOv3-MobileNet and Faster R-CNN R50 (``hybridzoo.testing.gluoncv_detectors`` test
weights, built offline): export time of ours and of mx2onnx (MXNet 1.9.1's exporter, pinned
to opset 13, both from the same symbol files), batch-1 latency of MXNet hybridized, ONNX
Runtime on our graph and on the peer's, measured in interleaved rounds by ``bench.measure``
(same threads), and how many detections each ONNX graph matches with MXNet (the test-suite's
criterion: same class, score within 1e-3, box within 0.5 px, above a threshold). Export times
are medians of ``EXPORTS`` interleaved runs. With ``OMP_WAIT_POLICY=PASSIVE`` (MXNet's OpenMP
threads sleep when idle) ONNX Runtime's threads do not spin either: on a shared machine
spinning threads wait for descheduled peers and both engines slow down by up to 2x.
"""
import contextlib
import os
import time
import warnings

DETECTION_SET = {"ssd_512_mobilenet1.0_voc": 512, "yolo3_mobilenet1.0_voc": 416,
                 "faster_rcnn_resnet50_v1b_voc": 512}
PEER_OPSET = 13
EXPORTS = 3


@contextlib.contextmanager
def pinned_opset(version):
    """mx2onnx stamps ``onnx.defs.onnx_opset_version()``: make that ``version`` meanwhile."""
    import onnx.defs
    original = onnx.defs.onnx_opset_version
    onnx.defs.onnx_opset_version = lambda: version
    try:
        yield
    finally:
        onnx.defs.onnx_opset_version = original


class DetectorBench:
    """Backends ``x -> list of outputs`` for one detector, export times, and agreement."""

    def __init__(self, name, size, args, workdir):
        import mxnet as mx
        import numpy as np
        import onnxruntime as ort

        import export
        from export.deploy.runtime import session_options
        from export.verify_detection import defined_roi_align
        from hybridzoo.testing.gluoncv_detectors import build_detector

        self.name, self.sample_shape, self.peer_error = name, (3, size, size), None
        self.net = build_detector(name, size=size, context=defined_roi_align)
        self.net.hybridize(static_alloc=True, static_shape=True)
        self.net(mx.nd.zeros((1,) + self.sample_shape))
        prefix = os.path.join(workdir, name)
        self.net.export(prefix)  # both exporters start from the same symbol files
        options = session_options(args.threads)
        options.log_severity_level = 3
        if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        ours, peer, times = prefix + ".onnx", prefix + "-mx2onnx.onnx", {"ours": [], "peer": []}
        for _ in range(EXPORTS):
            times["ours"].append(self._timed(lambda: export.export_onnx(
                prefix, ours, input_shape=(1,) + self.sample_shape, opset=args.opset)))
            if not args.no_peer and self.peer_error is None:
                times["peer"].append(self._timed(lambda: self._export_peer(prefix, peer)))
        self.export_ours = float(np.median(times["ours"]))
        self.export_peer = float(np.median(times["peer"])) if times["peer"] and self.peer_error is None else None
        self.backends = {"MXNet hybridized": self._mxnet(mx),
                         "ORT ours": self._ort(ort.InferenceSession(ours, options, providers=["CPUExecutionProvider"]))}
        if self.export_peer is not None:
            try:
                self.backends["ORT mx2onnx"] = self._ort(
                    ort.InferenceSession(peer, options, providers=["CPUExecutionProvider"]))
            except Exception as err:  # noqa: BLE001 (the peer's failure is a result, not an error)
                self.peer_error = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"

    @staticmethod
    def _timed(fn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # R-CNNs: "batch exported fixed"
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start

    def _export_peer(self, prefix, path):
        import mxnet as mx
        import numpy as np
        try:
            with pinned_opset(PEER_OPSET):
                mx.onnx.export_model(prefix + "-symbol.json", prefix + "-0000.params", [(1,) + self.sample_shape],
                                     np.float32, path)
        except Exception as err:  # noqa: BLE001
            self.peer_error = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"

    def _mxnet(self, mx):
        return lambda x: [o.asnumpy() for o in self.net(mx.nd.array(x))]

    @staticmethod
    def _ort(session):
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})

    def agreement(self, seed):
        """``{backend: "matched/reference"}`` for each ONNX graph against MXNet."""
        import numpy as np
        from export.deploy.detection import match, parse
        from export.verify_detection import defined_roi_align, pick_threshold
        x = np.random.RandomState(seed).uniform(-1, 1, (1,) + self.sample_shape).astype(np.float32)
        with defined_roi_align():
            (reference,) = parse(self.backends["MXNet hybridized"](x))
        threshold = pick_threshold([d.score for d in reference])
        found = {}
        for name, run in self.backends.items():
            if name.startswith("ORT"):
                try:
                    report = match(reference, parse(run(x))[0], threshold)
                except Exception as err:  # noqa: BLE001
                    found[name] = f"fails: {type(err).__name__}"
                    continue
                found[name] = f"{report['matched']}/{report['reference']}"
        return found


def run(args, measure, machine_line):
    """Bench the detection set; returns the Markdown report."""
    import tempfile
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name, size in DETECTION_SET.items():
            bench = DetectorBench(name, size, args, workdir)
            times = measure(bench.backends, 1, bench.sample_shape, args.repeats, args.min_time, args.seed)
            rows.append({"model": name, "size": size, "ours": bench.export_ours, "peer": bench.export_peer,
                         "times": times, "match": bench.agreement(args.seed), "peer_error": bench.peer_error})
            del bench
    return table(rows, machine_line(args.threads))


def table(rows, machine):
    head = ["model", "input", "export ours s", f"export mx2onnx (opset {PEER_OPSET}) s", "export speed-up",
            "MXNet hyb ms", "ORT ours ms", "ORT mx2onnx ms", "ORT ours vs MXNet", "ours vs mx2onnx",
            "detections matched: ours", "mx2onnx"]
    lines = [f"Machine: {machine}", "", "Batch 1; ratios > 1: ours faster. Detections matched with MXNet "
             "(same class, score ±1e-3, box ±0.5 px) above a threshold.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        t = r["times"]
        ours, peer, mxnet = t.get("ORT ours"), t.get("ORT mx2onnx"), t.get("MXNet hybridized")
        cells = [r["model"], f"3×{r['size']}×{r['size']}", f"{r['ours']:.2f}",
                 "–" if r["peer"] is None else f"{r['peer']:.2f}",
                 "–" if r["peer"] is None else f"**{r['peer'] / r['ours']:.1f}×**",
                 f"{mxnet * 1e3:.1f}", f"{ours * 1e3:.1f}", "–" if peer is None else f"{peer * 1e3:.1f}",
                 f"**{mxnet / ours:.2f}×**", "–" if peer is None else f"**{peer / ours:.2f}×**",
                 r["match"].get("ORT ours", "–"), r["match"].get("ORT mx2onnx", r["peer_error"] or "–")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
