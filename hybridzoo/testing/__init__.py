"""Helpers for tests that compare numerics, and third-party nets built offline with such weights.

The weights themselves are production code (``tools/export.py --untrained`` uses them) and live
in :mod:`hybridzoo.seeded`; they are re-exported here for tests. Submodules (they need the
``test`` extra): ``gluonnlp_models`` (BERT-family transformers and LSTM language models) and
``gluoncv_detectors`` (SSD, YOLOv3, Faster/Mask R-CNN, CenterNet with distinct scores).
"""
from ..seeded import *  # noqa: F401,F403  (the seeded-weights API, for tests)
from ..seeded import CALIBRATION_BATCH, __all__  # noqa: F401
