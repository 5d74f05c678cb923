"""Initializers the zoo offers beyond ``mx.init``.

``HeFanOut`` is the torchvision ResNet recipe: convolution kernels from He et al.'s normal with
fan-out scaling, std = sqrt(2 / (out_channels * kh * kw)), which keeps the variance of the
back-propagated signal constant through ReLU layers of deep residual nets (D2L's Xavier is
derived for linear/tanh units and starts ResNet-152 with shrinking gradients), and Dense
weights from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), so the classifier's logits start small.
No single ``mx.init`` class does both: ``MSRAPrelu('out')`` on a Dense weight would scale the
head by its 10 or 1000 outputs, and ``mx.init.Mixed`` cannot give each Dense its own bound.
The ResNet family uses it as ``default_init``.
"""
import numpy as np
import mxnet as mx


@mx.init.register
class HeFanOut(mx.init.Initializer):
    """He-normal (fan-out) for 4-D conv kernels, fan-in uniform for 2-D Dense weights."""

    def __init__(self, gain=2.0):
        super().__init__(gain=gain)
        self.gain = gain

    def _init_weight(self, name, arr):
        shape = arr.shape
        if len(shape) == 4:
            fan_out = shape[0] * shape[2] * shape[3]
            mx.nd.random.normal(0, np.sqrt(self.gain / fan_out), shape=shape, out=arr)
        elif len(shape) == 2:
            bound = 1.0 / np.sqrt(shape[1])
            mx.nd.random.uniform(-bound, bound, shape=shape, out=arr)
        else:
            raise ValueError(f"HeFanOut initializes 2-D or 4-D weights; {name} has shape {shape}")
