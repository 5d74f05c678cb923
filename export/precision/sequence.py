"""How far an INT8 sequence model moved from FP32, judged where it can be: all graph inputs fed.

- :class:`FeedEvaluation`: inputs for every graph input (``{name: array}``). With ``labels``
  (a classifier on a labelled test split, e.g. ``transformer_classifier`` on digits) FP32 and
  INT8 accuracy of the first output; always, per output, the top-1 agreement over its last axis
  and the relative error ``||int8 - fp32|| / ||fp32||`` (random weights: BERT's heads and pooled
  output), with the warning that accuracy cannot be judged when there are no labels.
- :class:`PerplexityEvaluation`: a language model read over held-out text in sequential
  minibatches, each batch's final states feeding the next (as in training); perplexity is
  ``exp(mean cross-entropy per token)`` of the first output, FP32 and INT8, and the change in %.

Both run the ONNX files in ONNX Runtime; ``check(fp32_path, variant_path, precision)`` returns
the report entry. The graph's inputs are matched by order: the caller gives them in forward order.
Dynamic quantization measures each activation's range over the whole tensor, batch included, so
an INT8 output depends on what else is in the batch: :class:`FeedEvaluation` runs one sequence
at a time (as a single request is served, and reproducibly); the perplexity reads its
``streams`` in one batch, as training's perplexity does.
"""
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np
import onnxruntime as ort

from ..deploy.runtime import session_options

EVAL_BATCH = 1  # one sequence per run: see the module doc
PERPLEXITY_WARN_PERCENT = 2.0  # warn when INT8 perplexity exceeds FP32's by more than this


def session(path, threads=None):
    return ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])


def run_feeds(path, feeds, batch=EVAL_BATCH):
    """Every output of ``path`` over ``feeds`` (``{name: array}``, batch first), in batches."""
    runner = session(path)
    count = len(next(iter(feeds.values())))
    chunks = [runner.run(None, {n: a[i:i + batch] for n, a in feeds.items()}) for i in range(0, count, batch)]
    return [np.concatenate(parts) for parts in zip(*chunks)], [o.name for o in runner.get_outputs()]


def output_agreement(reference, candidate):
    """Top-1 agreement over the last axis, relative and max error of one output."""
    ref, out = reference.reshape(-1, reference.shape[-1]), candidate.reshape(-1, candidate.shape[-1])
    return {"top1_agreement": float(np.mean(ref.argmax(1) == out.argmax(1))),
            "relative_error": float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-12)),
            "max_abs_error": float(np.abs(out - ref).max())}


@dataclass
class FeedEvaluation:
    """All inputs of a multi-input graph, their origin, and the first output's labels if known."""

    feeds: Dict[str, np.ndarray]
    source: str
    labels: Optional[np.ndarray] = None

    def check(self, reference_path, path, precision):
        names = [i.name for i in session(reference_path).get_inputs()]
        feeds = dict(zip(names, self.feeds.values())) if set(names) != set(self.feeds) else self.feeds
        ref, names_out = run_feeds(reference_path, feeds)
        out, _ = run_feeds(path, feeds)
        outputs = {name: output_agreement(r, o) for name, r, o in zip(names_out, ref, out)}
        result = {"inputs": self.source, "samples": int(len(next(iter(feeds.values())))), "batch": EVAL_BATCH,
                  "outputs": outputs,
                  "top1_agreement": min(o["top1_agreement"] for o in outputs.values()),
                  "relative_error": max(o["relative_error"] for o in outputs.values()),
                  "max_abs_error": max(o["max_abs_error"] for o in outputs.values()),
                  "max_abs_fp32": float(max(np.abs(r).max() for r in ref))}
        if self.labels is not None:
            labels = np.asarray(self.labels).reshape(-1)
            fp32 = float(np.mean(ref[0].reshape(len(labels), -1).argmax(1) == labels))
            ours = float(np.mean(out[0].reshape(len(labels), -1).argmax(1) == labels))
            result.update({"fp32_accuracy": fp32, f"{precision}_accuracy": ours,
                           "accuracy_drop_points": round(100 * (fp32 - ours), 4)})
        return result


@dataclass
class PerplexityEvaluation:
    """Held-out token ids read as ``streams`` parallel streams of ``steps`` tokens per batch."""

    ids: np.ndarray
    source: str
    streams: int = 32
    steps: int = 35

    def batches(self):
        count = (len(self.ids) - 1) // self.streams * self.streams
        xs = self.ids[:count].reshape(self.streams, -1)
        ys = self.ids[1:count + 1].reshape(self.streams, -1)
        for start in range(0, xs.shape[1] // self.steps * self.steps, self.steps):
            yield xs[:, start:start + self.steps], ys[:, start:start + self.steps]

    def scores(self, path):
        """The first output (batch, steps, vocab) of the ONNX language model ``path`` for each batch,
        with its targets; inputs are ids then states, outputs scores then the final states."""
        runner = session(path)
        inputs = runner.get_inputs()
        states = [np.zeros([d if isinstance(d, int) else self.streams for d in i.shape], np.float32)
                  for i in inputs[1:]]
        time_major = isinstance(inputs[0].shape[0], str) and "batch" not in inputs[0].shape[0]  # GluonNLP's LMs
        for x, y in self.batches():
            x, y = (x.T, y.T) if time_major else (x, y)
            scores, *states = runner.run(None, {inputs[0].name: x.astype(_dtype(inputs[0].type)),
                                                **{i.name: s for i, s in zip(inputs[1:], states)}})
            yield scores, y

    def check(self, reference_path, path, precision):
        nll, agree, error, scale, count = np.zeros(2), 0, 0.0, 0.0, 0
        for (ref, y), (out, _) in zip(self.scores(reference_path), self.scores(path)):
            nll += [_cross_entropy(ref, y), _cross_entropy(out, y)]
            agree += int((ref.argmax(-1) == out.argmax(-1)).sum())
            error, scale = max(error, float(np.abs(ref - out).max())), max(scale, float(np.abs(ref).max()))
            count += y.size
        fp32, ours = np.exp(nll / count)
        return {"inputs": self.source, "samples": count, "batch": self.streams, "fp32_perplexity": float(fp32),
                f"{precision}_perplexity": float(ours), "perplexity_change_percent": round(100 * (ours / fp32 - 1), 4),
                "top1_agreement": agree / count, "max_abs_error": error, "max_abs_fp32": scale}


def _cross_entropy(scores, targets):
    """Summed cross-entropy of ``targets`` under the softmax of ``scores`` over the last axis."""
    shifted = scores.astype(np.float64) - scores.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -float(np.take_along_axis(log_probs, targets[..., None].astype(np.int64), -1).sum())


def _dtype(onnx_type):
    return {"tensor(int32)": np.int32, "tensor(int64)": np.int64}.get(onnx_type, np.float32)
