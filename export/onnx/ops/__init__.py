"""Op converters; importing this package registers every converter.

nn: the layers the zoo emits (Convolution, FullyConnected, Pooling, BatchNorm, Activation,
Dropout, Flatten, Concat, identity-like ops). The other modules cover the rest of what Gluon
``nn`` layers and common ``F.`` functions emit.
"""
from . import nn, elementwise, shape, norm, activation, reduce, misc  # noqa: F401
from . import indexing, linalg, creation, rnn, attention  # noqa: F401
