"""Bad inputs give one line of the compiler's family and write nothing: diverged weights, broken
symbol files, bad dtypes and sizes, unwritable outputs, exports that cannot fit in memory."""
import json
import os
import time

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import export
from export.errors import ExportError, InsufficientMemoryError, InvalidInputError, NonFiniteError, WriteError
from export.artifacts.package import export_artifact
from export.onnx import export_model
from test_export_trust import export_tiny, hidden, tiny_net


# -- 9. diverged weights ------------------------------------------------------------------------
def test_nan_weights_are_refused_naming_the_params_never_an_exporter_bug(tmp_path):
    net = tiny_net()
    net.collect_params()["tiny_dense0_weight"].data()[:] = np.nan
    with pytest.raises(NonFiniteError, match=r"the weights hold NaN: tiny_dense0_weight; retrain or pass other") as err:
        export_tiny(tmp_path, net=net)
    assert "exporter bug" not in str(err.value)
    assert os.listdir(tmp_path) == []


def test_a_negative_batchnorm_variance_is_refused_naming_it(prefix, tmp_path):
    params = {k: v.asnumpy() for k, v in mx.nd.load(prefix["params"]).items()}
    params["aux:tiny_batchnorm0_running_var"][1] = -3.0
    with pytest.raises(NonFiniteError, match=r"negative variances: tiny_batchnorm0_running_var; retrain"):
        export_model(prefix["symbol"], params, [(1, 1, 8, 8)], np.float32, str(tmp_path / "m.onnx"))
    assert not (tmp_path / "m.onnx").exists()


def test_diverged_weights_with_huge_outputs_are_refused_not_passed(tmp_path):
    net = tiny_net()
    for param in net.collect_params().values():
        if param.name.endswith("weight"):
            param.set_data(param.data() * 1e9)  # finite weights, outputs near 1e27
    with pytest.raises(NonFiniteError, match=r"outputs reach .* diverged") as err:
        export_tiny(tmp_path, net=net)
    assert "exporter bug" not in str(err.value)
    assert not (tmp_path / "tiny").exists() and hidden(tmp_path) == []


# -- one line for every bad input ---------------------------------------------------------------
def _graph_with(prefix, edit):
    graph = json.load(open(prefix["symbol"]))
    edit(graph)
    return json.dumps(graph)


def _first_op(graph):
    return next(i for i, n in enumerate(graph["nodes"]) if n["op"] != "null")


def _batchnorm(graph):
    return next(n for n in graph["nodes"] if n["op"] == "BatchNorm")


BAD_SYMBOLS = {
    "empty": lambda p: "",
    "truncated": lambda p: open(p["symbol"]).read()[:300],
    "binary": lambda p: bytes(range(256)) * 4,
    "missing node": lambda p: _graph_with(p, lambda g: g["nodes"][_first_op(g)]["inputs"][0].__setitem__(0, 99)),
    "NaN attribute": lambda p: _graph_with(p, lambda g: _batchnorm(g)["attrs"].__setitem__("eps", "nan")),
    "cycle": lambda p: _graph_with(p, lambda g: g["nodes"][_first_op(g)]["inputs"].__setitem__(
        0, [len(g["nodes"]) - 1, 0, 0])),
}


@pytest.fixture
def prefix(tmp_path):
    return export.export_symbol(tiny_net(), str(tmp_path / "net"), input_shape=(1, 1, 8, 8))


def assert_one_line(err):
    text = str(err)
    assert isinstance(err, ExportError) and "\n" not in text
    assert not any(s in text for s in ("Traceback", ".cc:", "Check failed", "Stack trace")), text


@pytest.mark.parametrize("case", sorted(BAD_SYMBOLS))
def test_a_broken_symbol_file_is_one_line(prefix, tmp_path, case):
    content = BAD_SYMBOLS[case](prefix)
    bad = tmp_path / "bad-symbol.json"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InvalidInputError, match="cannot read symbol file") as err:
        export_model(str(bad), prefix["params"], [(1, 1, 8, 8)], np.float32, str(tmp_path / "m.onnx"))
    assert_one_line(err.value)
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("optimize", [False, True])
def test_a_negative_norm_epsilon_is_refused_naming_the_node(prefix, tmp_path, optimize):
    bad = tmp_path / "bad-symbol.json"
    bad.write_text(_graph_with(prefix, lambda g: _batchnorm(g)["attrs"].__setitem__("eps", "-1")))
    with pytest.raises(InvalidInputError, match=r"node 'tiny_batchnorm0_fwd' has eps='-1'") as err:
        export.export_onnx((str(bad), prefix["params"]), tmp_path / "m.onnx", input_shape=(1, 1, 8, 8),
                           optimize=optimize)
    assert_one_line(err.value)
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("shape, dtype, params_dtype", [
    ((1, 1, 8, 8), np.int64, "float32"), ((1, 1, 8, 8), np.float32, "float16"),
    ((0, 1, 8, 8), np.float32, "float32"), ((-1, 1, 8, 8), np.float32, "float32")])
