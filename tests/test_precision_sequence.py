"""Dynamic INT8 for sequence models: short-trained transformer_classifier and lstm_lm exported with
--quantize int8 (no calibration), accuracy and perplexity against FP32, BERT and GluonNLP by
agreement, the static method's message for text models, infer and Triton on the INT8 variant."""
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import export
from export.deploy.feeds import input_roles
from export.precision.dynamic import choose_method, quantize_dynamic_int8
from export.precision.plan import PrecisionPlan
from hybridzoo import sequence_train, text

from _tools import error_lines, load_tool, run_tool

CLASSIFIER_EPOCHS = 6  # ~0.97 digits test accuracy, ~4 s
LM_EPOCHS, LM_CHARS = 2, 30000  # held-out perplexity ~16.5 (untrained: 28), ~5 s


@pytest.fixture(scope="module")
def export_cli():
    return load_tool("export")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, export_cli):
    run = tmp_path_factory.mktemp("run")
    manifest = sequence_train.train_classifier(out=str(run), epochs=CLASSIFIER_EPOCHS, log=lambda line: None)
    out = tmp_path_factory.mktemp("artifacts")
    assert export_cli.main(["--model", "transformer_classifier", "--params", str(run), "--out", str(out),
                            "--format", "onnx", "--quantize", "int8"]) == 0
    return out / "transformer_classifier", manifest


@pytest.fixture(scope="module")
def language_model(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    manifest = sequence_train.train_language_model("lstm_lm", out=str(run), epochs=LM_EPOCHS, max_chars=LM_CHARS,
                                                   log=lambda line: None)
    out = tmp_path_factory.mktemp("artifacts")
    result = run_tool("export", "--model", "lstm_lm", "--params", run, "--out", out, "--format", "onnx",
                      "--quantize", "int8", "--triton", cwd=out)
    assert result.returncode == 0, result.stderr
    return out, manifest, result


def ops(path):
    return [node.op_type for node in onnx.load(str(path)).graph.node]


def run_onnx(path, feeds):
    session = path if isinstance(path, ort.InferenceSession) else \
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip([i.name for i in session.get_inputs()], feeds)))


def test_transformer_int8_is_dynamic_with_int8_matmul_weights(classifier):
    folder, _ = classifier
    found = ops(folder / "model.int8.onnx")
    assert found.count("DynamicQuantizeLinear") >= 7 and found.count("MatMulInteger") == 14
    assert found.count("LayerNormalization") == 4 and found.count("Softmax") == 2  # left in FP32
    model = onnx.load(str(folder / "model.int8.onnx"))
    int8 = [t for t in model.graph.initializer if t.data_type == TensorProto.INT8 and len(t.dims) == 2]
    assert len(int8) == 14
    scales = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer if t.name.endswith("_scale")}
    assert any(s.size > 1 for s in scales.values())  # per output channel
    entry = json.loads((folder / "manifest.json").read_text())["variants"]["int8"]
    assert entry["method"] == "dynamic" and "calibration" not in entry
    assert entry["quantized"] == {"MatMul": 14}
    assert entry["fp32"]["LayerNormalization"] == 4 and entry["fp32"]["Softmax"] == 2


def test_transformer_accuracy_is_judged_on_the_digits_test_split(classifier):
    folder, manifest = classifier
    check = json.loads((folder / "report.json").read_text())["precision"]["int8"]
    (rows, lengths), labels = sequence_train.held_out("digits")
    fp32 = run_onnx(folder / "model.onnx", [rows, lengths])[0]
    # one sample per run: dynamic quantization takes each activation's range over the batch
    session = ort.InferenceSession(str(folder / "model.int8.onnx"), providers=["CPUExecutionProvider"])
    int8 = np.concatenate([run_onnx(session, [rows[i:i + 1], lengths[i:i + 1]])[0] for i in range(len(rows))])
    assert np.mean(int8.argmax(1) != run_onnx(folder / "model.int8.onnx", [rows, lengths])[0].argmax(1)) < 0.05
    assert check["inputs"] == "digits test split" and check["samples"] == len(labels) == 360
    assert check["fp32_accuracy"] == pytest.approx(manifest["test_accuracy"], abs=1e-9) and check["fp32_accuracy"] > 0.9
    assert check["int8_accuracy"] == pytest.approx(np.mean(int8.argmax(1) == labels))
    assert check["top1_agreement"] == pytest.approx(np.mean(fp32.argmax(1) == int8.argmax(1)))
    assert 0 < check["max_abs_error"] and check["accuracy_drop_points"] <= 0.5 and check["warning"] is None


