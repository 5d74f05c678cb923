"""Lay out an ONNX model as a Triton Inference Server model repository entry.

``write_triton_model("artifacts/lenet/model.onnx", "artifacts/triton", "lenet")`` writes::

    artifacts/triton/lenet/config.pbtxt
    artifacts/triton/lenet/1/model.onnx
    artifacts/triton/lenet/labels.txt          (when labels are given)

Batch convention. Triton has two: with ``max_batch_size > 0`` the batch axis is implicit and
``dims`` leave it out (Triton prepends ``-1``, and the dynamic batcher may merge requests);
with ``max_batch_size: 0`` ``dims`` are the full tensor shape. A dynamic-batch export (batch
axis symbolic in the ONNX file, every other axis static) is exactly what the first convention
describes, so it gets ``max_batch_size: N`` (default 64), batch-less dims and
``dynamic_batching {}``. A fixed-batch export cannot be batched by Triton, so it gets
``max_batch_size: 0`` and its full shape. Other symbolic axes (a sequence model's length; the
batch of a recurrent state, which is not its first axis) are Triton's variable-size dims, ``-1``;
a model whose batch axis is not the first axis of every tensor gets ``max_batch_size: 0``.

The text is produced and parsed with protobuf's text format against the subset of Triton's
``model_config.proto`` we emit (same message, field and enum names), so it is well-formed by
construction and :func:`read_config` rejects any field Triton would not know.
"""
import os
import shutil

import onnx
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

from ..files.staging import staged_dir
from ..errors import InvalidInputError

PLATFORM = "onnxruntime_onnx"
DEFAULT_MAX_BATCH_SIZE = 64

# ONNX element type -> Triton DataType (the names of model_config.proto's enum).
_ONNX_TO_TRITON = {
    onnx.TensorProto.BOOL: "TYPE_BOOL", onnx.TensorProto.UINT8: "TYPE_UINT8",
    onnx.TensorProto.UINT16: "TYPE_UINT16", onnx.TensorProto.UINT32: "TYPE_UINT32",
    onnx.TensorProto.UINT64: "TYPE_UINT64", onnx.TensorProto.INT8: "TYPE_INT8",
    onnx.TensorProto.INT16: "TYPE_INT16", onnx.TensorProto.INT32: "TYPE_INT32",
    onnx.TensorProto.INT64: "TYPE_INT64", onnx.TensorProto.FLOAT16: "TYPE_FP16",
    onnx.TensorProto.FLOAT: "TYPE_FP32", onnx.TensorProto.DOUBLE: "TYPE_FP64",
    onnx.TensorProto.STRING: "TYPE_STRING", onnx.TensorProto.BFLOAT16: "TYPE_BF16",
}
_DATA_TYPES = ["TYPE_INVALID", "TYPE_BOOL", "TYPE_UINT8", "TYPE_UINT16", "TYPE_UINT32", "TYPE_UINT64",
               "TYPE_INT8", "TYPE_INT16", "TYPE_INT32", "TYPE_INT64", "TYPE_FP16", "TYPE_FP32",
               "TYPE_FP64", "TYPE_STRING", "TYPE_BF16"]

