"""The NLP set of tools/bench.py (``--set nlp``): GluonNLP BERT-base and a standard LSTM LM.

For each model, in one process and from the same symbol files: export time ours vs mx2onnx
(pinned to opset 13: at its default opset its graphs are invalid), then MXNet hybridized vs
ONNX Runtime on our graph vs ORT on mx2onnx's graph (and, for BERT, ORT on our graph after
ONNX Runtime's transformer fusions, ``optimize="transformer"``), interleaved rounds, medians.
``bench`` is tools/bench.py itself: its measurement, peer export and formatting helpers.
"""
import os
import time

import numpy as np

# (family, sequence length, batch sizes); --models picks other hybridzoo.testing.gluonnlp_models families
NLP_SET = (("bert", 128, (1, 8)), ("standard_lstm", 35, (1, 8)))
BATCHES = (1, 8)


def selected(models):
    """The (family, sequence, batches) to run: NLP_SET, or the families named in ``models``."""
    if not models:
        return NLP_SET
    from hybridzoo.testing import gluonnlp_models
    families = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [f for f in families if f not in gluonnlp_models.FAMILIES]
    if unknown:
        raise ValueError(f"unknown NLP families {unknown}; choose from {', '.join(gluonnlp_models.FAMILIES)}")
    return [(f, 35 if f.endswith("lstm") else 128, BATCHES) for f in families]


def _read_through(*paths):
    """Read files once so that neither exporter pays for a cold page cache."""
    for path in paths:
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


class NLPBench:
    """The backends of one NLP model at one sequence length, export times and agreement."""

    def __init__(self, family, seq, args, workdir, bench):
        import onnxruntime as ort
        from export import export_onnx
        from export.deploy.runtime import session_options
        from hybridzoo.testing import gluonnlp_models

        self.name, self.seq = family, seq
        self.case = gluonnlp_models.build(family, size="base", seed=args.seed)
        prefix = os.path.join(workdir, family)
        feeds = self.case.export_symbol(prefix, 1, seq)
        files = (f"{prefix}-symbol.json", f"{prefix}-0000.params")
        shapes = {n: f.shape for n, f in feeds.items()}
        ours = os.path.join(workdir, f"{family}.onnx")
        _read_through(*files)
        start = time.perf_counter()
        export_onnx(prefix, ours, input_shape=shapes, opset=args.opset, dynamic_axes=self.case.dynamic_axes)
        self.export_ours = time.perf_counter() - start
        options = session_options(args.threads)
        options.log_severity_level = 3
        if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":  # as MXNet's threads
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.sessions = {"ORT ours": ort.InferenceSession(ours, options, providers=["CPUExecutionProvider"])}
        if family in ("bert", "roberta", "distilbert"):
            fused = os.path.join(workdir, f"{family}-fused.onnx")
            export_onnx(prefix, fused, input_shape=shapes, opset=max(args.opset or 17, 17),
                        dynamic_axes=self.case.dynamic_axes, optimize="transformer")
            self.sessions["ORT ours fused"] = ort.InferenceSession(fused, options, providers=["CPUExecutionProvider"])
        self.outputs = mx_outputs(files[0])
        self.export_peer, self.peer_error = None, None
        if not args.no_peer:
            peer = os.path.join(workdir, f"{family}-mx2onnx.onnx")
            dynamic = [tuple(None if a in self.case.dynamic_axes.get(n, {}) else d for a, d in enumerate(s))
                       for n, s in shapes.items()]
            _read_through(*files)
            start = time.perf_counter()
            try:
                bench.peer_export(files[0], files[1], shapes.values(), dynamic, peer, opset=13)
                self.export_peer = time.perf_counter() - start
                self.sessions["ORT mx2onnx"] = ort.InferenceSession(peer, options, providers=["CPUExecutionProvider"])
            except Exception as err:  # noqa: BLE001 (the peer's failure is a result to report)
                self.peer_error = " ".join(str(err).split())[:200]

    def backends(self, batch, seed):
        """``{backend: zero-argument call}`` on one seeded input at ``batch``, and the MXNet
        reference outputs (for the agreement check)."""
        args, feeds = self.case.make(batch, self.seq, np.random.RandomState(seed))
        net = self.case.net
        reference = self.case.reference(args)
        calls = {"MXNet hybridized": lambda: [o.asnumpy() for o in _outputs(net(*args))]}
        for name, session in self.sessions.items():
            names = [i.name for i in session.get_inputs()]
            order = _symbol_order(self.outputs, session.get_outputs(), [r.shape for r in reference])
            calls[name] = (lambda s=session, f={n: feeds[n] for n in names}, o=order: s.run(o, f))
        return calls, reference


