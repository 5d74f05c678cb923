"""Model families; importing this package registers every model."""
from . import (regression, lenet, alexnet, vgg, nin, googlenet, resnet, resnet_v2,  # noqa: F401
               densenet, squeezenet, mobilenet, inception, rnn_lm, transformer, bert, fcn, ssd)
