"""Triton model repository: written by tools/export.py --triton, parsed back and checked against the ONNX file."""
import os

import onnx
import pytest
from google.protobuf import text_format
from onnx import TensorProto, helper

from export.artifacts.triton import DEFAULT_MAX_BATCH_SIZE, model_config, read_config, write_triton_model

from _tools import run_tool


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = run_tool("export", "--model", "lenet", "--out", out, "--format", "onnx", "--triton",
                      "--triton-max-batch", "16", "--no-verify", cwd=out)
    assert result.returncode == 0, result.stderr
    return out


def onnx_dims(value):
    return [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]


def dtype_name(tensor):
    return tensor.DESCRIPTOR.fields_by_name["data_type"].enum_type.values_by_number[tensor.data_type].name


def test_repository_layout_and_config_match_the_onnx_model(exported):
    entry = exported / "triton" / "lenet"
    assert sorted(p.name for p in entry.iterdir()) == ["1", "config.pbtxt", "labels.txt"]
    assert (entry / "1" / "model.onnx").read_bytes() == (exported / "lenet" / "model.onnx").read_bytes()
    model = onnx.load(str(entry / "1" / "model.onnx"))
    config = read_config(entry / "config.pbtxt")
    assert config.name == "lenet" and config.platform == "onnxruntime_onnx"
    # Dynamic batch: Triton's implicit batch axis, so dims leave it out.
    assert config.max_batch_size == 16 and config.HasField("dynamic_batching")
    (graph_input,) = model.graph.input
    assert [(i.name, dtype_name(i), list(i.dims)) for i in config.input] == [
        (graph_input.name, "TYPE_FP32", onnx_dims(graph_input)[1:])]
    assert onnx_dims(graph_input)[0] is None and list(config.input[0].dims) == [1, 28, 28]
    assert [(o.name, dtype_name(o), list(o.dims)) for o in config.output] == [
        (o.name, "TYPE_FP32", onnx_dims(o)[1:]) for o in model.graph.output]
    assert config.output[0].label_filename == "labels.txt"
    assert len((entry / "labels.txt").read_text().splitlines()) == config.output[0].dims[0] == 10


def test_fixed_batch_uses_full_shape_and_no_batching(exported, tmp_path):
    model = onnx.load(str(exported / "lenet" / "model.onnx"))
    for value in (model.graph.input[0], *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_value = 4
    path = tmp_path / "fixed.onnx"
    onnx.save(model, str(path))
    entry = write_triton_model(str(path), str(tmp_path / "repo"), "lenet_b4", layout="NCHW")
    config = read_config(f"{entry}/config.pbtxt")
    assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
    assert list(config.input[0].dims) == [4, 1, 28, 28] and list(config.output[0].dims) == [4, 10]
    assert text_format.MessageToString(config.input[0]).count("FORMAT_NCHW") == 0  # NCHW format is for 3-D dims
    assert not (tmp_path / "repo" / "lenet_b4" / "labels.txt").exists()


def test_rewrite_replaces_the_entry_whole(exported, tmp_path):
    onnx_path = str(exported / "lenet" / "model.onnx")
    repo = tmp_path / "repo"
    write_triton_model(onnx_path, str(repo), "m", labels=["a"] * 10)
    write_triton_model(onnx_path, str(repo), "m", max_batch_size=8)
    assert [p.name for p in repo.iterdir()] == ["m"]  # no staging folders left
    assert sorted(p.name for p in (repo / "m").iterdir()) == ["1", "config.pbtxt"]
    assert read_config(repo / "m" / "config.pbtxt").max_batch_size == 8


@pytest.mark.parametrize("text", ["max_batch: 4", 'name: "x" input { dims: [1, 2 }'], ids=["unknown-field", "syntax"])
def test_reader_rejects_what_triton_would(tmp_path, text):
    (tmp_path / "config.pbtxt").write_text(text)
    with pytest.raises(text_format.ParseError):
        read_config(tmp_path / "config.pbtxt")


def test_dynamic_non_batch_dims_are_triton_variable_size_dims(tmp_path):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Relu", ["s"], ["t"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "width"]),
                               helper.make_tensor_value_info("s", TensorProto.FLOAT, [1, "batch", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "width"]),
                               helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, "batch", 4])])
    model = helper.make_model(graph)
    config = model_config(model, "m")
    # a state whose batch is its second axis: no implicit batch, every symbolic dim -1
    assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
    assert [list(i.dims) for i in config.input] == [[-1, -1], [1, -1, 4]]
    del model.graph.input[1], model.graph.output[1], model.graph.node[1]
    config = model_config(model, "m")
    assert config.max_batch_size == DEFAULT_MAX_BATCH_SIZE and [list(i.dims) for i in config.input] == [[-1]]
    onnx.save(model, str(tmp_path / "m.onnx"))
    folder = write_triton_model(str(tmp_path / "m.onnx"), str(tmp_path / "repo"), "m")
    assert list(read_config(os.path.join(folder, "config.pbtxt")).output[0].dims) == [-1]


def test_dynamic_model_needs_a_positive_max_batch_size(exported, tmp_path):
    with pytest.raises(ValueError, match="max_batch_size"):
        write_triton_model(str(exported / "lenet" / "model.onnx"), str(tmp_path / "repo"), "m", max_batch_size=0)
    assert not (tmp_path / "repo" / "m").exists()
