"""D2L's later chapters: what the generic zoo tests cannot see. Input specs in the config, the
valid-length mask, begin states carried across calls (in MXNet and through one exported file
with a dynamic sequence length), token ids as int or float, the export defaults the config
drives, and the training loops on bundled data (one quick epoch each)."""
import json

import hybridzoo
import mxnet as mx
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hybridzoo import sequence_train, text
from hybridzoo.runs import RunExistsError
from hybridzoo.specs import TensorSpec
from hybridzoo.testing import init_model, layer_norms, sample_inputs

from export import export_onnx, verify
from export.artifacts.package import export_artifact


def _nd(arrays):
    return [mx.nd.array(a, dtype=a.dtype) for a in arrays]


def _outputs(net, arrays):
    out = net(*_nd(arrays))
    return [o.asnumpy() for o in (out if isinstance(out, (list, tuple)) else [out])]


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_config_describes_inputs_outputs_and_dynamic_axes():
    config = hybridzoo.get_config("lstm_lm")
    assert [s.name for s in config.input_specs] == ["tokens", "state_h", "state_c"]
    assert config.input_shapes(4, seq=7) == [(4, 7), (1, 4, 256), (1, 4, 256)]
    assert config.output_shapes(4, seq=7) == [(4, 7, 28), (1, 4, 256), (1, 4, 256)]
    assert config.input_dtypes() == ["int32", "float32", "float32"]
    assert config.dynamic_axes() == {"data0": {0: "batch", 1: "seq"}, "data1": {1: "batch"},
                                     "data2": {1: "batch"}}
    assert config.input_shape == (35,) and config.labels[:3] == ("<unk>", " ", "a")
    # entry-point arguments named like a dim resize it in the instance's config
    net = hybridzoo.get_model("lstm_lm", num_hiddens=16, num_layers=2)
    assert net.zoo_config.input_shapes(1)[1] == (2, 1, 16)
    # image configs keep their single float input and (classes,) output
    lenet = hybridzoo.get_config("lenet")
    assert lenet.input_shapes(2) == [(2, 1, 28, 28)] and lenet.output_shapes(2) == [(2, 10)]
    assert lenet.dynamic_axes() == {"data": {0: "batch"}} and lenet.input_dtypes() == ["float32"]


def test_sampled_inputs_have_meaningful_values():
    tokens, segments, lengths = hybridzoo.get_config("bert_small").sample_inputs(64, seed=3, seq=9)
    assert tokens.dtype == np.int32 and tokens.shape == (64, 9)
    assert tokens.min() >= 0 and tokens.max() < 20256 and len(np.unique(tokens)) > 100
    assert set(np.unique(segments)) == {0, 1}
    assert lengths.min() >= 1 and lengths.max() == 9 and lengths.shape == (64,)
    with pytest.raises(ValueError, match="values="):
        TensorSpec("x", (3,), values="gaussian")


def test_init_model_randomizes_layer_norms():
    net = init_model(hybridzoo.get_model("transformer_classifier"), seed=2)
    norms = layer_norms(net)
    assert len(norms) == 4  # two per encoder block
    for layer in norms:
        gamma, beta = layer.gamma.data().asnumpy(), layer.beta.data().asnumpy()
        assert 0.5 <= gamma.min() and gamma.max() <= 1.5 and np.ptp(gamma) > 0.1 and np.abs(beta).max() > 0


@pytest.mark.parametrize("name", ["transformer_classifier", "bert_small"])
def test_positions_beyond_the_valid_length_are_ignored(name):
    net = init_model(hybridzoo.get_model(name))
    arrays = sample_inputs(net, 4, seed=5, seq=7)
    lengths = arrays[-1]
    lengths[:] = [2, 7, 4, 1]
    padded = [a.copy() for a in arrays]
    inside = [a.copy() for a in arrays]
    for i, length in enumerate(lengths):
        padded[0][i, length:] = padded[0][i, length:][::-1] + (1 if padded[0].dtype.kind == "i" else 0.5)
        inside[0][i, 0] = (inside[0][i, 0] + 1) if inside[0].dtype.kind == "i" else inside[0][i, 0] + 0.5
    reference = _outputs(net, arrays)
    summary = -1  # the classifier's scores, BERT's next-sentence scores
    np.testing.assert_allclose(_outputs(net, padded)[summary], reference[summary], rtol=1e-5, atol=1e-6)
    assert np.abs(_outputs(net, inside)[summary] - reference[summary]).max() > 1e-3


