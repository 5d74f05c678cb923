"""Calibration data for static INT8 quantization: preprocessed samples, fed to onnxruntime in batches.

Samples come either from the caller as arrays already put through the model's preprocessing
(``tools/export.py`` passes the training split of the dataset the weights were trained on), or
from a folder of images / ``.npy`` files read with the manifest's preprocessing
(:func:`from_folder`). A seeded subset of ``samples`` of them calibrates; the rest of the pool
stays available as "calibration-style" inputs for checking untrained weights.
"""
import os
from dataclasses import dataclass, field

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod

from ..deploy.preprocess import InputError, Preprocess, collect_files, load_samples
from ..errors import InvalidInputError

METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
           "percentile": CalibrationMethod.Percentile}
DEFAULT_METHOD = "minmax"
DEFAULT_SAMPLES = 128
BATCH = 4  # samples per calibration run. Its session keeps every activation of the run (each is an
# output): ResNet-50 at 224 peaks at 3.8 GB with 16 samples a run, 0.8 GB with 2, at equal CPU time.


@dataclass
class Calibration:
    """Preprocessed calibration inputs (``pool``), how many calibrate, by which method, from where."""

    pool: np.ndarray  # (N, *sample_shape) float32
    source: str  # e.g. "digits training split" or "folder calib/ (images)"
    samples: int = DEFAULT_SAMPLES
    method: str = DEFAULT_METHOD
    seed: int = 0
    chosen: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        if self.method not in METHODS:
            raise InvalidInputError(f"unknown calibration method {self.method!r}: choose from {', '.join(METHODS)}")
        if self.samples < 1:
            raise InvalidInputError(f"calibration samples must be positive, got {self.samples}")
        self.pool = np.ascontiguousarray(self.pool, dtype=np.float32)
        if len(self.pool) == 0:
            raise InputError(f"{self.source}: no calibration samples")
        self.chosen = self.pool[select(len(self.pool), self.samples, self.seed)]

    def reader(self, input_name, fixed_batch=None):
        """Batches of ``BATCH`` samples, or exactly ``fixed_batch`` for a model exported with one."""
        return BatchReader(input_name, self.chosen, fixed_batch or BATCH, fixed=bool(fixed_batch))

    def record(self):
        """What the manifest says about this calibration."""
        return {"source": self.source, "method": self.method, "samples": len(self.chosen),
                "pool": len(self.pool), "selection": f"seeded random subset (seed {self.seed})"}


def select(count, samples, seed=0):
    """Indices of a seeded random subset of ``samples`` out of ``count``, in their original order."""
    if samples >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, samples, replace=False))


def from_folder(folder, sample_shape, preprocess, **options):
    """A :class:`Calibration` from a folder of images / ``.npy`` files; ``preprocess`` is the
    manifest's ``preprocess`` block (images) or None (``.npy`` only). Bad input raises one
    :class:`InputError` naming the file and the fix."""
    if not os.path.isdir(folder):
        raise InputError(f"calibration folder {folder}: no such folder; give a folder of the model's "
                         "training images or preprocessed .npy arrays")
    spec = Preprocess.from_dict(dict(preprocess, channels=sample_shape[0])) if preprocess else None
    files = collect_files([folder])
    arrays = [array for path in files for _, array in load_samples(path, sample_shape, spec)]
    kinds = sorted({os.path.splitext(path)[1].lower() for path in files})
    return Calibration(np.stack(arrays), f"folder {os.path.normpath(folder)} ({', '.join(kinds)})", **options)


class BatchReader(CalibrationDataReader):
    """Feeds samples in batches under the model's input name.

    ``__len__`` and ``set_range`` (in batches) let ``quantize_static`` collect statistics one
    stride at a time (its ``CalibStridedMinMax`` option), which bounds the histogram methods'
    memory to one batch of activations. ``fixed``: every batch has exactly ``batch`` samples (a
    fixed-batch model), the last one completed with the first samples again.
    """

    def __init__(self, input_name, samples, batch=BATCH, fixed=False):
        self.input_name = input_name
        if fixed and len(samples) % batch:
            samples = np.resize(samples, (len(samples) + batch - len(samples) % batch,) + samples.shape[1:])
        self.batches = [samples[i:i + batch] for i in range(0, len(samples), batch)]
        self.set_range(0, len(self.batches))

    def __len__(self):
        return len(self.batches)

    def set_range(self, start_index, end_index):
        self._next = iter(self.batches[start_index:end_index])

    def get_next(self):
        batch = next(self._next, None)
        return None if batch is None else {self.input_name: batch}
