"""The public converter API: a user's converter for a user's op (an ``mx.operator`` custom op
keyed ``Custom:<op_type>``), overriding ours only when asked, undone by unregister_converter;
and docs/converters.md's example runs as written."""
import os
import re
import subprocess
import sys
from pathlib import Path

import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import onnx
import pytest

import export
from export.onnx import (Emitter, OpNode, UnsupportedOperatorError, get_operator_support,
                         register_converter, unregister_converter)
from op_harness import check_symbol

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.RandomState(5)


class _ClipShift(mx.operator.CustomOp):
    """y = clip(x, -limit, limit) + shift * x"""

    def __init__(self, limit, shift):
        super().__init__()
        self.limit, self.shift = limit, shift

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0]
        self.assign(out_data[0], req[0], mx.nd.clip(x, -self.limit, self.limit) + self.shift * x)


@mx.operator.register("test_clip_shift")
class _ClipShiftProp(mx.operator.CustomOpProp):
    def __init__(self, limit="1.0", shift="0.0"):
        super().__init__(need_top_grad=True)
        self.limit, self.shift = float(limit), float(shift)

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]], []

    def create_operator(self, ctx, shapes, dtypes):
        return _ClipShift(self.limit, self.shift)


def clip_shift(node: OpNode):
    e = Emitter(node)
    x, limit = node.inputs[0], float(node.attrs["limit"])
    clipped = e("Clip", [x, e.const(-limit), e.const(limit)])
    e("Add", [clipped, e("Mul", [x, e.const(float(node.attrs["shift"]))])], out=node.outputs[0])
    return e.nodes


def _custom_sym():
    x = mx.sym.var("data")
    return mx.sym.Custom(x * 2.0, op_type="test_clip_shift", limit=1.5, shift=0.25, name="clipshift") + 1.0


@pytest.fixture
def registered():
    """Undo every registration a test makes (and check that it is undone)."""
    before = get_operator_support()
    yield
    for op in set(get_operator_support()) - set(before):
        unregister_converter(op)
    for op in ("sigmoid", "Custom", "Custom:test_clip_shift"):
        unregister_converter(op)
    assert get_operator_support() == before


@pytest.mark.parametrize("opset", [13, export.onnx.MAX_OPSET])
def test_a_users_converter_for_a_custom_op_matches_mxnet(opset, registered, tmp_path):
    register_converter("Custom:test_clip_shift", opset=13)(clip_shift)
    assert get_operator_support()["Custom:test_clip_shift"] == [13]
    check_symbol(_custom_sym(), {"data": RNG.randn(4, 3, 5).astype(np.float32)}, opset=opset, tmp_path=tmp_path)


def test_without_a_converter_the_error_names_the_custom_key_and_register_converter(tmp_path):
    with pytest.raises(UnsupportedOperatorError,
                       match=r"'Custom:test_clip_shift' \(node 'clipshift'\).*register_converter\("):
        export.export_onnx((_custom_sym(), {}), tmp_path / "m.onnx", input_shape=(2, 3))
    assert list(tmp_path.iterdir()) == []


def test_plain_custom_takes_every_custom_op_and_the_own_key_wins(registered, tmp_path):
    def wrong(node):  # a catch-all that would give other values
        e = Emitter(node)
        e("Identity", node.inputs[:1], out=node.outputs[0])
        return e.nodes
    register_converter("Custom")(wrong)
    register_converter("Custom:test_clip_shift")(clip_shift)
    check_symbol(_custom_sym(), {"data": RNG.randn(3, 4).astype(np.float32)}, tmp_path=tmp_path)
    unregister_converter("Custom:test_clip_shift")
    export.export_onnx((_custom_sym(), {}), tmp_path / "m.onnx", input_shape=(2, 3))
    assert "Identity" in _ops(tmp_path / "m.onnx") and "Clip" not in _ops(tmp_path / "m.onnx")


def _negated_sigmoid(node):
    e = Emitter(node)
    e("Neg", [e("Sigmoid", node.inputs[:1])], out=node.outputs[0])
    return e.nodes


def _ops(path):
    return [n.op_type for n in onnx.load(str(path)).graph.node]


def test_overriding_a_built_in_converter_needs_override_and_unregister_restores_ours(registered, tmp_path):
    sym = mx.sym.sigmoid(mx.sym.var("data"), name="sig")
    with pytest.raises(ValueError, match=r"'sigmoid' already has a built-in converter; pass override=True"):
        register_converter("sigmoid")(_negated_sigmoid)
    register_converter("sigmoid", opset=15, override=True)(_negated_sigmoid)
    for opset, ops in ((15, ["Sigmoid", "Neg"]), (14, ["Sigmoid"])):  # ours below the user's opset
        export.export_onnx((sym, {}), tmp_path / "m.onnx", input_shape=(2, 3), opset=opset)
        assert _ops(tmp_path / "m.onnx") == ops
    assert unregister_converter("sigmoid") == 1
    export.export_onnx((sym, {}), tmp_path / "m.onnx", input_shape=(2, 3), opset=15)
    assert _ops(tmp_path / "m.onnx") == ["Sigmoid"]


def test_registering_an_op_twice_at_one_opset_needs_override(registered):
    register_converter("Custom:test_clip_shift")(clip_shift)
    with pytest.raises(ValueError, match=r"registered at opset 13; pass override=True"):
        register_converter("Custom:test_clip_shift")(_negated_sigmoid)
    register_converter("Custom:test_clip_shift", opset=18)(_negated_sigmoid)  # a later version
    assert get_operator_support()["Custom:test_clip_shift"] == [13, 18]
    assert unregister_converter("Custom:test_clip_shift", opset=18) == 1
    assert get_operator_support()["Custom:test_clip_shift"] == [13]


@pytest.mark.parametrize("returns,words", [
    (lambda node: None, r"returned NoneType; return a list of onnx.NodeProto"),
    (lambda node: [onnx.helper.make_node("Relu", node.inputs[:1], ["elsewhere"])], r"does not write \['clipshift_output'\]"),
], ids=["nothing", "wrong_output"])
def test_a_converter_that_returns_no_nodes_for_the_outputs_is_one_clear_error(returns, words, registered, tmp_path):
    register_converter("Custom:test_clip_shift")(returns)
    with pytest.raises(export.errors.ExportError, match=r"'Custom:test_clip_shift' " + words):
        export.export_onnx((_custom_sym(), {}), tmp_path / "m.onnx", input_shape=(2, 3))
    assert list(tmp_path.iterdir()) == []


def test_bad_registrations_are_one_clear_error():
    with pytest.raises(TypeError, match=r"op name"):
        register_converter(None)
    with pytest.raises(ValueError, match=r"opset 11 is not supported"):
        register_converter("MyOp", opset=11)


def test_the_converter_api_is_public():
    for name in ("register_converter", "unregister_converter", "OpNode", "Emitter", "unsupported"):
        assert name in export.onnx.__all__ and getattr(export.onnx, name).__doc__


def test_the_docs_example_runs_as_written(tmp_path):
    text = (ROOT / "docs" / "converters.md").read_text(encoding="utf-8")
    code = re.search(r"## Example.*?```python\n(.*?)```", text, re.S).group(1)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "softsign.onnx").is_file()