@pytest.mark.parametrize("name", ["rnn_lm", "gru_lm", "lstm_lm"])
def test_begin_state_carries_across_calls_in_mxnet_and_onnx(name, tmp_path):
    """Scoring 6 tokens at once = scoring them 1 + 2 + 3 at a time, feeding each call's final
    state to the next (D2L's sequential minibatches): in MXNet, and in ONNX Runtime through
    the one file exported at another length (dynamic batch and sequence length)."""
    net = init_model(hybridzoo.get_model(name, num_hiddens=32))
    path = export_onnx(net, tmp_path / "lm.onnx")  # defaults from the config: seq 35, dynamic axes
    model = onnx.load(str(path))
    assert [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input][:2] == \
        [["batch", "seq"], [1, "batch", 32]]
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT32
    props = {p.key: json.loads(p.value) if p.value[:1] in "[{" else p.value for p in model.metadata_props}
    assert props["inputs"]["data0"] == {"role": "tokens", "dtype": "int32", "values": "index", "range": [0, 28]}
    assert props["inputs"]["data1"]["role"] in ("state", "state_h") and props["task"] == "language_model"
    session = _session(path)
    names = [i.name for i in session.get_inputs()]
    tokens, *state = sample_inputs(net, 3, seed=2, seq=6)
    whole = _outputs(net, [tokens, *state])
    assert np.ptp(whole[0], axis=0).max() > 1e-2
    for backend in ("mxnet", "onnx"):
        pieces, carried = [], state
        for start, end in ((0, 1), (1, 3), (3, 6)):
            chunk = [tokens[:, start:end], *carried]
            out = _outputs(net, chunk) if backend == "mxnet" else session.run(None, dict(zip(names, chunk)))
            pieces.append(out[0])
            carried = out[1:]
        got = [np.concatenate(pieces, axis=1), *carried]
        assert verify.max_error(whole, got) <= verify.tolerance(whole), backend


def test_token_ids_may_be_float(tmp_path):
    """GluonNLP feeds ids and lengths as float32: same outputs, and an export with float inputs."""
    net = init_model(hybridzoo.get_model("bert_small", vocab_size=50))
    arrays = sample_inputs(net, 2, seed=4, seq=5)
    floats = [a.astype(np.float32) for a in arrays]
    want = _outputs(net, arrays)
    assert verify.max_error(want, _outputs(net, floats)) == 0
    path = export_onnx(net, tmp_path / "bert.onnx", input_shape=[a.shape for a in floats],
                       input_dtype=np.float32)
    got = _session(path).run(None, {f"data{i}": a for i, a in enumerate(floats)})
    assert verify.max_error(want, got) <= verify.tolerance(want)


def test_language_model_text_and_batches():
    sample = text.load_text()[:2000]
    assert set(sample) <= set(" abcdefghijklmnopqrstuvwxyz") and "  " not in sample
    assert text.decode(text.encode("hello world")) == "hello world"
    ids = np.arange(1000, dtype=np.int32)
    batches = list(text.sequential_batches(ids, 4, 5, offset=3))
    (x0, y0), (x1, _) = batches[:2]
    np.testing.assert_array_equal(y0, x0 + 1)
    np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)  # each minibatch continues the last


def test_training_loops_write_loadable_checkpoints(tmp_path):
    logs = []
    manifest = sequence_train.train_classifier(out=str(tmp_path / "tf"), epochs=2, log=logs.append)
    assert manifest["test_accuracy"] > 0.5 and len(logs) == 2
    net = hybridzoo.get_model("transformer_classifier", pretrained=str(tmp_path / "tf"))
    assert net.zoo_config.accuracy == {"digits": manifest["test_accuracy"]}
    with pytest.raises(RunExistsError, match="already holds a run"):  # never silently replaced
        sequence_train.train_classifier(out=str(tmp_path / "tf"), epochs=1)
    manifest = sequence_train.train_language_model("rnn_lm", out=str(tmp_path / "lm"), epochs=1,
                                                   max_chars=20000, num_hiddens=32, log=logs.append)
    assert manifest["test_perplexity"] < 28  # better than guessing among 28 characters
    net = hybridzoo.get_model("rnn_lm", num_hiddens=32, pretrained=str(tmp_path / "lm"))
    assert sequence_train.generate(net, "the ", 5).startswith("the ")


def test_artifact_of_a_multi_input_model(tmp_path):
    """tools/export.py's library path: the config's inputs (int32 token ids, states) are
    exported, reloaded and checked on sampled inputs; the manifest lists them."""
    net = init_model(hybridzoo.get_model("gru_lm", num_hiddens=8))
    artifact = export_artifact(net, str(tmp_path))
    assert artifact.report["passed"] and set(artifact.report["backends"]) == \
        {"imperative", "hybridized", "reloaded symbol", "ONNX Runtime"}
    inputs = artifact.manifest["inputs"]
    assert [(i["name"], i["dtype"], i["shape"]) for i in inputs] == \
        [("data0", "int32", [None, None]), ("data1", "float32", [1, None, 8])]


def test_image_trainer_points_sequence_models_to_their_loop():
    from hybridzoo import train
    with pytest.raises(ValueError, match="tools/train_sequence.py"):
        train.build_net("gru_lm")
    with pytest.raises(ValueError, match="no bundled data"):
        train.build_net("fcn_resnet18")
