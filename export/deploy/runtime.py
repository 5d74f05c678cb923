"""ONNX Runtime inference on an exported model: providers, manifest, batching, top-k, timing.

``OnnxModel("artifacts/lenet/model.onnx")`` opens a session (CUDA when this onnxruntime offers
it, else CPU), reads ``manifest.json`` beside the file, or the ONNX ``metadata_props`` when the
manifest is absent, for preprocessing and class labels, and then::

    model.classify(["seven.png", "digits/"], top_k=3)   # [{"input", "top": [{"class", "label", "prob"}]}]
    model.benchmark([1, 32])                            # [{"batch", "p50_ms", "p90_ms", "p99_ms", ...}]
"""
import json
import os

import numpy as np
import onnxruntime as ort

from ..files import manifest as manifests
from ..files.io import sha256_file
from .preprocess import InputError, Preprocess, collect_files, load_samples
from .timing import random_batch, time_calls  # noqa: F401  (time_calls re-exported for the tools)
from ..errors import InvalidInputError

PROVIDER_ALIASES = {
    "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider", "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider", "openvino": "OpenVINOExecutionProvider",
}


def default_providers():
    """CUDA then CPU when this onnxruntime build offers CUDA, else CPU only."""
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def resolve_providers(names=None):
    """Provider names or aliases ("cuda,cpu") -> onnxruntime names; ``None`` gives the default."""
    if names is None:
        return default_providers()
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    available = ort.get_available_providers()
    resolved = []
    for name in names:
        full = PROVIDER_ALIASES.get(name.strip().lower(), name.strip())
        if full not in available:
            raise InvalidInputError(f"execution provider {name!r} is not available in this onnxruntime "
                             f"(available: {', '.join(available)}); for CUDA install onnxruntime-gpu")
        resolved.append(full)
    return resolved


def session_options(threads=None):
    """SessionOptions with full graph optimisation and, if given, a pinned intra-op thread count."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    return options


def read_model_manifest(model_path):
    """The manifest beside ``model_path``, or ``{}`` when there is none; refused when it lists the
    model file with another sha256 (it describes another export: other labels, preprocessing)."""
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), manifests.MANIFEST_NAME)
    if not os.path.isfile(path):
        return {}
    manifest = manifests.read(path)
    entry = manifests.entry_for(manifest, os.path.basename(model_path))
    if entry is not None and entry.get("sha256") not in (None, sha256_file(model_path)):
        raise InputError(f"{model_path} is not the file its {manifests.MANIFEST_NAME} describes (sha256 differs): "
                         "it was changed after export or the manifest belongs to another export; re-export")
    return manifest


def manifest_from_metadata(metadata):
    """Map ONNX ``metadata_props`` (a dict) to the manifest fields inference uses.

    The exporter stores JSON values for lists (mean, std, labels) and plain strings otherwise.
    """
    def value(key):
        raw = metadata.get(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    manifest = {"model": value("model") or value("model_name")}
    labels = value("labels")
    if labels is not None:
        manifest["labels"] = labels
    if value("preprocess") is not None:  # a whole preprocess block, when the exporter stores one
        manifest["preprocess"] = value("preprocess")
    else:
        block = {k: value(k) for k in ("mean", "std", "color", "resize", "scale") if value(k) is not None}
        layout = value("layout") or value("input_layout")
        if layout is not None:
            block["layout"] = layout
        if block:
            manifest["preprocess"] = block
    return manifest


def open_model(path, providers=None, threads=None):
    """``(model file, its manifest or None, providers, session)`` for a model file or the artifact
    folder holding ``model.onnx``; the manifest is read (and the file checked against it) first."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.onnx")
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such ONNX model; export one with tools/export.py")
    manifest = read_model_manifest(path)  # first: refuses a model file its manifest does not describe
    providers = resolve_providers(providers)
    try:
        session = ort.InferenceSession(path, session_options(threads), providers=providers)
    except Exception as err:  # onnxruntime raises its own exception types per failure
        raise InputError(f"{path}: onnxruntime cannot load it ({str(err).splitlines()[0]})") from None
    return path, manifest, providers, session


class ManifestFacts:
    """What a model's manifest tells its user: class labels, and a warning for untrained weights.
    Needs ``self.name``, ``self.manifest``, ``self.labels``."""

    TRAIN_HINT = "train it with tools/train.py and export again"

    def untrained_warning(self):
        """A sentence when the manifest says the weights are untrained (seeded), else None."""
        weights = self.manifest.get("weights") or {}
        if weights.get("trained") is not False:
            return None
        return (f"{self.name} has untrained (seed {weights.get('seed')}) weights (its manifest says "
                f"\"trained\": false), so these predictions mean nothing; {self.TRAIN_HINT}")

    def _label(self, index):
        return self.labels[index] if self.labels and index < len(self.labels) else None


