"""The fuzz cases of tests/test_fuzz_export.py, run in a child process (MXNet may abort on a bad
graph): ``python fuzz_export_cases.py WORKDIR FIRST_SEED COUNT``.

Each seed picks one mutation of a tiny conv net's symbol JSON or params file, calls
``export_model`` (even seeds) or ``export_onnx`` (odd seeds, optimized) and prints two JSON lines, ``{"start": seed, "mutation": ...}`` before the case
(so a crash or hang names it) and ``{"end": seed, "outcome": ..., "detail": ...}`` after:
``exported`` (ONNX Runtime ran the file and agrees with MXNet), ``refused:<ExportError
subclass>`` (one line), ``bad export`` or ``foreign:<exception type>`` (both failures).
"""
import json
import os
import random
import sys
import warnings

import mxnet as mx
import numpy as np
import onnxruntime as ort
from mxnet.gluon import nn

import export
from export import verify
from export.errors import ExportError
from export.onnx import export_model

SHAPE = (1, 1, 8, 8)
GARBAGE = ["abc", "", "(-1, 0)", "(3, 3, 3)", "1e99", "-5", "0", "True", "None", "[]", "(0, 0)", "nan",
           "(2147483648, 1)", "{", "\u00e9\u6f22", "-1"]
RAW_MXNET = ("Traceback", "Stack trace", ".cc:", "Check failed", "----------")
VALUES = [None, True, -1, 0, 7, 10 ** 12, 1.5, "x", [], [1], [[0, 0, 0]], {}, {"a": 1}]


def base_files(folder):
    net = nn.HybridSequential(prefix="fz_")
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, in_channels=1), nn.BatchNorm(in_channels=4), nn.Activation("relu"),
                nn.MaxPool2D(2), nn.Flatten(), nn.Dense(3, in_units=4 * 3 * 3))
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    paths = export.export_symbol(net, os.path.join(folder, "base"), input_shape=SHAPE, manifest=None)
    params = {k: v.asnumpy() for k, v in mx.nd.load(paths["params"]).items()}
    return open(paths["symbol"]).read(), open(paths["params"], "rb").read(), params


# -- symbol mutations: (rng, graph dict) -> graph, or (rng, text) -> text ---------------------------
def _op_nodes(graph):
    return [n for n in graph["nodes"] if n["op"] != "null"] or graph["nodes"]


def drop_key(rng, graph):
    where = rng.choice([graph, rng.choice(graph["nodes"])])
    where.pop(rng.choice(sorted(where)), None)
    return graph


def wrong_type(rng, graph):
    node = rng.choice(graph["nodes"])
    if rng.random() < 0.3:
        graph[rng.choice(sorted(graph))] = rng.choice(VALUES)
    else:
        node[rng.choice(sorted(node))] = rng.choice(VALUES)
    return graph


def bad_index(rng, graph):
    node = rng.choice([n for n in graph["nodes"] if n.get("inputs")] or graph["nodes"])
    entry = rng.choice(node.get("inputs") or graph["heads"])
    entry[rng.randrange(2)] = rng.choice([-3, -1, 1, 2, len(graph["nodes"]), len(graph["nodes"]) + 7, 2 ** 31])
    return graph


def cycle(rng, graph):
    index = rng.choice([i for i, n in enumerate(graph["nodes"]) if n.get("inputs")])
    later = rng.randrange(index, len(graph["nodes"]))
    graph["nodes"][index]["inputs"][0] = [later, 0, 0]
    return graph


def garbage_attribute(rng, graph):
    node = rng.choice(_op_nodes(graph))
    attrs = node.setdefault("attrs", {})
    key = rng.choice(sorted(attrs) + ["kernel", "stride", "pad", "num_filter", "axis", "bogus"])
    attrs[key] = rng.choice(GARBAGE)
    return graph


def other_op(rng, graph):
    node = rng.choice(_op_nodes(graph))
    node["op"] = rng.choice(["Convolution", "FullyConnected", "Pooling", "Concat", "elemwise_add", "Reshape",
                             "SliceChannel", "NotAnOp", "", "null", "BatchNorm", "softmax"])
    return graph


def bad_heads(rng, graph):
    graph["heads"] = rng.choice([[], [[0, 0, 0]], [[0, 5, 0]], [[len(graph["nodes"]) - 1, 3, 0]],
                                 [[len(graph["nodes"]) - 1, 0, 0]] * 2, [["a", 0, 0]], [[1]]])
    return graph


def truncate_text(rng, text):
    return text[:rng.randrange(len(text))]


def flip_text(rng, text):
    data = bytearray(text.encode())
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


GRAPH_MUTATIONS = [drop_key, wrong_type, bad_index, cycle, garbage_attribute, other_op, bad_heads]
TEXT_MUTATIONS = [truncate_text, flip_text]


# -- params mutations: (rng, file bytes, {name: array}) -> file bytes or {name: array} -------------
def truncate_params(rng, data, params):
    return data[:rng.randrange(len(data))]


