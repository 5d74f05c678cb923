"""Checkpoints written by the legacy Module API: training heads with label inputs, ``arg:``/
``aux:`` params, ``mx.model.load_checkpoint`` results, gradient-only identity ops."""
import warnings

import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from export import export_onnx
from export.onnx import export_model

RNG = np.random.RandomState(3)
HEADS = ["SoftmaxOutput", "LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput",
         "SVMOutput"]


def _module_symbol(head):
    """data -> conv -> BatchNorm (aux states) -> BlockGrad/stop_gradient/MakeLoss-free body ->
    fc -> ``head`` with its label variable, as Module-era scripts wrote them."""
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, num_filter=4, kernel=(3, 3), name="conv")
    bn = mx.sym.BatchNorm(conv, fix_gamma=False, name="bn")
    body = mx.sym.BlockGrad(mx.sym.relu(bn)) + mx.sym.stop_gradient(bn)
    fc = mx.sym.FullyConnected(mx.sym.flatten(body), num_hidden=3, name="fc")
    label = "softmax_label" if head == "SoftmaxOutput" else f"{head.lower()}_label"
    return getattr(mx.sym, head)(fc, mx.sym.var(label), name=head.lower()), label


def _checkpoint(head, tmp_path):
    sym, label = _module_symbol(head)
    label_shape = (2,) if head in ("SoftmaxOutput", "SVMOutput") else (2, 3)
    mod = mx.mod.Module(sym, data_names=["data"], label_names=[label])
    mod.bind(data_shapes=[("data", (2, 2, 5, 5))], label_shapes=[(label, label_shape)])
    mod.init_params(mx.init.Normal(0.5))
    arg, aux = mod.get_params()
    aux = {"bn_moving_mean": mx.nd.array(RNG.randn(4)), "bn_moving_var": mx.nd.array(RNG.uniform(0.5, 2, 4))}
    mod.set_params(arg, aux)
    prefix = str(tmp_path / "legacy")
    mod.save_checkpoint(prefix, 3)
    return prefix, label, label_shape


def _predict(prefix, x):
    """MXNet's inference output of the checkpoint (the label's value is unused at inference)."""
    sym, arg, aux = mx.model.load_checkpoint(prefix, 3)
    label = [n for n in sym.list_arguments() if n.endswith("label")][0]
    label_shape = sym.infer_shape(data=x.shape)[0][sym.list_arguments().index(label)]
    args = dict(arg, data=mx.nd.array(x), **{label: mx.nd.zeros(label_shape)})
    return sym.bind(mx.cpu(), args=args, aux_states=aux).forward(is_train=False)[0].asnumpy()


def _labels_warned(caught, label):
    found = [str(w.message) for w in caught if "label" in str(w.message)]
    return len(found) == 1 and label in found[0]


@pytest.mark.parametrize("head", HEADS)
def test_checkpoint_with_label_shapes_exports_the_inference_head(head, tmp_path):
    prefix, label, label_shape = _checkpoint(head, tmp_path)
    path = str(tmp_path / "m.onnx")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_model(f"{prefix}-symbol.json", f"{prefix}-0003.params",
                     in_shapes=[(2, 2, 5, 5), label_shape], in_types=[np.float32, np.float32],
                     onnx_file_path=path, dynamic=True)
    assert _labels_warned(caught, label)
    assert [i.name for i in onnx.load(path).graph.input] == ["data"]
    x = RNG.randn(4, 2, 5, 5).astype(np.float32)
    got, = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"data": x})
    want = _predict(prefix, x)
    assert np.ptp(want) > 0
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_load_checkpoint_result_and_prefixed_params(tmp_path):
    prefix, label, _ = _checkpoint("SoftmaxOutput", tmp_path)
    x = RNG.randn(2, 2, 5, 5).astype(np.float32)
    want = _predict(prefix, x)
    checkpoint = mx.model.load_checkpoint(prefix, 3)
    prefixed = mx.nd.load(f"{prefix}-0003.params")  # {"arg:conv_weight": ..., "aux:bn_moving_mean": ...}
    assert any(k.startswith("aux:") for k in prefixed)
    sources = {"tuple_export_model": lambda p: export_model(checkpoint, in_shapes=[x.shape], onnx_file_path=p),
               "arg_aux_list": lambda p: export_model(checkpoint[0], [checkpoint[1], checkpoint[2]],
                                                      [x.shape], onnx_file_path=p),
               "prefixed_dict": lambda p: export_model(checkpoint[0], prefixed, [x.shape], onnx_file_path=p),
               "tuple_export_onnx": lambda p: export_onnx(checkpoint, p, input_shape=x.shape)}
    for name, export in sources.items():
        path = str(tmp_path / f"{name}.onnx")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            export(path)
        assert _labels_warned(caught, label), name
        got, = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"data": x})
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)


def test_wrong_number_of_shapes_names_inputs_and_labels(tmp_path):
    prefix, label, _ = _checkpoint("SoftmaxOutput", tmp_path)
    with pytest.raises(ValueError, match=f"1 run-time input.*{label}"):
        export_model(f"{prefix}-symbol.json", f"{prefix}-0003.params", in_shapes=[(2, 2, 5, 5)] * 3,
                     onnx_file_path=str(tmp_path / "m.onnx"))
    assert not (tmp_path / "m.onnx").exists()
