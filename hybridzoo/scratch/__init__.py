"""The seed's from-scratch exercises as tested library code, each checked against Gluon's
built-in equivalent (tests/test_scratch.py, tests/test_train.py):

- :mod:`.linreg`: linear regression (synthetic data, hand-written SGD) and with Gluon.
- :mod:`.classify`: softmax, cross-entropy, accuracy; softmax regression and the MLP (with
  dropout) trained from scratch and with Gluon from the same weights and minibatches.
- :mod:`.regularization`: dropout and the L2 penalty (= the Trainer's ``wd``).
- :mod:`.conv`: ``corr2d``, multiple input and output channels, 1x1 convolution as a fully
  connected layer over channels, pooling.

From scratch means NDArray and autograd only (``attach_grad``, ``autograd.record``,
``backward``); nothing here is used by the zoo's models.
"""
from . import classify, conv, linreg, regularization  # noqa: F401