def flip_params(rng, data, params):
    data = bytearray(data)
    header = rng.random() < 0.5  # the headers (sizes, dtypes, counts) or anywhere
    for _ in range(rng.randint(1, 6)):
        data[rng.randrange(min(len(data), 120) if header else len(data))] = rng.randrange(256)
    return bytes(data)


def wrong_dtype(rng, data, params):
    name = rng.choice(sorted(params))
    return dict(params, **{name: params[name].astype(rng.choice(["float16", "float64", "int32", "uint8", "int64"]))})


def wrong_shape(rng, data, params):
    name = rng.choice(sorted(params))
    shape = rng.choice([(1,), (2, 2), params[name].shape + (1,), (params[name].size + 1,), (0,)])
    return dict(params, **{name: np.ones(shape, np.float32)})


def drop_or_rename(rng, data, params):
    params, name = dict(params), rng.choice(sorted(params))
    value = params.pop(name)
    if rng.random() < 0.5:
        params[rng.choice(["arg:" + name + "x", "other", name[:-1], ""])] = value
    return params


def non_finite(rng, data, params):
    name = rng.choice(sorted(params))
    value = params[name].copy()
    value.flat[rng.randrange(value.size)] = rng.choice([np.nan, np.inf, -np.inf])
    return dict(params, **{name: value})


PARAM_MUTATIONS = [truncate_params, flip_params, wrong_dtype, wrong_shape, drop_or_rename, non_finite]
MUTATIONS = [(m.__name__, "symbol") for m in GRAPH_MUTATIONS + TEXT_MUTATIONS] + \
            [(m.__name__, "params") for m in PARAM_MUTATIONS]


def make_case(seed, folder, symbol_text, params_bytes, params):
    """Write the seed's mutated files; returns (mutation name, symbol path, params path)."""
    rng = random.Random(seed)
    name, target = MUTATIONS[rng.randrange(len(MUTATIONS))]
    sym_path, par_path = os.path.join(folder, "case-symbol.json"), os.path.join(folder, "case-0000.params")
    sym_out, par_out = symbol_text, params_bytes
    mutate = globals()[name]
    if target == "symbol":
        sym_out = mutate(rng, symbol_text) if mutate in TEXT_MUTATIONS else \
            json.dumps(mutate(rng, json.loads(symbol_text)))
    else:
        par_out = mutate(rng, params_bytes, params)
    with open(sym_path, "wb") as f:
        f.write(sym_out if isinstance(sym_out, bytes) else sym_out.encode("utf-8", "surrogatepass"))
    if isinstance(par_out, dict):
        mx.nd.save(par_path, {k: mx.nd.array(v, dtype=v.dtype) for k, v in par_out.items()})
    else:
        with open(par_path, "wb") as f:
            f.write(par_out)
    return name, sym_path, par_path


def export_case(seed, sym_path, par_path, out):
    """Even seeds through ``export_model`` (one-to-one graph), odd ones through ``export_onnx``
    (optimized: BatchNorm folded, param-only ops computed)."""
    if seed % 2:
        export.export_onnx((sym_path, par_path), out, input_shape=SHAPE)
    else:
        export_model(sym_path, par_path, [SHAPE], np.float32, out)


def run_case(seed, sym_path, par_path, out):
    """``(outcome, detail)`` of exporting the case and running the result in ONNX Runtime."""
    if os.path.exists(out):
        os.remove(out)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export_case(seed, sym_path, par_path, out)
    except ExportError as err:
        text = str(err)
        if "\n" in text or not text.strip() or any(raw in text for raw in RAW_MXNET):
            return "foreign:not one clean line " + type(err).__name__, text[:400]
        return "refused:" + type(err).__name__, text[:200]
    except Exception as err:  # noqa: BLE001 - what the test exists to find
        return "foreign:" + type(err).__name__, str(err)[:400]
    x = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    try:
        session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x})
    except Exception as err:  # noqa: BLE001
        return "bad export", str(err).splitlines()[0][:400]
    return _compare_with_mxnet(sym_path, par_path, x, got)


def _compare_with_mxnet(sym_path, par_path, x, got):
    """``exported`` when MXNet's own outputs on ``x`` match ONNX Runtime's (``verify``'s tolerance)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = mx.gluon.SymbolBlock.imports(sym_path, ["data"], par_path, ctx=mx.cpu())
            want = verify.block_backend(net, ctx=mx.cpu())([x])
    except Exception as err:  # noqa: BLE001 - MXNet cannot run what was exported: say so
        return "exported (MXNet cannot run it)", str(err).strip().splitlines()[-1][:300]
    error = verify.max_error(want, got)
    if not error <= verify.tolerance(want):
        return "bad export", f"ONNX Runtime differs from MXNet by {error:.3g}"
    return "exported", ""


def main(folder, first, count):
    symbol_text, params_bytes, params = base_files(folder)
    for seed in range(first, first + count):
        name, sym_path, par_path = make_case(seed, folder, symbol_text, params_bytes, params)
        print(json.dumps({"start": seed, "mutation": name}), flush=True)
        outcome, detail = run_case(seed, sym_path, par_path, os.path.join(folder, "case.onnx"))
        print(json.dumps({"end": seed, "mutation": name, "outcome": outcome, "detail": detail}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