# (message, [(field, number, type, label, enum/message type name)]) — a subset of
# triton-inference-server/common protobuf/model_config.proto with its field numbers.
_F = descriptor_pb2.FieldDescriptorProto
_SCHEMA = [
    ("ModelInput", [("name", 1, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
                    ("data_type", 2, _F.TYPE_ENUM, _F.LABEL_OPTIONAL, ".inference.DataType"),
                    ("format", 3, _F.TYPE_ENUM, _F.LABEL_OPTIONAL, ".inference.ModelInput.Format"),
                    ("dims", 4, _F.TYPE_INT64, _F.LABEL_REPEATED, None)]),
    ("ModelOutput", [("name", 1, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
                     ("data_type", 2, _F.TYPE_ENUM, _F.LABEL_OPTIONAL, ".inference.DataType"),
                     ("dims", 3, _F.TYPE_INT64, _F.LABEL_REPEATED, None),
                     ("label_filename", 4, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None)]),
    ("ModelDynamicBatching", [("preferred_batch_size", 1, _F.TYPE_INT32, _F.LABEL_REPEATED, None),
                              ("max_queue_delay_microseconds", 2, _F.TYPE_UINT64, _F.LABEL_OPTIONAL, None)]),
    ("ModelConfig", [("name", 1, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
                     ("platform", 2, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
                     ("max_batch_size", 4, _F.TYPE_INT32, _F.LABEL_OPTIONAL, None),
                     ("input", 5, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".inference.ModelInput"),
                     ("output", 6, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".inference.ModelOutput"),
                     ("default_model_filename", 8, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None),
                     ("dynamic_batching", 11, _F.TYPE_MESSAGE, _F.LABEL_OPTIONAL,
                      ".inference.ModelDynamicBatching"),
                     ("backend", 17, _F.TYPE_STRING, _F.LABEL_OPTIONAL, None)]),
]


def _build_model_config_class():
    file = descriptor_pb2.FileDescriptorProto(name="hybridzoo_triton_model_config.proto",
                                              package="inference", syntax="proto3")
    data_type = file.enum_type.add(name="DataType")
    for number, name in enumerate(_DATA_TYPES):
        data_type.value.add(name=name, number=number)
    for message_name, fields in _SCHEMA:
        message = file.message_type.add(name=message_name)
        for name, number, type_, label, type_name in fields:
            field = message.field.add(name=name, number=number, type=type_, label=label)
            if type_name:
                field.type_name = type_name
        if message_name == "ModelInput":
            fmt = message.enum_type.add(name="Format")
            for number, name in enumerate(["FORMAT_NONE", "FORMAT_NHWC", "FORMAT_NCHW"]):
                fmt.value.add(name=name, number=number)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("inference.ModelConfig"))


ModelConfig = _build_model_config_class()


def _tensor_spec(value_info):
    """(name, Triton dtype, dims with None for symbolic axes) of an ONNX graph input/output."""
    tensor = value_info.type.tensor_type
    dtype = _ONNX_TO_TRITON.get(tensor.elem_type)
    if dtype is None:
        raise InvalidInputError(f"tensor {value_info.name!r} has ONNX type {tensor.elem_type}, which Triton has no type for")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    return value_info.name, dtype, dims


def _variable(dims, implicit_batch):
    """Symbolic dims as Triton's variable-size ``-1``; an implicit batch axis stays ``None``."""
    variable = [-1 if d is None else d for d in dims]
    return dims[:1] + variable[1:] if implicit_batch else variable


def model_config(model, name, max_batch_size=DEFAULT_MAX_BATCH_SIZE, layout=None, labels=False):
    """The Triton ``ModelConfig`` message for an ``onnx.ModelProto`` (see the module doc)."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [_tensor_spec(v) for v in model.graph.input if v.name not in initializers]
    outputs = [_tensor_spec(v) for v in model.graph.output]
    dynamic = all(dims and dims[0] is None for _, _, dims in inputs + outputs)
    inputs, outputs = ([(t, d, _variable(dims, dynamic)) for t, d, dims in group] for group in (inputs, outputs))
    if dynamic and max_batch_size < 1:
        raise InvalidInputError(f"max_batch_size must be at least 1 for a dynamic-batch model, got {max_batch_size}")
    config = ModelConfig(name=name, platform=PLATFORM, max_batch_size=max_batch_size if dynamic else 0)
    strip = 1 if dynamic else 0
    for tensor, dtype, dims in inputs:
        entry = config.input.add(name=tensor, data_type=dtype, dims=dims[strip:])
        if layout == "NCHW" and len(dims) - strip == 3:
            entry.format = "FORMAT_NCHW"
    for index, (tensor, dtype, dims) in enumerate(outputs):
        entry = config.output.add(name=tensor, data_type=dtype, dims=dims[strip:])
        if labels and index == 0:
            entry.label_filename = "labels.txt"
    if dynamic:
        config.dynamic_batching.SetInParent()
    return config


def write_triton_model(onnx_path, repository, name, max_batch_size=DEFAULT_MAX_BATCH_SIZE,
                       layout=None, labels=None, version=1):
    """Write ``repository/name/{config.pbtxt, <version>/model.onnx[, labels.txt]}``; return the model dir.

    Built in a temporary folder inside ``repository`` and renamed into place, so an existing entry
    is replaced whole and a failure leaves none half-written.
    """
    model = onnx.load(onnx_path, load_external_data=False)
    config = model_config(model, name, max_batch_size, layout, labels=bool(labels))
    target = os.path.join(repository, name)
    with staged_dir(target) as staging:
        os.makedirs(os.path.join(staging, str(version)))
        _copy_model(onnx_path, model, os.path.join(staging, str(version)))
        with open(os.path.join(staging, "config.pbtxt"), "w", encoding="utf-8") as f:
            f.write(text_format.MessageToString(config))
        if labels:
            with open(os.path.join(staging, "labels.txt"), "w", encoding="utf-8") as f:
                f.write("".join(f"{label}\n" for label in labels))
    return target


def _copy_model(onnx_path, model, version_dir):
    shutil.copyfile(onnx_path, os.path.join(version_dir, "model.onnx"))
    # Files over 2 GB keep weights in external data files beside the model: copy those too.
    source_dir = os.path.dirname(os.path.abspath(onnx_path))
    locations = {e.value for t in model.graph.initializer for e in t.external_data if e.key == "location"}
    for location in sorted(locations):
        shutil.copyfile(os.path.join(source_dir, location), os.path.join(version_dir, location))


def read_config(path):
    """Parse a ``config.pbtxt``; unknown fields or bad syntax raise ``text_format.ParseError``."""
    with open(path, encoding="utf-8") as f:
        return text_format.Parse(f.read(), ModelConfig())
