"""Your own MXNet checkpoint through tools/export.py to a verified folder tools/infer.py runs: a
Module-API checkpoint with a SoftmaxOutput head, a HybridBlock.export pair with float32 and int32
inputs, a fine-tuned GluonCV SSD and GluonNLP BERT classifier; a checkpoint that disagrees leaves
no folder; bad --input specs and a missing shape are one line."""
import json
from collections import Counter

import hybridzoo  # noqa: F401  (must precede mxnet)
import mxnet as mx
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from mxnet.gluon import HybridBlock, nn
from PIL import Image

from export import export_symbol
from export.onnx import Emitter, register_converter, unregister_converter

from _tools import error_lines, load_tool

SYMBOL_BACKENDS = ["MXNet", "reloaded symbol", "ONNX Runtime"]
GLUON_BACKENDS = ["imperative", "hybridized", "reloaded symbol", "ONNX Runtime"]
BERT_SMALL = "num_layers=2,units=32,hidden_size=64,num_heads=4,max_length=64,embed_size=32"


EXPORT, INFER = load_tool("export"), load_tool("infer")  # in-process: main(argv) -> exit status


def module_symbol():
    data = mx.sym.var("data")
    bn = mx.sym.BatchNorm(mx.sym.Convolution(data, num_filter=4, kernel=(3, 3), name="conv"), fix_gamma=False, name="bn")
    fc = mx.sym.FullyConnected(mx.sym.flatten(mx.sym.relu(bn)), num_hidden=3, name="fc")
    return mx.sym.SoftmaxOutput(fc, mx.sym.var("softmax_label"), name="softmax")


@pytest.fixture(scope="module")
def module_checkpoint(tmp_path_factory):
    """Module.save_checkpoint at epochs 1 and 3 (other weights): PREFIX exports the newest."""
    prefix = str(tmp_path_factory.mktemp("module") / "classifier")
    rng = np.random.RandomState(3)
    mod = mx.mod.Module(module_symbol(), data_names=["data"], label_names=["softmax_label"])
    mod.bind(data_shapes=[("data", (2, 3, 8, 8))], label_shapes=[("softmax_label", (2,))])
    for epoch in (1, 3):
        mod.init_params(mx.init.Normal(0.5), force_init=True)
        arg, _ = mod.get_params()
        aux = {"bn_moving_mean": mx.nd.array(rng.randn(4)), "bn_moving_var": mx.nd.array(rng.uniform(0.5, 2, 4))}
        mod.set_params(arg, aux)
        mod.save_checkpoint(prefix, epoch)
    return prefix


def module_predict(prefix, x):
    """MXNet's own inference of the epoch-3 checkpoint (the label is unused)."""
    sym, arg, aux = mx.model.load_checkpoint(prefix, 3)
    args = dict(arg, data=mx.nd.array(x), softmax_label=mx.nd.zeros(len(x)))
    return sym.bind(mx.cpu(), args=args, aux_states=aux).forward(is_train=False)[0].asnumpy()


def report_of(folder):
    report = json.loads((folder / "report.json").read_text())
    assert report["passed"], report
    return report


def image(path, size=(40, 30), seed=0):
    Image.fromarray(np.random.RandomState(seed).randint(0, 255, size[::-1] + (3,), dtype=np.uint8)).save(path)
    return path


