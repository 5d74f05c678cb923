"""Op converters; importing this package registers every converter.

nn: the layers the zoo emits (Convolution, FullyConnected, Pooling, BatchNorm, Activation,
Dropout, Flatten, Concat, identity-like ops). The other modules cover the rest of what Gluon
``nn``/``rnn`` layers and common ``F.`` functions emit: elementwise (arithmetic, comparisons,
unary math, Cast, clip), shape (reshape, slice, pad, tile, split, broadcast), norm, activation
(LeakyReLU, softmax family, training heads), reduce, misc (Deconvolution, UpSampling, adaptive
pooling, resize), indexing (Embedding, take, pick, topk/sort, sequence ops), linalg, creation,
rnn (the fused RNN/LSTM/GRU op), attention (GluonNLP's fused attention, div_sqrt_dim),
broadcast (broadcast_to/axis/like), random (uniform/normal draws, multinomial sampling) and
image (to_tensor, normalize, flips, crop, lighting, resize). The detection_* and roi modules
cover GluonCV's detectors; spatial the spatial-transformer ops (GridGenerator, BilinearSampler,
SpatialTransformer); the np_* modules MXNet's numpy interface (``_np_*``/``_npi_*``/``_npx_*``,
see :mod:`.np_aliases`). ``_emit`` holds the small node
emitter they share.
"""
from . import nn, elementwise, shape, norm, activation, reduce, misc  # noqa: F401
from . import indexing, linalg, creation, rnn, attention, broadcast  # noqa: F401
from . import detection_nms, detection_boxes, detection_multibox, roi, random  # noqa: F401
from . import spatial, image, np_elementwise, np_shape, np_reduce, np_misc, np_extra  # noqa: F401
from . import np_aliases  # noqa: F401  (last: aliases share what the others registered)
