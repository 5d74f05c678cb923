#!/usr/bin/env python
"""Convert GluonNLP models the way MXNet's own ONNX test-suite does, with our export_model.

  python tools/nlp_sweep.py                       # every case, 2 layers each
  python tools/nlp_sweep.py --case 'bert*' --layers 12

The cases are those of MXNet 1.9.1's tests/python-pytest/onnx/test_onnxruntime_nlp.py, called
as it calls ``mx.contrib.onnx.export_model`` (symbol and params files, a list of input shapes and
dtypes, ``dynamic_input_shapes`` with ``None`` or named dims), but with
``export.onnx.export_model``: BERT with pooler, RoBERTa and DistilBERT with their masked-LM
decoders, ERNIE, standard and AWD LSTM LMs with begin states, the transformer's encoder,
embeddings, projection and one-step decoder (dynamic sequence), BERT at another batch through a
dynamic file. Random weights (offline, ``pretrained=False``, vocabularies of the datasets'
sizes), ``--layers`` layers instead of the published depth. Each case runs in its own process;
exit status 1 when any fails.
"""
import fnmatch
import os
import sys
import tempfile
import time
from collections import Counter

from hybridzoo_tools import _cli  # first: keeps this folder and its export.py off sys.path

RTOL = 1e-4
F32 = "float32"


def _vocab(size):
    import gluonnlp as nlp
    return nlp.Vocab(Counter({f"w{i}": 1 for i in range(size - 4)}))  # + 4 special tokens


def _init(net, seed=0):
    import mxnet as mx
    mx.random.seed(seed)
    net.initialize(mx.init.Normal(0.1))
    return net


def _export(block, prefix, in_shapes, in_types, **kwargs):
    """MXNet's test: ``block.export`` then export_model(sym_file, params_file, shapes, types, onnx)."""
    from export.onnx import export_model
    block.export(prefix)
    return export_model(f"{prefix}-symbol.json", f"{prefix}-0000.params", in_shapes, in_types,
                        f"{prefix}.onnx", **kwargs)


def _run(path, feeds):
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, {n: f.asnumpy() for n, f in zip(names, feeds)})


def _err(ref, got):
    import numpy as np
    ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
    if ref.shape != got.shape:
        return float("inf"), 0.0
    return float(np.abs(ref - got).max()), RTOL * max(1.0, float(np.abs(ref).max()))


def _compare(pairs):
    """``[(mxnet output, onnx output)]`` -> (error, tolerance, passed) of the output whose error
    is the largest fraction of its own tolerance (each output's tolerance scales with it)."""
    errors = []
    for ref, got in pairs:
        ref = ref.asnumpy() if hasattr(ref, "asnumpy") else ref
        errors.append(_err(ref, got))
    worst, tol = max(errors, key=lambda et: et[0] / et[1])
    return worst, tol, all(e <= t for e, t in errors)