class OnnxModel(ManifestFacts):
    """An ONNX Runtime session plus what the manifest says about its input and classes."""

    def __init__(self, path, providers=None, threads=None):
        self.path, manifest, self.providers, self.session = open_model(path, providers, threads)
        meta = self.session.get_modelmeta()
        self.manifest = manifest or manifest_from_metadata(meta.custom_metadata_map)
        self.name = self.manifest.get("model") or meta.graph_name
        self.precision = meta.custom_metadata_map.get("precision", "fp32")  # export.precision stamps variants
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise InputError(f"{path}: model has {len(inputs)} inputs; this runner feeds exactly one")
        self.input_name = inputs[0].name
        # None marks a dynamic (symbolic) dimension; only the batch axis may be one.
        self.input_shape = tuple(d if isinstance(d, int) else None for d in inputs[0].shape)
        if any(d is None for d in self.input_shape[1:]):
            raise InputError(f"{path}: input shape {inputs[0].shape} has dynamic non-batch dims; "
                             "re-export with a fixed input size")
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.labels = self.manifest.get("labels")
        if self.labels is not None and not isinstance(self.labels, list):
            raise InputError(f"{path}: the manifest's labels are a {type(self.labels).__name__}, not a list of "
                             "class names; re-export the model or fix its manifest")
        self.preprocess = self._preprocess()

    @property
    def sample_shape(self):
        return self.input_shape[1:]

    @property
    def fixed_batch(self):
        """The batch size baked into the graph, or None for a dynamic batch."""
        return self.input_shape[0]

    def _preprocess(self):
        if len(self.sample_shape) != 3:
            return None
        spec = self.manifest.get("preprocess")
        if not spec:
            return Preprocess.for_shape(self.sample_shape)
        if not isinstance(spec, dict):
            raise InputError(f"{self.path}: the manifest's preprocess is a {type(spec).__name__}, not a JSON "
                             "object; re-export the model or fix its manifest")
        spec = dict(spec)
        spec.setdefault("input_size", list(self.sample_shape[1:]))
        spec.setdefault("channels", self.sample_shape[0])
        preprocess = Preprocess.from_dict(spec)
        if preprocess.sample_shape != tuple(self.sample_shape):
            raise InputError(f"{self.path}: manifest preprocessing gives {'x'.join(map(str, preprocess.sample_shape))}"
                             " but the model takes "
                             f"{self.sample_shape}; the manifest belongs to another export")
        return preprocess

    def run(self, batch):
        """Run one ``(N, *sample_shape)`` batch; returns the first output as a numpy array."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.shape[1:] != self.sample_shape:
            raise InputError(f"batch shape {batch.shape} does not fit the model input {self._shape_text()}")
        if self.fixed_batch is not None and batch.shape[0] != self.fixed_batch:
            raise InputError(f"model was exported with a fixed batch of {self.fixed_batch}, got {batch.shape[0]}; "
                             "re-export with dynamic batch (the default) to feed other sizes")
        return self.session.run(self.output_names[:1], {self.input_name: batch})[0]

    def _shape_text(self):
        return "(" + ", ".join("N" if d is None else str(d) for d in self.input_shape) + ")"

    def predict(self, samples, batch_size=32):
        """Stack ``samples`` (arrays of ``sample_shape``) into batches; returns all outputs stacked.

        A fixed-batch model gets its own batch size, the last batch padded with zeros.
        """
        if not len(samples):
            raise InputError("no inputs to run: the files hold no samples")
        size = self.fixed_batch or batch_size
        outputs = []
        for start in range(0, len(samples), size):
            chunk = np.stack(samples[start:start + size])
            count = len(chunk)
            if self.fixed_batch and count < size:
                chunk = np.concatenate([chunk, np.zeros((size - count,) + chunk.shape[1:], np.float32)])
            outputs.append(self.run(chunk)[:count])
        return np.concatenate(outputs)

    def load(self, paths):
        """Image files, folders and ``.npy`` files -> ``(names, samples)``."""
        names, samples = [], []
        for path in collect_files(paths):
            for name, sample in load_samples(path, self.sample_shape, self.preprocess):
                names.append(name)
                samples.append(sample)
        return names, samples

    def classify(self, paths, top_k=5, batch_size=32):
        """Top-k classes per input, with softmax probabilities and labels when known."""
        names, samples = self.load(paths)
        scores = self.predict(samples, batch_size)
        probs = softmax(scores.reshape(len(scores), -1))
        k = min(top_k, probs.shape[1])
        results = []
        for name, row in zip(names, probs):
            top = np.argsort(-row, kind="stable")[:k]
            results.append({"input": name, "top": [
                {"class": int(c), "label": self._label(c), "prob": float(row[c])} for c in top]})
        return results

    def benchmark(self, batch_sizes, repeats=50, warmup=5, seed=0):
        """Latency percentiles and throughput for random inputs at each batch size."""
        rng = np.random.default_rng(seed)
        results = []
        for batch in batch_sizes:
            data = random_batch(rng, batch, self.sample_shape)
            times = time_calls(lambda: self.run(data), repeats, warmup)
            p50, p90, p99 = np.percentile(times, [50, 90, 99]) * 1e3
            results.append({"batch": batch, "p50_ms": p50, "p90_ms": p90, "p99_ms": p99,
                            "throughput": batch * 1e3 / p50, "runs": repeats})
        return results


def softmax(scores):
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
