"""ONNX Runtime inference on an exported sequence model: token ids, valid lengths, states.

``SequenceModel("artifacts/lstm_lm", precision_file)`` reads the graph's inputs by role
(:mod:`.feeds`) and the manifest's vocabulary (its ``labels`` when they are the tokens the
first input indexes, as for the character language models), and then::

    model.predict(["prompt.txt", "ids.npy"], top_k=3)   # [{"input", "top": [{"class", "label", "prob"}]}]

Inputs: an ``.npz`` file holding arrays under the inputs' names (every input it names, batch first
or one sample; the others filled as below), a text file, tokenized through the vocabulary (characters when every token is one
character, else whitespace-separated words; case folded when the vocabulary has no capitals;
runs of spaces and characters outside a character vocabulary that holds " " become one space,
as D2L's preprocessing does, else unknown characters are ``<unk>``), or a ``.npy`` array for the first input (token ids
``(seq,)``/``(N, seq)``, or features ``(N, seq, F)``). The other inputs are filled: segments 0,
lengths the sequence length, states 0. What is printed is the model's head: its last
``(batch, classes)`` output, else the first output at the last position (a language model's next
token). ``random_batch`` gives seeded inputs for timing (``--bench``).
"""
import re

import numpy as np

from .feeds import IDS, complete_feeds, input_roles, random_feeds
from .preprocess import InputError
from .runtime import ManifestFacts, open_model, softmax

DEFAULT_SEQ = 128  # sequence length of --bench inputs
UNKNOWN = "<unk>"


def is_sequence_model(path):
    """True when the ONNX file takes token ids, lengths or several inputs (not one image/feature
    tensor); False too for a file ONNX cannot read (the image runner then names the problem)."""
    try:
        roles = input_roles(path)
    except Exception:  # noqa: BLE001 (missing, truncated, not ONNX: OnnxModel reports it)
        return False
    return len(roles) > 1 or bool(roles) and roles[0].role != "tensor"


def tokenize(text, vocab):
    """Token ids of ``text`` through ``vocab`` (a list of tokens; see the module doc)."""
    index = {token: i for i, token in enumerate(vocab)}
    unknown = index.get(UNKNOWN, 0)
    if not any(c.isupper() for token in vocab for c in token):
        text = text.lower()
    if all(len(token) == 1 for token in vocab if token != UNKNOWN):
        if " " in index:
            kept = re.escape("".join(t for t in vocab if len(t) == 1 and t != " "))
            text = re.sub(f"[^{kept}]+", " ", text).strip()  # runs of spaces and unknowns -> one space
        return np.array([index.get(c, unknown) for c in text], np.int64)
    return np.array([index.get(word, unknown) for word in text.split()], np.int64)


