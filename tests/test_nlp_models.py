"""Agreement of GluonNLP transformers and language models (and GluonCV's Xception) with
ONNX Runtime, each exported once from its symbol files with dynamic batch and sequence axes
and compared at the export shape and at two other batch/sequence sizes through that file.

Reduced models (two layers of 32 units, ``hybridzoo.testing.gluonnlp_models``), seeded weights that make
the outputs depend on the input (asserted), max error as in the agreement layer
(``export.verify``: max|ONNX - MXNet| <= 1e-4 * max(1, max|MXNet|)).
"""
import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from export import export_onnx, verify
from hybridzoo.testing import gluonnlp_models

SIZES = [(2, 5), (3, 8), (1, 3)]  # (batch, sequence): the first is the export shape


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _assert_agrees(want, got, what):
    assert verify.max_error(want, got) <= verify.tolerance(want), \
        f"{what}: max error {verify.max_error(want, got):.3g} > {verify.tolerance(want):.3g}"


def _assert_input_dependent(case, first, rng):
    """Other inputs at the same shape give other outputs (weights are not degenerate)."""
    other = case.reference(case.make(*SIZES[0], rng)[0])
    assert all(np.ptp(o) > 1e-3 for o in first if o.size > 1), f"{case.name}: a constant output"
    assert any(np.abs(a - b).max() > 1e-3 for a, b in zip(first, other)), f"{case.name}: input-blind"


def _export_and_check(family, opset, tmp_path, optimize=True):
    case = gluonnlp_models.build(family)
    prefix = str(tmp_path / family)
    feeds = case.export_symbol(prefix, *SIZES[0])
    path = tmp_path / f"{family}.onnx"
    export_onnx(prefix, path, input_shape={n: f.shape for n, f in feeds.items()}, opset=opset,
                dynamic_axes=case.dynamic_axes, optimize=optimize)
    model = onnx.load(str(path))
    for value in model.graph.input:  # every requested dynamic axis stayed dynamic
        dims = [d.dim_param for d in value.type.tensor_type.shape.dim]
        assert all(dims[a] == name for a, name in case.dynamic_axes[value.name].items()), (value.name, dims)
    session = _session(path)
    rng = np.random.RandomState(5)
    for i, (batch, seq) in enumerate(SIZES):
        args, feeds = case.make(batch, seq, rng)
        want = case.reference(args)
        if i == 0:
            _assert_input_dependent(case, want, rng)
        _assert_agrees(want, session.run(None, feeds), f"{family} at batch {batch}, sequence {seq}")
    return model


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("family", gluonnlp_models.FAMILIES)
def test_family_agrees_at_other_batch_and_sequence(family, opset, tmp_path):
    _export_and_check(family, opset, tmp_path)


@pytest.mark.parametrize("family", ["bert", "distilbert"])
def test_transformer_optimize_level_fuses_and_agrees(family, tmp_path):
    """optimize="transformer": ONNX Runtime's fusions (SkipLayerNormalization, Gelu), same
    agreement at every size."""
    pytest.importorskip("sympy", reason="the fusion extra (sympy) is not installed")
    model = _export_and_check(family, 17, tmp_path, optimize="transformer")
    fused = {n.op_type for n in model.graph.node if n.domain == "com.microsoft"}
    assert {"SkipLayerNormalization", "Gelu"} <= fused, fused


def test_xception_reduced_input(tmp_path):
    """GluonCV's Xception applies blocks twice (repeated MXNet node names): unique ONNX names.
    Its depth amplifies float32 rounding (MXNet's own float32 output is off by ~1e-4), so the
    reference is MXNet in float64."""
    import gluoncv
    from hybridzoo.testing import init_model
    net = gluoncv.model_zoo.get_model("xception", pretrained=False)
    net.initialize(mx.init.MSRAPrelu())
    rng = np.random.RandomState(2)
    x = rng.normal(0, 1, (2, 3, 71, 71)).astype(np.float32)
    init_model(net, seed=0, ctx=mx.cpu(), calibration=mx.nd.array(x))
    path = tmp_path / "xception.onnx"
    export_onnx(net, path, input_shape=(1, 3, 71, 71))
    session = _session(path)
    net.cast("float64")
    for batch in (1, 2):
        want = [net(mx.nd.array(x[:batch], dtype="float64")).asnumpy()]
        assert np.ptp(want[0]) > 1e-3
        _assert_agrees(want, session.run(None, {"data": x[:batch]}), f"xception at batch {batch}")