def lm_perplexity(path, ids, streams=32, steps=35):
    """Perplexity as sequence_train.perplexity reads the held-out text, in ONNX Runtime."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    state = [np.zeros((1, streams, 256), np.float32)] * 2
    total, count = 0.0, 0
    for x, y in text.sequential_batches(ids, streams, steps):
        scores, *state = run_onnx(session, [x, *state])
        log_probs = scores - scores.max(-1, keepdims=True)
        log_probs -= np.log(np.exp(log_probs).sum(-1, keepdims=True))
        total -= np.take_along_axis(log_probs, y[..., None].astype(np.int64), -1).sum()
        count += y.size
    return float(np.exp(total / count))


def test_lm_perplexity_on_held_out_text_within_two_percent(language_model):
    out, manifest, result = language_model
    folder = out / "lstm_lm"
    assert {"DynamicQuantizeLSTM", "MatMulInteger"} <= set(ops(folder / "model.int8.onnx"))
    check = json.loads((folder / "report.json").read_text())["precision"]["int8"]
    ids, _ = sequence_train.held_out("python_docs")
    # FP32 in ONNX Runtime is what training measured in MXNet for these parameters
    assert check["fp32_perplexity"] == pytest.approx(manifest["test_perplexity"], rel=1e-4)
    assert check["fp32_perplexity"] < 20  # trained: the untrained model's is 28
    assert check["int8_perplexity"] == pytest.approx(lm_perplexity(folder / "model.int8.onnx", ids), rel=1e-5)
    assert check["int8_perplexity"] != check["fp32_perplexity"]
    assert abs(check["perplexity_change_percent"]) <= 2.0 and check["warning"] is None
    assert "perplexity fp32" in result.stdout and "warning" not in result.stderr


def test_bert_small_is_judged_by_agreement_with_a_warning(tmp_path, export_cli, capsys):
    status = export_cli.main(["--model", "bert_small", "--untrained", "--out", str(tmp_path), "--format", "onnx",
                              "--quantize", "int8"])
    assert status == 0
    assert "accuracy cannot be judged" in capsys.readouterr().err
    check = json.loads((tmp_path / "bert_small" / "report.json").read_text())["precision"]["int8"]
    sequence, pooled, scores = check["outputs"].values()
    assert 0 < pooled["relative_error"] < 0.1 and scores["top1_agreement"] >= 0.9
    assert check["top1_agreement"] == min(o["top1_agreement"] for o in check["outputs"].values()) < 1
    assert "fp32_accuracy" not in check and check["samples"] == 64


def test_static_for_a_text_model_names_what_it_needs(tmp_path, export_cli, capsys):
    status = export_cli.main(["--model", "lstm_lm", "--untrained", "--out", str(tmp_path / "out"), "--format", "onnx",
                              "--no-verify", "--quantize", "int8", "--quantize-method", "static"])
    assert status == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "images" not in line and "data0: ids" in line and "--quantize-method dynamic" in line
    assert "needs no calibration data" in line and not (tmp_path / "out").exists()


def test_calib_for_a_text_model_says_there_is_nothing_to_calibrate(tmp_path, export_cli, capsys):
    status = export_cli.main(["--model", "gru_lm", "--untrained", "--out", str(tmp_path / "out"), "--format", "onnx",
                              "--quantize", "int8", "--calib", str(tmp_path)])
    assert status == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "quantized dynamically" in line and "drop --calib" in line and "images" not in line
    assert not (tmp_path / "out").exists()


def test_gluonnlp_bert_is_quantized_dynamically_from_its_graph(tmp_path):
    from hybridzoo.testing import gluonnlp_models
    case = gluonnlp_models.build("bert")
    feeds = case.export_symbol(str(tmp_path / "bert"), batch=2, seq=8)
    export.export_onnx(str(tmp_path / "bert"), str(tmp_path / "model.onnx"),
                       input_shape={n: f.shape for n, f in feeds.items()}, dynamic_axes=case.dynamic_axes)
    roles = input_roles(str(tmp_path / "model.onnx"))
    assert [(r.role, r.vocab) for r in roles] == [("ids", gluonnlp_models.VOCAB), ("ids", 2), ("length", None)]
    dense = ops(tmp_path / "model.onnx").count("Gemm")
    entries, checks = PrecisionPlan(int8=True, trained=False).write(str(tmp_path))
    assert entries["int8"]["method"] == "dynamic" and entries["int8"]["quantized"] == {"MatMul": dense} and dense >= 9
    check = checks["int8"]
    assert "cannot be judged" in check["warning"] and 0 < check["relative_error"] < 0.1
    assert len(check["outputs"]) == len(case.reference(case.make(1, 4, np.random.RandomState(0))[0]))


def dense_graph(rng):
    weight, bias = rng.standard_normal((6, 4)).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="dense", transB=1)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 6])],
                              [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_a_dense_layer_is_quantized_unless_kept_in_fp32(tmp_path):
    rng = np.random.default_rng(0)
    model = dense_graph(rng)
    onnx.save(model, str(tmp_path / "gemm.onnx"))
    assert choose_method(model)[0] == "dynamic"  # no convolution
    info = quantize_dynamic_int8(str(tmp_path / "gemm.onnx"), str(tmp_path / "q.onnx"))
    assert info["quantized"] == {"MatMul": 1} and info["fp32"] == {} and "MatMulInteger" in ops(tmp_path / "q.onnx")
    x = rng.standard_normal((5, 4)).astype(np.float32)
    fp32, int8 = run_onnx(tmp_path / "gemm.onnx", [x])[0], run_onnx(tmp_path / "q.onnx", [x])[0]
    assert 0 < np.abs(int8 - fp32).max() < 0.05 * np.abs(fp32).max()  # int8, and close
    with pytest.raises(export.precision.PrecisionError, match="no MatMul, Gemm or LSTM"):
        quantize_dynamic_int8(str(tmp_path / "gemm.onnx"), str(tmp_path / "r.onnx"), keep_fp32=("last",))
    assert not (tmp_path / "r.onnx").exists()


def test_infer_runs_the_int8_lm_on_text_and_benchmarks_both(language_model, tmp_path):
    folder = language_model[0] / "lstm_lm"
    (tmp_path / "prompt.txt").write_text("Functions are defined with the def statement; the pytho")
    predictions = {}
    for precision in ("fp32", "int8"):
        result = run_tool("infer", folder, tmp_path / "prompt.txt", "--precision", precision, "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["precision"] == precision
        predictions[precision] = report["predictions"][0]["top"]
    vocab = text.VOCAB
    assert predictions["int8"][0]["label"] == predictions["fp32"][0]["label"] in vocab
    assert predictions["int8"][0]["prob"] != predictions["fp32"][0]["prob"]
    result = run_tool("infer", folder, "--bench", "1,2", "--seq-len", "16", "--repeats", "2", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [(r["batch"], r["precision"]) for r in json.loads(result.stdout)["bench"]] == \
        [(b, p) for b in (1, 2) for p in ("fp32", "int8")]


def test_triton_lays_out_the_int8_lm(language_model):
    out = language_model[0]
    assert (out / "triton" / "lstm_lm" / "1" / "model.onnx").read_bytes() == \
        (out / "lstm_lm" / "model.int8.onnx").read_bytes()
    config = (out / "triton" / "lstm_lm" / "config.pbtxt").read_text()
    assert "max_batch_size: 0" in config or "max_batch_size" not in config
    assert "TYPE_INT32" in config and "dims: -1" in config


def test_text_is_tokenized_through_the_manifest_vocabulary():
    from export.deploy.sequence import tokenize
    chars = list(text.VOCAB)  # <unk>, space, a-z: D2L's preprocessing, as training reads the text
    assert list(tokenize("Hi, there!", chars)) == list(text.encode(" ".join(["hi", "there"])))
    words = ["<unk>", "the", "Cat"]  # a word vocabulary with capitals: case kept, unknown words -> <unk>
    assert list(tokenize("the Cat sat", words)) == [1, 2, 0]


def test_a_graph_with_convolutions_is_quantized_statically():
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[1, 1])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 4, 4])],
                              [numpy_helper.from_array(np.ones((3, 2, 1, 1), np.float32), "w")])
    assert choose_method(helper.make_model(graph))[0] == "static"