class SequenceModel(ManifestFacts):
    """An ONNX Runtime session of a sequence model plus its input roles and vocabulary."""

    TRAIN_HINT = "train it with tools/train_sequence.py and export again"

    def __init__(self, path, providers=None, threads=None, seq_len=DEFAULT_SEQ):
        path, manifest, self.providers, self.session = open_model(path, providers, threads)
        self.path, self.seq_len = path, seq_len
        meta = self.session.get_modelmeta()
        self.manifest = manifest
        self.name = self.manifest.get("model") or meta.graph_name
        self.precision = meta.custom_metadata_map.get("precision", "fp32")
        self.roles = input_roles(path)
        self.input_name = self.roles[0].name
        self.input_shape = self.roles[0].dims
        self.sample_shape = self.input_shape[1:]
        labels = self.manifest.get("labels")
        first = self.roles[0]
        self.vocab = labels if first.role == IDS and labels and len(labels) == first.vocab else None
        self.labels = labels

    def random_batch(self, batch, rng=None):
        """Seeded feeds of ``batch`` sequences of ``seq_len`` (ids below the vocabulary)."""
        seed = int(rng.integers(1 << 31)) if rng is not None else 0
        return random_feeds(self.roles, batch, self.seq_len, seed)

    def run(self, feeds):
        """All outputs for ``feeds`` (``{input name: array}``)."""
        return self.session.run(None, feeds)

    def load(self, paths):
        """``[(name, array for the first input, batch first)]`` from text files and ``.npy`` arrays."""
        loaded = []
        for path in paths:
            if path.endswith(".npz"):
                loaded.append((path, _npz_arrays(path, self.roles)))
                continue
            if path.endswith(".npy"):
                try:
                    array = np.load(path, allow_pickle=False)
                except (OSError, ValueError) as err:
                    raise InputError(f"{path}: not a readable .npy array ({err})") from None
                expected = len(self.roles[0].dims)
                array = array[None] if array.ndim == expected - 1 else array
                if array.ndim != expected:
                    raise InputError(f"{path}: array of shape {array.shape}; {self.name} takes "
                                     f"{self.input_name} of {expected - 1} dims per sample")
            elif self.vocab is None:
                raise InputError(f"{path}: {self.name} has no vocabulary in its manifest to tokenize text; "
                                 "give the token ids as a .npy array")
            else:
                with open(path, encoding="utf-8", errors="replace") as f:
                    array = tokenize(f.read(), self.vocab)[None]
                if array.size == 0:
                    raise InputError(f"{path}: no tokens of the model's vocabulary in the text")
            loaded.append((path, array))
        return loaded

    def predict(self, paths, top_k=5):
        """The head's top-k classes (or next tokens) with probabilities, per sequence of each input."""
        results = []
        for name, array in self.load(paths):
            try:
                if isinstance(array, dict):  # an .npz file's arrays by input name
                    feeds = _fill(self.roles, array.pop(self.input_name), array)
                else:
                    feeds = complete_feeds(self.roles, array) if self.roles[0].role == IDS else \
                        _fill(self.roles, array.astype(self.roles[0].dtype))
            except ValueError as err:
                raise InputError(f"{name}: {err}") from None
            probs = softmax(self._head(self.run(feeds)))
            for row, scores in enumerate(probs):
                top = np.argsort(-scores, kind="stable")[:top_k]
                results.append({"input": name if len(probs) == 1 else f"{name}[{row}]", "top": [
                    {"class": int(c), "label": self._label(c), "prob": float(scores[c])} for c in top]})
        return results

    def _head(self, outputs):
        heads = [o for o in outputs if o.ndim == 2]
        if heads:
            return heads[-1]
        first = outputs[0]  # (batch, steps, vocab), or time-major (steps, batch, vocab)
        return first[-1] if self.roles[0].shape("B", "S")[0] == "S" else first[:, -1]


def _fill(roles, first, given=None):
    """Feeds for a first input of features (or ``given`` arrays by name): lengths the full
    sequence, other inputs 0."""
    batch, seq = first.shape[:2]
    feeds = {roles[0].name: first, **(given or {})}
    for role in roles[1:]:
        value = seq if role.role == "length" else 0
        feeds.setdefault(role.name, np.full(role.shape(batch, seq), value, role.dtype))
    return feeds


def _npz_arrays(path, roles):
    """``{input name: array}`` of an ``.npz`` file, batch first, in the inputs' dtypes; it must hold
    the first input and may hold any of the others."""
    try:
        with np.load(path, allow_pickle=False) as found:
            arrays = {name: found[name] for name in found.files}
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable .npz file ({err})") from None
    names = [r.name for r in roles]
    unknown = sorted(set(arrays) - set(names))
    if unknown or names[0] not in arrays:
        raise InputError(f"{path}: the model's inputs are {', '.join(names)} (the first one needed); "
                         f"the file holds {', '.join(sorted(arrays)) or 'nothing'}")
    by_name = {r.name: r for r in roles}
    return {name: (a[None] if a.ndim == len(by_name[name].dims) - 1 else a).astype(by_name[name].dtype)
            for name, a in arrays.items()}
