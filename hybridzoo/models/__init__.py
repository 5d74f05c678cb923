"""Model families; importing this package registers every model."""
from . import regression, lenet, alexnet, vgg, nin, googlenet, resnet, densenet  # noqa: F401
