"""Initializers the zoo offers beyond ``mx.init``.

``HeFanOut`` is the torchvision ResNet recipe: convolution kernels from He et al.'s normal with
fan-out scaling, std = sqrt(2 / (out_channels * kh * kw)), which keeps the variance of the
back-propagated signal constant through ReLU layers of deep residual nets (D2L's Xavier is
derived for linear/tanh units and starts ResNet-152 with shrinking gradients), and Dense
weights from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), so the classifier's logits start small.
No single ``mx.init`` class does both: ``MSRAPrelu('out')`` on a Dense weight would scale the
head by its 10 or 1000 outputs, and ``mx.init.Mixed`` cannot give each Dense its own bound.
The ResNet family uses it as ``default_init``. ``BilinearKernel`` starts FCN's transposed
convolution as bilinear upsampling.
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


@mx.init.register
class BilinearKernel(mx.init.Initializer):
    """D2L's ``bilinear_kernel`` for a transposed convolution that upsamples by bilinear
    interpolation (FCN's last layer): channel i maps to channel i through the bilinear filter,
    other channel pairs get 0. ``mx.init.Bilinear`` differs: it puts the filter on every
    (input, output) channel pair, so each output channel would sum all input channels.
    Kernel ``2s`` with stride ``s`` and padding ``s / 2`` enlarges a map ``s`` times.
    """

    def _init_weight(self, name, arr):
        in_channels, out_channels, height, width = arr.shape
        if in_channels != out_channels or height != width:
            raise ValueError(f"BilinearKernel initializes square (C, C, k, k) kernels; {name} has shape {arr.shape}")
        factor = (height + 1) // 2
        center = factor - 1 if height % 2 == 1 else factor - 0.5
        rows, cols = np.ogrid[:height, :width]
        filt = (1 - np.abs(rows - center) / factor) * (1 - np.abs(cols - center) / factor)
        weight = np.zeros(arr.shape, np.float32)
        weight[range(in_channels), range(out_channels)] = filt
        arr[:] = weight
