"""The agreement layer: for every registered zoo model, imperative = hybridized =
SymbolBlock.imports reload = ONNX Runtime (optimized and one-to-one graphs), at batch 1 and
batch 3 through the same dynamic-batch file. Models whose config declares other dynamic dims
(sequence length; FCN's height and width) are exported with those dynamic too and checked at
batch 3 with other sizes of them through the same file.

Weights: fixed seed (``hybridzoo.seeded.init_model``): He init for nets without BatchNorm, so
outputs depend on the input; every BatchNorm's gamma and beta random and its running mean/var
calibrated on a batch of the same distribution as the inputs, then perturbed; LayerNorms random.
Inputs: as the model's config describes them (token ids, valid lengths, begin states, images).
Tolerance: max|a - b| <= 1e-4 * max(1, max|reference|).
Input sizes: the D2L models that need 224 and the ImageNet-depth variants run at the smallest
size their architecture takes (``SMALL_INPUT``), which keeps every layer and the suite fast.

Detectors (config task ``detection``: the tiny SSD) are compared as MXNet's own ONNX test-suite
compares them (:func:`agreement`): among hundreds of anchors some scores differ by less than
float32 rounding between MXNet's and ONNX Runtime's kernels, which may swap two rows of the
sorted NMS output. So each backend's detections above a score threshold that lies in a gap of
the reference's scores must pair one to one with MXNet's, by class, within the tolerance in
score and corners (``export.verify_detection.multibox_error``), and every backend must agree
element by element on the tensors NMS reads (``training_block``: anchors, class scores, box
offsets).
"""
import hybridzoo
import mxnet as mx
import numpy as np
import onnx
import pytest

from export import verify
from hybridzoo_tools.zoo_agreement import (BATCHES, OTHER_SIZE, SEQ, SMALL_INPUT, agreement,  # noqa: F401
                                           assert_not_degenerate, base_dims, build, sample_inputs)


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_backends_agree(name, tmp_path):
    net = build(name)
    report = agreement(net, sample_inputs(net), str(tmp_path), name)
    if "raw" in report:  # a detector: the tensors before NMS, element by element
        assert min(report["detections"]) >= 3, f"{name}: too few detections compared {report['detections']}"
        for backend, error in report["raw"]["errors"].items():
            assert error <= report["raw"]["tolerance"], f"{name} {backend} before NMS: max error {error:.3g}"
    assert_not_degenerate(report["reference"][max(BATCHES)], name)
    assert set(report["errors"]) == {"hybridized", "symbol", "onnx", "onnx-plain"}
    for backend, error in report["errors"].items():
        assert error <= report["tolerance"], (
            f"{name} {backend}: max error {error:.3g} > tolerance {report['tolerance']:.3g}")
    check_graphs(net, tmp_path / f"{name}-onnx.onnx", tmp_path / f"{name}-onnx-plain.onnx")


def expected_dims(config, specs, shapes):
    """ONNX dims of exported values: a dynamic axis by its name, a static one by its size
    (``None``: a size the config leaves to the net, not compared)."""
    dynamic = ("batch",) + tuple(config.dynamic)
    return [[names.get(axis) if names.get(axis) in dynamic else size for axis, size in enumerate(shape)]
            for names, shape in ((spec.axis_names(), shape) for spec, shape in zip(specs, shapes))]


def check_graphs(net, optimized, plain):
    """Weights are initializers only; only the batch axis and the config's dynamic dims are
    symbolic; optimizing never adds nodes and leaves no BatchNorm that directly follows a
    convolution."""
    config = net.zoo_config
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    base = base_dims(config)
    want_in = expected_dims(config, config.input_specs, config.input_shapes(1, **base))
    want_out = expected_dims(config, config.output_specs, config.output_shapes(1, **base))
    models = [onnx.load(str(p)) for p in (optimized, plain)]
    for model in models:
        assert [dims(i) for i in model.graph.input] == want_in
        # an output axis that follows a dynamic dim through arithmetic (FCN's height / 32 * 32)
        # gets a name of its own: outputs only need their dynamic axes symbolic
        symbolic = lambda d: d if d == "batch" or not isinstance(d, str) else "dynamic"
        got_out = [[symbolic(d) for d in dims(o)] for o in model.graph.output]
        assert [[g for g, w in zip(got, want) if w is not None] for got, want in zip(got_out, want_out)] == \
            [[symbolic(w) for w in want if w is not None] for want in want_out]
    opt, one_to_one = (m.graph.node for m in models)
    assert len(opt) <= len(one_to_one)
    producers = {out: n.op_type for n in opt for out in n.output}
    assert not [n.name for n in opt if n.op_type == "BatchNormalization" and producers.get(n.input[0]) == "Conv"]
