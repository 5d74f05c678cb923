"""D2L's fully convolutional network for semantic segmentation (ch. 14.11).

A ResNet-18 v2 without its pooling and classifier (D2L takes Gluon's pretrained
``resnet18_v2.features[:-2]``; :meth:`FCN.copy_backbone` copies a ``resnet18_v2`` net's
weights in) reduces the image 32 times; a 1x1 convolution turns its 512 channels into
``classes``, and a transposed convolution (kernel 64, stride 32, padding 16) enlarges the map
back to the input size, starting as bilinear upsampling (:class:`~hybridzoo.init.BilinearKernel`).
Output: per-pixel class scores (batch, classes, height, width), for any height and width that
are multiples of 32 (exported with dynamic height and width).
"""
from mxnet.gluon import nn

from ..config import imagenet
from ..init import BilinearKernel, HeFanOut
from ..registry import register_model
from ..specs import TensorSpec
from ._common import ZooNet
from .resnet import RESNET_SPEC
from .resnet_v2 import preact_features

STRIDE = 32  # the backbone's downsampling; the transposed conv undoes it


class FCN(ZooNet):
    """``features``: the ResNet-18 v2 backbone; ``output``: 1x1 conv to ``classes``, then the
    bilinear-initialized transposed conv."""

    default_init = HeFanOut()

    def __init__(self, classes=21, in_channels=3, depth=18, **kwargs):
        super().__init__(**kwargs)
        kind, blocks = RESNET_SPEC[depth]
        with self.name_scope():
            self.features, channels = preact_features(kind, blocks, in_channels)
            self.output = nn.HybridSequential(prefix="output_")
            with self.output.name_scope():
                self.output.add(nn.Conv2D(classes, 1, in_channels=channels),
                                nn.Conv2DTranspose(classes, 2 * STRIDE, strides=STRIDE, padding=STRIDE // 2,
                                                   in_channels=classes, weight_initializer=BilinearKernel()))

    def copy_backbone(self, resnet):
        """Take the weights of a ``resnet18_v2`` net (ours, or Gluon's loaded with
        ``get_model("resnet18_v2", pretrained=..., source="gluon")``) into ``features``."""
        ours = list(self.features.collect_params().values())
        theirs = list(resnet.features.collect_params().values())
        if [p.shape for p in ours] != [p.shape for p in theirs]:
            raise ValueError("copy_backbone takes a resnet18_v2 net with the same input channels")
        for mine, other in zip(ours, theirs):
            mine.set_data(other.data())


# Pascal VOC 2012 (21 classes incl. background) at D2L's 320 x 480 crops; D2L's recipe:
# SGD lr 0.1, wd 1e-3, batch 32, 5 epochs. No bundled data: exported untrained.
_VOC = imagenet(lr=0.1, batch_size=32, epochs=5).with_(
    input_shape=(3, 320, 480), resize=None, classes=21, dataset="voc2012", task="segmentation",
    inputs=(TensorSpec("image", ("channels", "height", "width")),),
    outputs=(TensorSpec("scores", ("classes", "height", "width")),), dynamic=("height", "width"))


@register_model(config=_VOC)
def fcn_resnet18(**kwargs):
    """FCN on ResNet-18 v2: 21 classes at 320x480 by default; takes any multiple of 32."""
    kwargs.setdefault("prefix", "fcn_resnet18_")
    kwargs.pop("input_size", None)  # fully convolutional: any size (the config records it)
    return FCN(**kwargs)
