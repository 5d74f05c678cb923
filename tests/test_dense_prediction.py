"""D2L's FCN and tiny SSD beyond the generic zoo tests: the bilinear initializer, the FCN's
backbone and output size, the SSD's anchors and training outputs, how a detector's outputs are
compared (rows sorted by score whose near-ties may swap), and its artifact check."""
import hybridzoo
import mxnet as mx
import numpy as np
import pytest
from hybridzoo.init import BilinearKernel
from hybridzoo.testing import init_model, sample_inputs
from mxnet.gluon import nn

from export.artifacts.package import export_artifact
from export.verify_detection import multibox_error


@pytest.mark.parametrize("stride", [2, 4, 32])
def test_bilinear_kernel_upsamples_bilinearly(stride):
    """Kernel 2s, stride s, padding s/2: the transposed conv is BilinearResize2D (half-pixel
    centers) away from the border, channel by channel."""
    up = nn.Conv2DTranspose(3, 2 * stride, strides=stride, padding=stride // 2, in_channels=3,
                            weight_initializer=BilinearKernel())
    up.initialize()
    x = mx.nd.array(np.random.RandomState(0).uniform(size=(2, 3, 6, 7)))
    got = up(x).asnumpy()
    want = mx.nd.contrib.BilinearResize2D(x, scale_height=stride, scale_width=stride, align_corners=False).asnumpy()
    assert got.shape == want.shape == (2, 3, 6 * stride, 7 * stride)
    inner = (Ellipsis, slice(stride, -stride), slice(stride, -stride))
    np.testing.assert_allclose(got[inner], want[inner], atol=1e-6)
    weight = up.weight.data().asnumpy()
    assert not weight[0, 1].any() and weight[1, 1].any()  # channel i feeds channel i only


def test_bilinear_kernel_rejects_other_shapes():
    with pytest.raises(ValueError, match="square"):
        BilinearKernel()(mx.init.InitDesc("up_weight"), mx.nd.zeros((3, 4, 8, 8)))


def test_fcn_output_size_and_backbone_copy():
    net = init_model(hybridzoo.get_model("fcn_resnet18", classes=5, input_size=64))
    for height, width in ((64, 96), (32, 160)):
        assert net(mx.nd.zeros((1, 3, height, width))).shape == (1, 5, height, width)
    resnet = init_model(hybridzoo.get_model("resnet18_v2", input_size=64), seed=3)
    net.copy_backbone(resnet)
    x = mx.nd.array(sample_inputs(net, 2, seed=1)[0])
    pooled = resnet.features(x).asnumpy()[..., 0, 0]                    # global average pool
    np.testing.assert_allclose(net.features(x).asnumpy().mean(axis=(2, 3)), pooled, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="resnet18_v2"):
        net.copy_backbone(hybridzoo.get_model("resnet34_v2"))  # shapes are checked before any data


def test_tiny_ssd_anchors_and_training_outputs():
    net = init_model(hybridzoo.get_model("tiny_ssd", classes=2, input_size=64))
    anchors, cls_preds, bbox_preds = net.training_block(mx.nd.array(sample_inputs(net, 2, seed=0, height=64, width=64)[0]))
    count = 4 * (8 * 8 + 4 * 4 + 2 * 2 + 1 + 1)  # 4 anchors per pixel of the five scales
    assert (anchors.shape, cls_preds.shape, bbox_preds.shape) == ((1, count, 4), (2, count, 3), (2, 4 * count))
    assert net(mx.nd.zeros((2, 3, 64, 64))).shape == (2, count, 6)
    # D2L's sizes: the first anchor at the first pixel is 0.2 wide around (1/16, 1/16)
    np.testing.assert_allclose(anchors.asnumpy()[0, 0], [0.0625 - 0.1, 0.0625 - 0.1, 0.0625 + 0.1, 0.0625 + 0.1],
                               atol=1e-6)


def _rows(*detections, count=6):
    rows = -np.ones((1, count, 6), np.float32)
    for i, det in enumerate(detections):
        rows[0, i] = det
    return rows


def test_multibox_error_pairs_detections_whatever_their_order():
    a, b = (0, 0.8000001, 0.1, 0.1, 0.3, 0.3), (0, 0.8, 0.5, 0.5, 0.9, 0.9)
    c = (0, 0.3, 0.2, 0.2, 0.4, 0.4)
    want = _rows(a, b, c)
    swapped = _rows(b, a, c)  # a near-tie sorted the other way
    assert multibox_error([want], [swapped]) == pytest.approx(1e-7, abs=1e-7)
    assert multibox_error([want], [_rows(a, c)]) == float("inf")               # one went missing
    assert multibox_error([want], [_rows(a, (1,) + b[1:], c)]) == float("inf")  # another class
    moved = _rows(a, b[:2] + (0.51, 0.5, 0.9, 0.9), c)
    assert multibox_error([want], [moved]) == pytest.approx(0.01, abs=1e-6)
    plain = np.zeros((2, 3), np.float32)
    assert multibox_error([plain], [plain + 0.5]) == 0.5  # other outputs: element by element


def test_tiny_ssd_artifact_checks_detections(tmp_path):
    """tools/export.py's check compares the detector's rows as detections (element by element,
    near-tie swaps among its 344 anchors would fail an exporter that is right)."""
    net = init_model(hybridzoo.get_model("tiny_ssd", input_size=64))
    artifact = export_artifact(net, str(tmp_path))
    assert artifact.report["passed"]
    assert artifact.manifest["inputs"][0]["shape"] == [None, 3, None, None]
