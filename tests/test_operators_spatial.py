"""Per-operator tests for the spatial-transformer converters (GridGenerator, BilinearSampler,
SpatialTransformer) against MXNet 1.9.1: grids that reach outside the image (MXNet reads zeros
there), affine and warp grids, a static and a dynamic batch, the first opset with GridSample
(16) and the newest."""
import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import pytest

from export import export_onnx
from export.onnx import MAX_OPSET, UnsupportedOperatorError, get_operator_support
from op_harness import check_symbol

SAMPLER_OPSETS = (16, MAX_OPSET)
RNG = np.random.RandomState(11)
# 2x3 affine matrices, one per batch row: identity, a zoom-out that reads beyond the border,
# a rotation with shear and shift, a mirror with a shift off the image.
THETAS = np.array([[1, 0, 0, 0, 1, 0],
                   [1.4, 0, 0, 0, 1.3, 0],
                   [0.8, -0.5, 0.2, 0.45, 0.7, -0.3],
                   [-1, 0.1, 0.6, 0, 0.9, 0.5]], np.float32)
BATCH = {"static": (), "dynamic": ("data", "loc", "grid")}


def _image(batch=4, channels=3, size=(6, 7)):
    return RNG.randn(batch, channels, *size).astype(np.float32)


@pytest.mark.parametrize("opset", SAMPLER_OPSETS)
@pytest.mark.parametrize("batch", BATCH)
def test_spatial_transformer_matches_mxnet(opset, batch, tmp_path):
    sym = mx.sym.SpatialTransformer(mx.sym.var("data"), mx.sym.var("loc"), target_shape=(5, 4),
                                    transform_type="affine", sampler_type="bilinear", name="stn")
    check_symbol(sym, {"data": _image(), "loc": THETAS}, opset=opset, tmp_path=tmp_path,
                 batched=BATCH[batch])


@pytest.mark.parametrize("opset", SAMPLER_OPSETS)
@pytest.mark.parametrize("batch", BATCH)
def test_bilinear_sampler_reads_zeros_outside_the_image(opset, batch, tmp_path):
    grid = RNG.uniform(-1.4, 1.4, size=(4, 2, 3, 5)).astype(np.float32)
    grid[0, :, 0, 0] = (1.0, -1.0)  # exactly on corners
    sym = mx.sym.BilinearSampler(mx.sym.var("data"), mx.sym.var("grid"), name="sampler")
    check_symbol(sym, {"data": _image(), "grid": grid}, opset=opset, tmp_path=tmp_path,
                 batched=BATCH[batch])


@pytest.mark.parametrize("opset", SAMPLER_OPSETS)
def test_affine_grid_generator_feeding_the_sampler(opset, tmp_path):
    grid = mx.sym.GridGenerator(mx.sym.var("loc"), transform_type="affine", target_shape=(6, 3))
    sym = mx.sym.BilinearSampler(mx.sym.var("data"), grid, name="affine_sampled")
    check_symbol(sym, {"data": _image(), "loc": THETAS}, opset=opset, tmp_path=tmp_path,
                 batched=BATCH["dynamic"])


@pytest.mark.parametrize("opset", (13, MAX_OPSET))
@pytest.mark.parametrize("kind", ["affine", "warp"])
def test_grid_generator_matches_mxnet(kind, opset, tmp_path):
    x = mx.sym.var("data")
    if kind == "affine":
        sym, data = mx.sym.GridGenerator(x, transform_type="affine", target_shape=(4, 7), name="grid"), THETAS
    else:
        sym, data = mx.sym.GridGenerator(x, transform_type="warp", name="warp"), \
            RNG.randn(3, 2, 4, 6).astype(np.float32) * 2
    check_symbol(sym, {"data": data}, opset=opset, tmp_path=tmp_path)


@pytest.mark.parametrize("opset", (16, MAX_OPSET))
def test_warp_grid_sampled_like_mxnet(opset, tmp_path):
    """Optical-flow warping: a flow field moves each output pixel's sampling point."""
    grid = mx.sym.GridGenerator(mx.sym.var("flow"), transform_type="warp")
    sym = mx.sym.BilinearSampler(mx.sym.var("data"), grid, name="warped")
    flow = RNG.randn(4, 2, 6, 7).astype(np.float32) * 1.5
    check_symbol(sym, {"data": _image(), "flow": flow}, opset=opset, tmp_path=tmp_path,
                 batched=("data", "flow"))


def test_operator_support_lists_the_samplers_from_opset_16():
    table = get_operator_support()
    assert (table["GridGenerator"], table["BilinearSampler"], table["SpatialTransformer"]) == ([13], [16], [16])
    assert "GridGenerator" in get_operator_support(15) and "BilinearSampler" not in get_operator_support(15)


def test_sampler_below_opset_16_is_one_error_naming_opset_16(tmp_path):
    sym = mx.sym.SpatialTransformer(mx.sym.var("data"), mx.sym.var("loc"), target_shape=(5, 4),
                                    transform_type="affine", sampler_type="bilinear", name="stn")
    with pytest.raises(UnsupportedOperatorError, match=r"'SpatialTransformer'.*'stn'.*needs opset 16.*opset=16"):
        export_onnx((sym, {}), tmp_path / "m.onnx", input_shape={"data": (4, 3, 6, 7), "loc": (4, 6)}, opset=15)
    assert list(tmp_path.iterdir()) == []


def test_lenet_stn_style_net_matches_mxnet(tmp_path):
    """MXNet's lenet-stn example in small: a localisation net predicts the affine transform."""
    data = mx.sym.var("data")
    loc = mx.sym.FullyConnected(mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=8, name="loc1"),
                                                  act_type="tanh"), num_hidden=6, name="loc2")
    warped = mx.sym.SpatialTransformer(data, loc, target_shape=(6, 6), transform_type="affine",
                                       sampler_type="bilinear", name="stn")
    conv = mx.sym.Convolution(warped, kernel=(3, 3), num_filter=4, name="conv")
    sym = mx.sym.FullyConnected(mx.sym.Activation(conv, act_type="relu"), num_hidden=5, name="fc")
    params = {"loc1_weight": RNG.randn(8, 3 * 6 * 7) * 0.1, "loc1_bias": RNG.randn(8) * 0.1,
              "loc2_weight": RNG.randn(6, 8) * 0.2, "loc2_bias": np.array([0.9, 0.1, 0, -0.1, 0.8, 0.1]),
              "conv_weight": RNG.randn(4, 3, 3, 3) * 0.3, "conv_bias": RNG.randn(4) * 0.1,
              "fc_weight": RNG.randn(5, 4 * 4 * 4) * 0.2, "fc_bias": RNG.randn(5) * 0.1}
    params = {n: v.astype(np.float32) for n, v in params.items()}
    check_symbol(sym, {"data": _image()}, params=params, opset=16, tmp_path=tmp_path)
