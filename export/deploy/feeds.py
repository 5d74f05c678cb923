"""Inputs of a model with several (token ids, token types, valid lengths...): ``.npz`` files.

Each ``.npz`` holds one array per model input, under the input's name, batch axis first (or one
sample without it); ``np.savez("x.npz", inputs=ids, token_types=types, valid_length=lengths)``.
Arrays are cast to the dtypes the model declares.
"""
import numpy as np

from .preprocess import InputError, collect_files

SUFFIX = ".npz"
ONNX_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
               "tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(int8)": np.int8,
               "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_}


class Feeds:
    """The inputs of an ONNX Runtime session, fed from ``.npz`` files."""

    def __init__(self, session_inputs):
        self.inputs = [(i.name, len(i.shape), ONNX_DTYPES.get(i.type, np.float32)) for i in session_inputs]

    @property
    def names(self):
        return [name for name, _, _ in self.inputs]

    def load(self, path):
        """One ``.npz`` -> ``{input: batch array}`` (a single sample gets its batch axis)."""
        if not path.lower().endswith(SUFFIX):
            raise InputError(f"{path}: this model takes {len(self.inputs)} inputs ({', '.join(self.names)}); give "
                             f".npz files holding one array per input, named so")
        try:
            with np.load(path, allow_pickle=False) as arrays:
                found = {name: arrays[name] for name in arrays.files}
        except (ValueError, OSError) as err:
            raise InputError(f"{path}: not a readable .npz file ({err})") from None
        missing = [n for n in self.names if n not in found]
        if missing:
            raise InputError(f"{path}: no array for input(s) {', '.join(missing)}; the model takes "
                             f"{', '.join(self.names)}")
        feed = {}
        for name, rank, dtype in self.inputs:
            array = np.asarray(found[name])
            feed[name] = (array[None] if array.ndim == rank - 1 else array).astype(dtype)
        sizes = {len(a) for a in feed.values()}
        if len(sizes) != 1:
            raise InputError(f"{path}: the arrays hold different batch sizes {sorted(sizes)}; give one per input")
        return feed

    def run(self, session, paths, output_names):
        """``(sample names, first output rows)`` over every ``.npz`` file of ``paths``."""
        names, rows = [], []
        for path in collect_files(paths, suffixes=(SUFFIX,)):
            feed = self.load(path)
            scores = session.run(output_names, feed)[0]
            count = len(next(iter(feed.values())))
            names += [path] if count == 1 else [f"{path}[{i}]" for i in range(count)]
            rows.append(scores.reshape(count, -1))
        return names, np.concatenate(rows)