def test_bad_dtypes_and_batch_sizes_are_one_line(prefix, tmp_path, shape, dtype, params_dtype):
    params = {k: v.astype(params_dtype) for k, v in mx.nd.load(prefix["params"]).items()}
    with pytest.raises(InvalidInputError) as err:
        export_model(prefix["symbol"], params, [shape], dtype, str(tmp_path / "m.onnx"))
    assert_one_line(err.value)
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("case", ["in_types 'foo'", "sym 5", "output is a folder", "size 2^40", "output in /proc"])
def test_bad_arguments_are_one_line_of_the_family(prefix, tmp_path, case):
    args = {"sym": prefix["symbol"], "params": prefix["params"], "in_shapes": [(1, 1, 8, 8)],
            "in_types": np.float32, "onnx_file_path": str(tmp_path / "m.onnx")}
    key, value = {"in_types 'foo'": ("in_types", "foo"), "sym 5": ("sym", 5),
                  "output is a folder": ("onnx_file_path", str(tmp_path)),
                  "size 2^40": ("in_shapes", [(1, 1, 2 ** 40, 8)]),
                  "output in /proc": ("onnx_file_path", "/proc/m.onnx")}[case]
    with pytest.raises(ExportError) as err:
        export_model(**dict(args, **{key: value}))
    assert_one_line(err.value)
    assert not (tmp_path / "m.onnx").exists() and hidden(tmp_path) == []


def test_an_output_folder_that_cannot_be_written_is_one_line(tmp_path):
    with pytest.raises(WriteError, match="cannot write into /proc.*choose a writable folder") as err:
        export_artifact(tiny_net(), "/proc/no/such/folder", name="tiny", input_shape=(1, 8, 8), ctx=mx.cpu())
    assert_one_line(err.value)


def test_mxnet_failing_to_write_the_symbol_files_is_one_line(tmp_path, monkeypatch):
    def full_disk(self, path, epoch=0):
        raise mx.base.MXNetError("Traceback (most recent call last):\n  File \"../src/io/local_filesys.cc\", "
                                 "line 209\nMXNetError: Check failed: allow_null: LocalFileSystem::Open "
                                 "\"x.params\": No space left on device")
    monkeypatch.setattr(nn.HybridBlock, "export", full_disk)
    with pytest.raises(WriteError, match="No space left on device; free some space") as err:
        export.export_symbol(tiny_net(), str(tmp_path / "net"), input_shape=(1, 1, 8, 8))
    assert_one_line(err.value)
    assert os.listdir(tmp_path) == []


def test_the_export_tool_prints_mxnets_reason_without_its_cpp_traceback(tmp_path, monkeypatch, capsys):
    from _tools import error_lines, load_tool
    import export.artifacts.package as package

    def failing(*args, **kwargs):
        raise mx.base.MXNetError("Traceback (most recent call last):\n  File \"../src/io/local_filesys.cc\", line 209\n"
                                 "MXNetError: Check failed: allow_null: LocalFileSystem::Open \"x\": No space left on device")
    monkeypatch.setattr(package, "export_artifact", failing)
    assert load_tool("export").main(["--model", "lenet_bn", "--untrained", "--out", str(tmp_path / "out")]) == 1
    lines = error_lines(capsys.readouterr().err)
    assert lines == ['error: lenet_bn: LocalFileSystem::Open "x": No space left on device']


# -- resource limits ------------------------------------------------------------------------------
def test_an_export_that_cannot_fit_in_memory_is_refused_before_allocating(tmp_path):
    net = nn.HybridSequential(prefix="big_")
    with net.name_scope():
        net.add(nn.Conv2D(8, 3, in_channels=1), nn.GlobalAvgPool2D())
    start = time.perf_counter()
    with pytest.raises(InsufficientMemoryError, match=r"needs about .* GB .* is available; export a smaller") as err:
        export.export_symbol(net, str(tmp_path / "m"), input_shape=(1, 1, 200_000, 200_000))  # 1.3 TB of activations
    assert_one_line(err.value)
    assert time.perf_counter() - start < 30 and os.listdir(tmp_path) == []
