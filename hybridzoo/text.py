"""Bundled text for the language models: the Python documentation that ships with Python.

``pydoc_data.topics`` holds the pages of Python's ``help()`` (about 465,000 characters of
English prose and code examples, in every CPython installation). It is preprocessed as D2L
preprocesses The Time Machine: every run of non-letters becomes one space, letters are lower
case, and the tokens are characters of a fixed vocabulary (``<unk>``, space, a-z: 28, the
``python_docs`` labels in :data:`hybridzoo.config.DATASET_LABELS`). The last tenth of the text
is held out to measure perplexity.
"""
import re

import numpy as np

from .config import DATASET_LABELS

VOCAB = DATASET_LABELS["python_docs"]
_INDEX = {token: i for i, token in enumerate(VOCAB)}
TEST_FRACTION = 0.1


def load_text():
    """The preprocessed documentation text (topics in sorted order, one space between them)."""
    try:
        from pydoc_data.topics import topics
    except ImportError:
        raise RuntimeError("this Python has no pydoc_data (some distributions split it off, e.g. "
                           "into a python3-doc package); install it to train the language models") from None
    text = " ".join(topics[key] for key in sorted(topics))
    return re.sub("[^A-Za-z]+", " ", text).strip().lower()


def encode(text):
    """Characters -> int32 ids (unknown characters -> 0, ``<unk>``)."""
    return np.array([_INDEX.get(c, 0) for c in text], np.int32)


def decode(ids):
    return "".join(VOCAB[int(i)] if int(i) > 0 else "?" for i in ids)


def corpus_split(text=None):
    """``(train ids, test ids)``: the text's first nine tenths and the last tenth."""
    ids = encode(load_text() if text is None else text)
    cut = int(len(ids) * (1 - TEST_FRACTION))
    return ids[:cut], ids[cut:]


def sequential_batches(ids, batch_size, num_steps, offset=0):
    """D2L's sequential partitioning: ``batch_size`` contiguous streams read ``num_steps`` at a
    time, so each minibatch continues the previous one (its final state is the next begin
    state). Yields ``(X, Y)`` int32 (batch, steps), ``Y`` = ``X`` shifted by one token."""
    count = (len(ids) - offset - 1) // batch_size * batch_size
    xs = ids[offset:offset + count].reshape(batch_size, -1)
    ys = ids[offset + 1:offset + 1 + count].reshape(batch_size, -1)
    for start in range(0, xs.shape[1] // num_steps * num_steps, num_steps):
        yield xs[:, start:start + num_steps], ys[:, start:start + num_steps]