def test_module_checkpoint_with_softmax_output_exports_and_classifies(module_checkpoint, tmp_path, capsys):
    (tmp_path / "labels.txt").write_text("cat\ndog\nbird\n")
    status = EXPORT.main(["--checkpoint", module_checkpoint, "--input", "data:1x3x8x8", "--out", str(tmp_path / "out"),
                              "--labels", str(tmp_path / "labels.txt"), "--mean", "0.5,0.5,0.5", "--std", "0.25,0.25,0.25"])
    out, err = capsys.readouterr()
    assert status == 0, err
    folder = tmp_path / "out" / "classifier"
    assert list(report_of(folder)["backends"]) == SYMBOL_BACKENDS
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "softmax_label" in warnings[0], err
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["weights"]["source"].endswith("classifier-0003.params")  # the newest epoch
    assert manifest["labels"] == ["cat", "dog", "bird"] and manifest["preprocess"]["std"] == [0.25] * 3
    assert [i.name for i in onnx.load(str(folder / "model.onnx")).graph.input] == ["data"]
    x = np.random.RandomState(1).randn(4, 3, 8, 8).astype(np.float32)
    got, = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"]).run(None, {"data": x})
    np.testing.assert_allclose(got, module_predict(module_checkpoint, x), rtol=1e-5, atol=1e-6)

    assert INFER.main([str(folder), str(image(tmp_path / "a.png")), "--top-k", "2"]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith(str(tmp_path / "a.png")) and len(set(line.split()) & {"cat", "dog", "bird"}) == 2


def test_symbol_and_params_files_export_that_epoch(module_checkpoint, tmp_path, capsys):
    status = EXPORT.main(["--symbol", f"{module_checkpoint}-symbol.json", "--params", f"{module_checkpoint}-0001.params",
                          "--input", "data:1x3x8x8", "--name", "epoch1", "--out", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().err
    folder = tmp_path / "out" / "epoch1"
    assert json.loads((folder / "manifest.json").read_text())["weights"]["source"].endswith("classifier-0001.params")
    x = np.random.RandomState(4).randn(2, 3, 8, 8).astype(np.float32)
    got, = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"]).run(None, {"data": x})
    assert np.abs(got - module_predict(module_checkpoint, x)).max() > 1e-3  # not epoch 3's weights


def test_a_channels_last_checkpoint_classifies_images_as_its_channels_first_twin(module_checkpoint, tmp_path, capsys):
    """--layout NHWC: the same weights behind a transpose take (N, H, W, C); infer.py feeds them so."""
    sym, arg, aux = mx.model.load_checkpoint(module_checkpoint, 3)
    channels_last = sym(data=mx.sym.transpose(mx.sym.var("data"), axes=(0, 3, 1, 2)))
    mx.model.save_checkpoint(str(tmp_path / "nhwc"), 0, channels_last, arg, aux)
    common = ["--mean", "0.4,0.5,0.6", "--std", "0.2,0.3,0.25", "--out", str(tmp_path / "out")]
    assert EXPORT.main(["--checkpoint", str(tmp_path / "nhwc"), "--input", "data:1x8x8x3", "--layout", "NHWC", *common]) == 0
    assert EXPORT.main(["--checkpoint", module_checkpoint, "--input", "data:1x3x8x8", *common]) == 0
    assert json.loads((tmp_path / "out" / "nhwc" / "manifest.json").read_text())["preprocess"]["input_size"] == [8, 8]
    picture = str(image(tmp_path / "a.png", (21, 13), seed=5))
    capsys.readouterr()
    found = []
    for name in ("nhwc", "classifier"):
        assert INFER.main([str(tmp_path / "out" / name), picture, "--top-k", "3", "--json"]) == 0
        found.append([(t["class"], round(t["prob"], 5)) for t in json.loads(capsys.readouterr().out)["predictions"][0]["top"]])
    assert found[0] == found[1] and found[0][0][1] > found[0][-1][1]


class FeaturesAndIds(HybridBlock):
    """float32 features and int32 token ids (through an Embedding of 50) -> 3 scores."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embed, self.proj, self.out = nn.Embedding(50, 8), nn.Dense(8, in_units=6), nn.Dense(3, in_units=16)

    def hybrid_forward(self, F, features, ids):
        return self.out(F.concat(F.relu(self.proj(features)), self.embed(ids).mean(axis=1), dim=1))


@pytest.fixture(scope="module")
def two_input_export(tmp_path_factory):
    """HybridBlock.export of FeaturesAndIds: no shape recorded with it."""
    net = FeaturesAndIds()
    mx.random.seed(0)
    net.initialize(mx.init.Normal(0.5))
    net.hybridize()
    net(mx.nd.ones((1, 6)), mx.nd.ones((1, 5), dtype="int32"))
    prefix = str(tmp_path_factory.mktemp("block") / "two")
    net.export(prefix)
    return prefix


def test_hybridblock_export_with_float_and_int_inputs(two_input_export, tmp_path, capsys):
    status = EXPORT.main(["--checkpoint", two_input_export, "--input", "data0:1x6", "--input", "data1:1x5:int32",
                              "--out", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().err
    folder = tmp_path / "out" / "two"
    assert list(report_of(folder)["backends"]) == SYMBOL_BACKENDS
    model = onnx.load(str(folder / "model.onnx"))
    assert [(i.name, i.type.tensor_type.elem_type) for i in model.graph.input] == \
        [("data0", onnx.TensorProto.FLOAT), ("data1", onnx.TensorProto.INT32)]
    roles = json.loads({p.key: p.value for p in model.metadata_props}["inputs"])
    assert roles == {"data1": {"role": "data1", "dtype": "int32", "values": "index", "range": [0, 50]}}  # ids < 50

    rng = np.random.RandomState(2)
    np.savez(tmp_path / "x.npz", data0=rng.randn(2, 6), data1=rng.randint(0, 50, (2, 5)))
    capsys.readouterr()
    assert INFER.main([str(folder), str(tmp_path / "x.npz")]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == \
        [f"{tmp_path / 'x.npz'}[0]", f"{tmp_path / 'x.npz'}[1]"]


def test_a_missing_shape_names_each_input_and_the_flag(two_input_export, tmp_path, capsys):
    assert EXPORT.main(["--checkpoint", two_input_export, "--out", str(tmp_path / "out")]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "'data0', 'data1'" in line and "--input data0:1x6 --input data1:1x128:int32" in line
    assert not (tmp_path / "out").exists()


def test_a_shape_recorded_by_export_symbol_needs_no_input_flag(tmp_path, capsys):
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3, in_channels=3), nn.BatchNorm(in_channels=4), nn.Dense(2, in_units=144))
    net.initialize(mx.init.Normal(0.3))
    export_symbol(net, tmp_path / "mine" / "small", input_shape=(1, 3, 8, 8))
    assert EXPORT.main(["--checkpoint", str(tmp_path / "mine" / "small"), "--out", str(tmp_path / "out")]) == 0
    assert report_of(tmp_path / "out" / "small")["input_shape"] == [3, 3, 8, 8]


def test_shapes_and_dtypes_declared_on_the_symbols_variables_are_read():
    from export.checkpoint import load_checkpoint

    ids = mx.sym.var("ids", shape=(0, 7), dtype="int32")  # 0: the batch, unknown
    lengths = mx.sym.var("valid_length", shape=(1,))
    embedded = mx.sym.Embedding(ids, input_dim=30, output_dim=4, name="embed")
    sym = mx.sym.SequenceMask(mx.sym.swapaxes(embedded, 0, 1), lengths, use_sequence_length=True)
    params = {"embed_weight": np.ones((30, 4), np.float32)}
    specs = load_checkpoint((sym, params), name="masked").zoo_config.inputs
    assert [(s.name, s.shape, s.dtype, s.values, s.low, s.high) for s in specs] == \
        [("ids", (1, 7), "int32", "index", 0, 30), ("valid_length", (1,), "float32", "length", 1, 7)]


@pytest.mark.parametrize("spec, why", [("data", "NAME:SHAPE"), ("data:1x0x8x8", "positive sizes"),
                                       ("data:1xthree", "positive sizes"), ("data:1x3x8x8:float7", "unknown dtype")])
def test_bad_input_specs_are_usage_errors(spec, why, module_checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        EXPORT.main(["--checkpoint", module_checkpoint, "--input", spec, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert f"--input {spec!r}" in err.splitlines()[-1] and why in err.splitlines()[-1]


def test_an_input_the_symbol_lacks_is_one_line(module_checkpoint, tmp_path, capsys):
    status = EXPORT.main(["--checkpoint", module_checkpoint, "--input", "image:1x3x8x8", "--out", str(tmp_path)])
    (line,) = error_lines(capsys.readouterr().err)
    assert status == 1 and "image" in line and "its inputs are data" in line


@pytest.fixture
def wrong_relu():
    """A converter bug: relu converted to Sigmoid."""
    @register_converter("relu", override=True)
    def sigmoid(node):
        e = Emitter(node)
        e("Sigmoid", node.inputs[:1], out=node.outputs[0])
        return e.nodes
    yield
    unregister_converter("relu")


def test_a_checkpoint_that_disagrees_leaves_no_folder(module_checkpoint, wrong_relu, tmp_path, capsys):
    status = EXPORT.main(["--checkpoint", module_checkpoint, "--input", "data:1x3x8x8", "--out", str(tmp_path / "out")])
    (line,) = error_lines(capsys.readouterr().err)
    assert status == 1 and "disagree with MXNet" in line and "ONNX Runtime" in line
    assert not (tmp_path / "out").exists()  # nothing written, not even the --out folder it made


def test_a_checkpoint_with_nan_weights_is_refused_as_diverged_not_an_exporter_bug(module_checkpoint, tmp_path, capsys):
    sym, arg, aux = mx.model.load_checkpoint(module_checkpoint, 3)
    arg["fc_weight"][0, 0] = float("nan")
    prefix = str(tmp_path / "diverged")
    mx.model.save_checkpoint(prefix, 0, sym, arg, aux)
    status = EXPORT.main(["--checkpoint", prefix, "--input", "data:1x3x8x8", "--out", str(tmp_path / "out")])
    (line,) = error_lines(capsys.readouterr().err)
    assert status == 1 and "the weights hold NaN: fc_weight" in line and "bug" not in line
    assert not (tmp_path / "out").exists()


def test_finetuned_gluoncv_ssd_exports_with_its_labels_and_detects(tmp_path, capsys):
    from gluoncv.data import VOCDetection
    from hybridzoo.testing.gluoncv_detectors import build_detector

    build_detector("ssd_512_mobilenet1.0_voc", seed=0, size=128).save_parameters(str(tmp_path / "ssd.params"))
    status = EXPORT.main(["--gluoncv", "ssd_512_mobilenet1.0_voc", "--params", str(tmp_path / "ssd.params"),
                              "--input", "data:1x3x128x128", "--name", "ssd", "--out", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().err
    folder = tmp_path / "out" / "ssd"
    assert list(report_of(folder)["backends"]) == GLUON_BACKENDS
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["labels"] == list(VOCDetection.CLASSES) and manifest["preprocess"]["mean"] == [0.485, 0.456, 0.406]
    capsys.readouterr()
    assert INFER.main([str(folder), str(image(tmp_path / "street.jpg", (160, 120))), "--threshold", "0"]) == 0
    out = capsys.readouterr().out
    assert "street.jpg: 5 box(es)" in out and any(label in out for label in VOCDetection.CLASSES)


def test_finetuned_gluonnlp_bert_classifier_exports_and_classifies(tmp_path, capsys):
    import gluonnlp as nlp

    vocab = nlp.Vocab(Counter({f"w{i}": 1 for i in range(96)}))  # 100 tokens with the 4 special ones
    kwargs = {k: int(v) for k, v in (item.split("=") for item in BERT_SMALL.split(","))}
    bert, _ = nlp.model.get_model("bert_12_768_12", pretrained=False, dataset_name=None, vocab=vocab, use_pooler=True,
                                  use_decoder=False, use_classifier=False, hparam_allow_override=True, **kwargs)
    net = nlp.model.BERTClassifier(bert, num_classes=3, dropout=0.1)
    mx.random.seed(0)
    net.initialize(mx.init.Normal(0.1))
    rng = np.random.RandomState(0)
    net(mx.nd.array(rng.randint(0, 100, (2, 8))), mx.nd.array(rng.randint(0, 2, (2, 8))), mx.nd.array([3, 8]))
    for name, param in net.collect_params().items():  # LayerNorms that do something
        if name.endswith(("gamma", "beta")):
            param.set_data(mx.nd.array(rng.uniform(0.5, 1.5, param.shape) if name.endswith("gamma")
                                       else rng.normal(0, 0.5, param.shape)))
    net.save_parameters(str(tmp_path / "bert.params"))
    axes = ["--dynamic-axes", "inputs:0=batch,1=seq", "--dynamic-axes", "token_types:0=batch,1=seq",
            "--dynamic-axes", "valid_length:0=batch"]
    status = EXPORT.main(["--gluonnlp", "bert_12_768_12", "--params", str(tmp_path / "bert.params"),
                              "--net-kwargs", BERT_SMALL, "--input", "inputs:1x8:int32", "--input", "token_types:1x8:int32",
                              "--input", "valid_length:1", "--name", "bert", "--out", str(tmp_path / "out"), *axes])
    assert status == 0, capsys.readouterr().err
    folder = tmp_path / "out" / "bert"
    assert list(report_of(folder)["backends"]) == GLUON_BACKENDS
    roles = json.loads({p.key: p.value for p in onnx.load(str(folder / "model.onnx")).metadata_props}["inputs"])
    assert {n: (r["values"], r["range"]) for n, r in roles.items()} == \
        {"inputs": ("index", [0, 100]), "token_types": ("index", [0, 2]), "valid_length": ("length", [1, 8])}

    np.savez(tmp_path / "tokens.npz", inputs=rng.randint(0, 100, (2, 12)), token_types=rng.randint(0, 2, (2, 12)),
             valid_length=np.array([5.0, 12.0]))  # another sequence length than exported
    capsys.readouterr()
    assert INFER.main([str(folder), str(tmp_path / "tokens.npz"), "--top-k", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
