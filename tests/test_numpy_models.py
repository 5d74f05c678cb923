"""The D2L architectures written in numpy mode (``npx.set_np()``, ``F.np``/``F.npx``) export
and agree: imperative = hybridized = ONNX Runtime, through ``export_onnx`` on the block and
``export_model`` on the files ``HybridBlock.export`` writes, at the export batch and another.
Numpy mode is switched on per test and off after it."""
import json

import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from mxnet import npx
from mxnet.gluon import nn

from export import export_onnx
from export.onnx import UnsupportedOperatorError, export_model
from hybridzoo_tools.numpy_nets import NUMPY_NETS, dynamic_axes
from op_harness import tolerance

SECOND_BATCH = 3


@pytest.fixture
def numpy_mode():
    npx.set_np()
    yield
    npx.reset_np()


def _names(inputs):
    return ["data"] if len(inputs) == 1 else [f"data{i}" for i in range(len(inputs))]


def _run(net, inputs):
    out = net(*[mx.np.array(x, dtype=x.dtype) for x in inputs])
    return [o.asnumpy() for o in (out if isinstance(out, (list, tuple)) else [out])]


def _rebatch(name, inputs, rng):
    """The inputs at SECOND_BATCH (axis 1 for RNN states), drawn afresh."""
    out = []
    for i, x in enumerate(inputs):
        axis = 1 if name.endswith("_lm") and i > 0 else 0
        shape = list(x.shape)
        shape[axis] = SECOND_BATCH
        if x.dtype == np.int64:
            out.append(rng.randint(0, int(x.max()) + 1, shape).astype(np.int64))
        elif name == "transformer_block" and i == 1:
            out.append(np.array([6, 2, 4], np.float32))
        else:
            out.append(rng.uniform(-1, 1, shape).astype(x.dtype))
    return out


def _agree(path, net, name, inputs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for feeds in (inputs, _rebatch(name, inputs, np.random.RandomState(1))):
        refs = _run(net, feeds)
        gots = session.run(None, dict(zip(_names(inputs), feeds)))
        assert len(gots) == len(refs)
        for i, (got, ref) in enumerate(zip(gots, refs)):
            assert got.shape == ref.shape and got.dtype == ref.dtype, f"{name} output {i}"
            assert np.ptp(ref) > 0.1, f"{name} output {i}: degenerate reference"
            err = float(np.abs(got.astype(np.float64) - ref).max())
            assert err <= tolerance(ref), f"{name} output {i}: max |ONNX - MXNet| = {err:.3g}"


@pytest.mark.parametrize("name", sorted(NUMPY_NETS))
def test_numpy_net_agrees_imperative_hybridized_and_onnx_runtime(name, numpy_mode, tmp_path):
    net, inputs = NUMPY_NETS[name]()
    imperative = _run(net, inputs)
    net.hybridize()
    for got, ref in zip(_run(net, inputs), imperative):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(ref).max()))
    path = export_onnx(net, tmp_path / f"{name}.onnx", input_shape=[x.shape for x in inputs],
                       input_dtype=[x.dtype for x in inputs], dynamic_axes=dynamic_axes(name, inputs))
    model = onnx.load(str(path))
    dtypes = [onnx.helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type) for i in model.graph.input]
    assert dtypes == [x.dtype for x in inputs]  # int64 token ids stay int64
    _agree(path, net, name, inputs)


@pytest.mark.parametrize("name", sorted(NUMPY_NETS))
def test_export_model_converts_the_files_a_numpy_mode_net_exports(name, numpy_mode, tmp_path):
    net, inputs = NUMPY_NETS[name]()
    net.hybridize()
    _run(net, inputs)
    net.export(str(tmp_path / name))
    graph = json.loads((tmp_path / f"{name}-symbol.json").read_text())
    assert graph["attrs"]["is_np_shape"] == ["int", 1]  # saved in numpy mode
    npx.reset_np()  # the files convert whatever mode the caller is in
    path = export_model(str(tmp_path / f"{name}-symbol.json"), str(tmp_path / f"{name}-0000.params"),
                        [x.shape for x in inputs], [x.dtype for x in inputs],
                        str(tmp_path / f"{name}.onnx"), dynamic_axes=dynamic_axes(name, inputs))
    npx.set_np()
    _agree(path, net, name, inputs)


@mx.util.use_np
class _ScaledRelu(nn.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = nn.Dense(4, in_units=3)

    def hybrid_forward(self, F, x):
        return F.np.clip(F.npx.relu(self.dense(x)) * 2, 0.0, 1.5).sum(axis=-1)


def test_a_use_np_decorated_block_exports_with_numpy_mode_off(tmp_path):
    assert not mx.util.is_np_array()
    net = _ScaledRelu()
    net.initialize(mx.init.Uniform(1.0))
    x = np.random.RandomState(0).uniform(-1, 1, (2, 3)).astype(np.float32)
    ref = net(mx.np.array(x)).asnumpy()
    path = export_onnx(net, tmp_path / "scaled.onnx", input_shape=x.shape)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"data": x})[0]
    assert got.shape == ref.shape == (2,)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
    assert not mx.util.is_np_array() and not mx.util.is_np_shape()


class _Unique(nn.HybridBlock):
    def hybrid_forward(self, F, x):
        return F.np.unique(x)


def test_an_op_without_onnx_meaning_names_itself_and_the_way_out(numpy_mode, tmp_path):
    with pytest.raises(UnsupportedOperatorError, match=r"_npi_unique.*no ONNX meaning.*before or after"):
        export_onnx(_Unique(), tmp_path / "u.onnx", input_shape=(4,))
    assert not (tmp_path / "u.onnx").exists()


def test_numpy_mode_is_off_after_the_numpy_tests():
    assert not mx.util.is_np_array() and not mx.util.is_np_shape()


@pytest.mark.parametrize("name", ["resnet18", "transformer_block"])
def test_the_export_tool_takes_a_numpy_mode_checkpoint(name, numpy_mode, tmp_path, capsys):
    """tools/export.py --checkpoint on the files a numpy-mode net exported: MXNet (the symbol bound
    as saved), the reloaded symbol and ONNX Runtime agree in the artifact's report."""
    from _tools import load_tool
    net, inputs = NUMPY_NETS[name]()
    net.hybridize()
    _run(net, inputs)
    net.export(str(tmp_path / name))
    npx.reset_np()  # as a user's shell would be: the tool reads the mode from the files
    specs = [f"{n}:{'x'.join(map(str, x.shape))}:{np.dtype(x.dtype).name}" for n, x in zip(_names(inputs), inputs)]
    status = load_tool("export").main(["--checkpoint", str(tmp_path / name), "--out", str(tmp_path / "out"),
                                       *[a for spec in specs for a in ("--input", spec)]])
    npx.set_np()
    assert status == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "out" / name / "report.json").read_text())
    assert report["passed"] and set(report["backends"]) >= {"reloaded symbol", "ONNX Runtime"}