def bert(name, layers, tmp, dynamic=False):
    import mxnet as mx
    import gluonnlp as nlp
    vocab = {"ernie_12_768_12": 18000}.get(name, 30522)
    model, _ = nlp.model.get_model(name, pretrained=False, dataset_name=None, vocab=_vocab(vocab),
                                   use_pooler=True, use_decoder=False, use_classifier=False,
                                   num_layers=layers, hparam_allow_override=True)
    _init(model).hybridize(static_alloc=True)
    batch, seq = 5, 16

    def inputs(b):
        return [mx.nd.random.uniform(0, vocab, shape=(b, seq)), mx.nd.random.uniform(0, 2, shape=(b, seq)),
                mx.nd.array([seq] * (b - 2) + [seq // 2, 3])]
    x = inputs(batch)
    model(*x)
    shapes = [(batch, seq), (batch, seq), (batch,)]
    kwargs = {"dynamic": True, "dynamic_input_shapes": [(None, seq), (None, seq), (None,)]} if dynamic else {}
    path = _export(model, os.path.join(tmp, "bert"), shapes, [F32] * 3, **kwargs)
    x = inputs(7) if dynamic else x
    return _compare(zip(model(*x), _run(path, x)))


def roberta(name, layers, tmp):
    import mxnet as mx
    import gluonnlp as nlp
    model, _ = nlp.model.get_model(name, pretrained=False, dataset_name=None, vocab=_vocab(50265),
                                   use_decoder=True, num_layers=layers, hparam_allow_override=True)
    _init(model).hybridize(static_alloc=False)
    batch, seq = 2, 32
    x = [mx.nd.random.uniform(0, 30522, shape=(batch, seq)), mx.nd.array([seq, seq - 7]),
         mx.nd.random.uniform(0, 32, shape=(batch, 1)).astype("int32")]
    out = model(*x)
    path = _export(model, os.path.join(tmp, "roberta"), [(batch, seq), (batch,), (batch, 1)],
                   [F32, F32, "int32"], verbose=True)
    return _compare(zip(out, _run(path, x)))


def distilbert(name, layers, tmp):
    import mxnet as mx
    import gluonnlp as nlp
    model, _ = nlp.model.get_model(name, pretrained=False, dataset_name=None, vocab=_vocab(30522),
                                   num_layers=layers, hparam_allow_override=True)
    _init(model).hybridize(static_alloc=True)
    batch, seq = 2, 32
    x = [mx.nd.random.uniform(0, 30522, shape=(batch, seq)), mx.nd.array([seq, 11])]
    out = model(*x)
    path = _export(model, os.path.join(tmp, "distilbert"), [(batch, seq), (batch,)], [F32, F32])
    return _compare([(out, _run(path, x)[0])])


def lstm_lm(name, layers, tmp, seq=16):
    import mxnet as mx
    import gluonnlp as nlp
    model, _ = nlp.model.get_model(name, pretrained=False, dataset_name=None, vocab=_vocab(33278), dropout=0)
    _init(model).hybridize()
    batch = 2
    x = mx.nd.random.randint(0, 33278, shape=(seq, batch)).astype(F32)
    state = model.begin_state(func=mx.nd.random.uniform, low=0, high=1, batch_size=batch, ctx=mx.cpu())
    out, out_state = model(x, state)
    flat = [s for group in state for s in (group if isinstance(group, (list, tuple)) else [group])]
    flat_out = [s for group in out_state for s in (group if isinstance(group, (list, tuple)) else [group])]
    path = _export(model, os.path.join(tmp, "lm"), [x.shape] + [s.shape for s in flat], [F32] * (1 + len(flat)),
                   verbose=True)
    got = _run(path, [x] + flat)  # in the symbol's order (mx2onnx sorts them: states first)
    return _compare(zip([out] + flat_out, got))


def transformer(name, layers, tmp):
    import mxnet as mx
    import gluonnlp as nlp
    # GluonNLP's transformer factory prefixes dataset_name to its vocabulary names (None fails)
    # and downloads them even when given vocabularies: hand it ours.
    factory = nlp.model.transformer
    load_vocab, factory._load_vocab = factory._load_vocab, lambda name, vocab, root, cls=None: vocab
    try:
        model, _, _ = nlp.model.get_model(name, pretrained=False, dataset_name="WMT2014", src_vocab=_vocab(36794),
                                          tgt_vocab=_vocab(36794), num_layers=layers, hparam_allow_override=True)
    finally:
        factory._load_vocab = load_vocab
    _init(model).hybridize(static_alloc=False)
    batch, seq, units = 7, 16, 512
    src = mx.nd.random.uniform(0, 36794, shape=(batch, seq))
    src_len = mx.nd.array([seq] * batch)
    enc_out, _ = model.encode(src, valid_length=src_len)
    states = model.decoder.init_state_from_encoder(enc_out, src_len)
    model.decode_step(mx.nd.random.uniform(0, 36794, shape=(batch,)), states)
    pairs = []
    enc_in = mx.nd.random.uniform(-1, 1, shape=(batch, seq, units))
    pred = model.encoder(enc_in, valid_length=src_len)
    path = _export(model.encoder, os.path.join(tmp, "encoder"), [(batch, seq, units), (batch,)], [F32, F32])
    pairs.append((pred[0], _run(path, [enc_in, src_len])[0]))
    for part in ("src_embed", "tgt_embed"):
        ids = mx.nd.random.uniform(0, 36794, shape=(batch, seq))
        path = _export(getattr(model, part), os.path.join(tmp, part), [(batch, seq)], [F32])
        pairs.append((getattr(model, part)(ids), _run(path, [ids])[0]))
    dec_out = mx.nd.random.uniform(0, 512, shape=(batch, seq, units))
    path = _export(model.tgt_proj, os.path.join(tmp, "tgt_proj"), [(batch, seq, units)], [F32])
    pairs.append((model.tgt_proj(dec_out), _run(path, [dec_out])[0]))
    # one-step decoder, dynamic sequence length named as MXNet's test names it
    perm = [2, 0, 1]
    shapes = [(batch, seq, units), (batch, seq, units), (batch, seq)]
    dyn = [(batch, "seq_length", units), (batch, "seq_length", units), (batch, "seq_length")]
    path = _export(model.one_step_ahead_decoder, os.path.join(tmp, "step"), [shapes[i] for i in perm],
                   [F32] * 3, dynamic=True, dynamic_input_shapes=[dyn[i] for i in perm])
    step = mx.nd.random.uniform(-1, 1, shape=(batch, units))
    pred, step_states, _ = model.one_step_ahead_decoder(step, states)
    onx_in = mx.nd.expand_dims(step, axis=1)
    pairs.append((pred, _run(path, [[onx_in, states[0], states[1]][i] for i in perm])[0]))
    for i in range(1, 4):
        step = mx.nd.random.uniform(-10 * i, 10 * i, shape=(batch, units))
        pred, step_states, _ = model.one_step_ahead_decoder(step, step_states)
        onx_in = mx.nd.concat(onx_in, mx.nd.expand_dims(step, axis=1), dim=1)
        pairs.append((pred, _run(path, [[onx_in, states[0], states[1]][i] for i in perm])[0]))
    return _compare(pairs)


CASES = {
    "bert_12_768_12": lambda l, t: bert("bert_12_768_12", l, t),
    "bert_24_1024_16": lambda l, t: bert("bert_24_1024_16", l, t),
    "bert_12_768_12-dynamic": lambda l, t: bert("bert_12_768_12", l, t, dynamic=True),
    "ernie_12_768_12": lambda l, t: bert("ernie_12_768_12", l, t),
    "roberta_12_768_12": lambda l, t: roberta("roberta_12_768_12", l, t),
    "roberta_24_1024_16": lambda l, t: roberta("roberta_24_1024_16", l, t),
    "distilbert_6_768_12": lambda l, t: distilbert("distilbert_6_768_12", l, t),
    "standard_lstm_lm_200": lambda l, t: lstm_lm("standard_lstm_lm_200", l, t),
    "standard_lstm_lm_650": lambda l, t: lstm_lm("standard_lstm_lm_650", l, t, seq=32),
    "standard_lstm_lm_1500": lambda l, t: lstm_lm("standard_lstm_lm_1500", l, t),
    "awd_lstm_lm_600": lambda l, t: lstm_lm("awd_lstm_lm_600", l, t, seq=128),
    "awd_lstm_lm_1150": lambda l, t: lstm_lm("awd_lstm_lm_1150", l, t),
    "transformer_en_de_512": lambda l, t: transformer("transformer_en_de_512", l, t),
}


def check(case, layers):
    """One case in this process: ``{"status", "detail"}``."""
    import hybridzoo  # noqa: F401  (thread count before mxnet)
    import mxnet as mx
    mx.random.seed(0)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            worst, tol, passed = CASES[case](layers, tmp)
        except Exception as err:  # noqa: BLE001  (report it, go on with the next case)
            line = next((l for l in str(err).splitlines() if l.strip()), "")
            return {"status": "error", "detail": f"{type(err).__name__}: {line[:240]}"}
    return {"status": "pass" if passed else "mismatch", "max_error": worst, "tolerance": tol,
            "detail": f"max err {worst:.2e} (tol {tol:.1e}), {time.perf_counter() - start:.1f}s"}


def main(argv=None):
    parser = _cli.parser_from_doc(__doc__)
    parser.add_argument("--case", action="append", help="name or wildcard (repeatable; default all)")
    parser.add_argument("--layers", type=int, default=2, help="layers per model (default 2)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per case")
    args = parser.parse_args(argv)
    todo = [c for c in CASES if not args.case or any(fnmatch.fnmatchcase(c, p) for p in args.case)]
    if not todo:
        parser.error(f"no case matches; the cases are {', '.join(CASES)}")
    failed = 0
    for case in todo:
        result = _cli.run_isolated(check, case, args.layers, timeout=args.timeout)  # a process per case
        failed += result["status"] != "pass"
        print(f"{result['status']:8s} {case:26s} {result['detail']}", flush=True)
    print(f"\n{len(todo) - failed}/{len(todo)} pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
