"""Initializers as raw bytes, and a model file written with its weights streamed from numpy.

Building a ``ModelProto`` with every weight inside and calling ``SerializeToString`` copies each
weight three times (numpy -> ``raw_data`` -> serialized bytes -> file). :func:`write_model`
serializes only the small model (``onnx``'s own serializer) and writes each weight's bytes
straight from its array, so the file holds exactly what ``SerializeToString`` would give for
the model with the weights appended as initializers (the tests compare the two byte for byte).
"""
import os
import tempfile

import numpy as np
import onnx
from onnx import helper

from ..files.io import atomic_path

# Protobuf cannot serialise a message over 2 GiB; stay clear of the limit.
EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 2 ** 24

LEN = 2  # protobuf wire type of length-delimited fields (messages, bytes)
MODEL_GRAPH = onnx.ModelProto.DESCRIPTOR.fields_by_name["graph"].number
GRAPH_INITIALIZER = onnx.GraphProto.DESCRIPTOR.fields_by_name["initializer"].number
TENSOR_RAW_DATA = onnx.TensorProto.DESCRIPTOR.fields_by_name["raw_data"].number


def little_endian(array):
    """``array`` as a C-contiguous little-endian array (itself when it already is one)."""
    array = np.asarray(array)  # (ascontiguousarray makes scalars 1-D: keep the shape)
    return np.ascontiguousarray(array, array.dtype.newbyteorder("<")).reshape(array.shape)


def tensor_header(name, array):
    """The ``TensorProto`` of ``array`` without its ``raw_data``."""
    tensor = onnx.TensorProto()
    tensor.name = name
    tensor.dims.extend(array.shape)
    tensor.data_type = helper.np_dtype_to_tensor_dtype(array.dtype)
    return tensor


def append_initializers(graph_proto, weights):
    """Append ``(name, array)`` pairs to ``graph_proto.initializer`` as raw bytes."""
    for name, array in weights:
        array = little_endian(array)
        tensor = graph_proto.initializer.add()
        tensor.CopyFrom(tensor_header(name, array))
        tensor.raw_data = array.tobytes()


def raw_size(model, weights=()):
    """Bytes of tensor data in ``model``'s initializers plus ``weights`` (without copying any)."""
    inside = sum(int(np.prod(t.dims)) * helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
                 for t in model.graph.initializer)
    return inside + sum(np.asarray(a).nbytes for _, a in weights)


# Hand-written wire format, kept to what the streaming needs: a field key and a length
# prefix (base-128 varints). protobuf's Python API has no public way to emit a message
# piecewise; everything else is serialized by onnx/protobuf itself.
def _varint(value):
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number, length):
    """Key and length prefix of a length-delimited field ``number`` of ``length`` bytes."""
    return _varint(number << 3 | LEN) + _varint(length)


def _split(message, field_name, keep_field):
    """Serialized fields of ``message`` before and after field ``field_name`` (which goes into
    the first part when ``keep_field``). protobuf writes known fields in field-number order,
    so ``before + <that field> + after`` equals serializing the whole message."""
    number = message.DESCRIPTOR.fields_by_name[field_name].number
    before, after = type(message)(), type(message)()
    before.CopyFrom(message)
    after.CopyFrom(message)
    for field, _ in message.ListFields():
        if field.number > number or (field.number == number and not keep_field):
            before.ClearField(field.name)
        if field.number <= number:
            after.ClearField(field.name)
    return before.SerializeToString(deterministic=True), after.SerializeToString(deterministic=True)


def write_model(file, model, weights):
    """Write ``model`` with ``weights`` (``(name, array)`` pairs) appended to its graph's
    initializers to the open binary ``file``; ``model`` itself is not changed."""
    weights = [(name, little_endian(array)) for name, array in weights]
    pieces = []  # (key + header of each initializer, its array)
    for name, array in weights:
        header = tensor_header(name, array).SerializeToString(deterministic=True)
        body = header + _field(TENSOR_RAW_DATA, array.nbytes)
        pieces.append((_field(GRAPH_INITIALIZER, len(body) + array.nbytes) + body, array))
    graph_before, graph_after = _split(model.graph, "initializer", keep_field=True)
    model_before, model_after = _split(model, "graph", keep_field=False)
    graph_size = len(graph_before) + len(graph_after) + sum(len(p) + a.nbytes for p, a in pieces)
    file.write(model_before + _field(MODEL_GRAPH, graph_size) + graph_before)
    for prefix, array in pieces:
        file.write(prefix)
        file.write(array.reshape(-1).view(np.uint8))  # the array's own bytes, no copy
    file.write(graph_after + model_after)


def save_model(model, path, weights=()):
    """Write ``model`` (checked when built), plus ``weights`` (``(name, array)`` pairs appended
    to its initializers), atomically; external data (``<file>.data``) above protobuf's limit."""
    path = os.fspath(path)
    weights = list(weights)
    if raw_size(model, weights) < EXTERNAL_DATA_THRESHOLD:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                write_model(f, model, weights)  # the weights go from their arrays to the file
        return path
    if weights:
        full = onnx.ModelProto()
        full.CopyFrom(model)
        append_initializers(full.graph, weights)
        model = full
    # Large model: write model + data into a temporary folder beside ``path``, check the pair,
    # then move the data file and the model file into place.
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    with tempfile.TemporaryDirectory(prefix=f".{base}.", dir=directory) as tmp_dir:
        tmp = os.path.join(tmp_dir, base)
        onnx.save_model(model, tmp, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=base + ".data", size_threshold=0)
        onnx.checker.check_model(tmp, full_check=True)
        os.replace(os.path.join(tmp_dir, base + ".data"), os.path.join(directory, base + ".data"))
        os.replace(tmp, path)
    return path