def mx_outputs(symbol_file):
    import mxnet as mx
    return mx.sym.load(symbol_file).list_outputs()


def _symbol_order(symbol_outputs, onnx_outputs, shapes):
    """ONNX output names in the symbol's output order. mx2onnx renames and reorders outputs
    (``<node>`` or ``<node><k>`` for ``<node>_output`` ...): matched by name, else each symbol
    output takes the first unused ONNX output whose declared shape fits."""
    names = [o.name for o in onnx_outputs]
    by_name = dict({n: n for n in names}, **{f"{n}_output": n for n in names})
    if all(n in by_name for n in symbol_outputs):
        return [by_name[n] for n in symbol_outputs]
    order, free = [], list(onnx_outputs)
    for shape in shapes:
        fits = [o for o in free if len(o.shape) == len(shape) and
                all(not isinstance(d, int) or d == s for d, s in zip(o.shape, shape))]
        if not fits:
            return None
        order.append(fits[0].name)
        free.remove(fits[0])
    return order


def _outputs(result):
    from hybridzoo.testing.gluonnlp_models import flatten_outputs
    return list(flatten_outputs(result))


def run(args, workdir, bench):
    """Rows for :func:`markdown`: export times, per-batch medians and max errors."""
    from export import verify
    rows = []
    for family, seq, batches in selected(args.models):
        model = NLPBench(family, seq, args, workdir, bench)
        row = {"model": family, "seq": seq, "export_ours": model.export_ours, "export_peer": model.export_peer,
               "peer_error": model.peer_error, "times": {}, "error": {}}
        for batch in batches:
            calls, reference = model.backends(batch, args.seed)
            for name, fn in calls.items():
                err = verify.max_error(reference, fn()) / max(1.0, max(float(np.abs(r).max()) for r in reference))
                row["error"][name] = max(row["error"].get(name, 0.0), err)
            row["times"][batch] = bench.measure_calls(calls, args.repeats, args.min_time)
        rows.append(row)
        del model
    return rows


def markdown(rows, machine, command, bench):
    """The NLP table: export ours vs mx2onnx, then per batch MXNet vs ORT (ours, fused, peer)."""
    head = ["model", "seq", "export ours s", "export mx2onnx s", "speed-up", "batch", "MXNet hyb ms",
            "ORT ours ms", "ORT ours fused ms", "ORT mx2onnx ms", "ours vs MXNet", "fused vs MXNet",
            "ours vs mx2onnx", "max rel. error ours / fused / mx2onnx"]
    lines = [f"Machine: {machine}", "", f"Command: `{command}`", "",
             "Ratios > 1 mean ours is faster. Latency: mean per call, median of interleaved rounds.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        for batch, t in row["times"].items():
            ours, fused, peer, mxnet = (t.get(k) for k in ("ORT ours", "ORT ours fused", "ORT mx2onnx",
                                                           "MXNet hybridized"))
            errors = " / ".join(bench._e(row["error"].get(k)) for k in ("ORT ours", "ORT ours fused", "ORT mx2onnx"))
            peer_export = bench._f(row["export_peer"], 2) if row["export_peer"] or not row["peer_error"] \
                else f"failed ({row['peer_error']})"
            lines.append("| " + " | ".join([
                row["model"], str(row["seq"]), bench._f(row["export_ours"], 2), peer_export,
                bench._ratio(row["export_peer"], row["export_ours"]), str(batch), bench._ms(mxnet), bench._ms(ours),
                bench._ms(fused), bench._ms(peer), bench._ratio(mxnet, ours), bench._ratio(mxnet, fused),
                bench._ratio(peer, ours), errors]) + " |")
    return "\n".join(lines) + "\n"
