"""GluonNLP transformers and language models built offline, for agreement tests and benchmarks.

``build(family, size="small")`` returns a :class:`Case`: the hybridized net with seeded,
input-dependent weights (``Normal(0.1)``; LayerNorm scales and shifts random too), a function
making its inputs at any batch and sequence length, and the dynamic axes of its exported
symbol's inputs. ``size="small"`` is two layers of 32 units (test suite); ``"base"`` is the
published size (``bert`` base: 12 layers of 768; ``standard_lstm``: standard_lstm_lm_200) with
its dataset's vocabulary size (BERT uncased 30522, RoBERTa 50265, wikitext-2 33278).
Needs ``gluonnlp`` (the ``test`` extra); no vocabulary or weight is downloaded.
"""
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict

import mxnet as mx
import numpy as np

FAMILIES = ("bert", "roberta", "distilbert", "standard_lstm", "awd_lstm", "transformer_encoder",
            "transformer_decoder")
VOCAB = 100          # vocabulary size of the small models (ids are drawn below it)
BASE_VOCAB = {"bert": 30522, "distilbert": 30522, "roberta": 50265, "standard_lstm": 33278,
              "awd_lstm": 33278}
SMALL = dict(num_layers=2, units=32, hidden_size=64, num_heads=4, max_length=64, embed_size=32)
BATCH_SEQ = {"data0": {0: "batch", 1: "seq"}}


@dataclass
class Case:
    """One model: ``make(batch, seq, rng) -> (args, feeds)``: ``args`` for ``net(*args)``,
    ``feeds`` the exported symbol's inputs (``data0``, ``data1``...) as numpy arrays."""

    name: str
    net: object
    make: Callable
    dynamic_axes: Dict[str, Dict[int, str]]

    def reference(self, args):
        """The net's outputs for ``args``, flattened to a list of numpy arrays."""
        return [o.asnumpy() for o in flatten_outputs(self.net(*args))]

    def export_symbol(self, prefix, batch=2, seq=5, seed=0):
        """Run once and write ``prefix-symbol.json`` / ``-0000.params`` (``HybridBlock.export``);
        returns the feeds it ran on."""
        args, feeds = self.make(batch, seq, np.random.RandomState(seed))
        self.net(*args)
        self.net.export(prefix)
        return feeds


def flatten_outputs(items):
    """A net's outputs, nested lists and tuples flattened in order (``None`` dropped)."""
    if isinstance(items, (list, tuple)):
        for item in items:
            yield from flatten_outputs(item)
    elif items is not None:
        yield items


def _vocab(size=VOCAB):
    import gluonnlp as nlp
    return nlp.Vocab(Counter({f"w{i}": 1 for i in range(size - 4)}))  # + 4 special tokens


def _nd(*arrays):
    return [None if a is None else mx.nd.array(a, dtype=a.dtype) for a in arrays]


def _ids(rng, vocab, *shape):
    return rng.randint(0, vocab, shape).astype(np.float32)


def _valid_length(rng, batch, seq):
    return rng.randint(1, seq + 1, batch).astype(np.float32)


def _init(net, make, seed):
    """Normal(0.1) weights, random LayerNorm scales/shifts (after one forward pass, which
    settles deferred shapes), hybridized."""
    mx.random.seed(seed)
    net.initialize(mx.init.Normal(0.1))
    rng = np.random.RandomState(seed)
    net(*make(2, 3, rng)[0])
    for name, param in net.collect_params().items():
        if name.endswith("gamma"):
            param.set_data(mx.nd.array(rng.uniform(0.5, 1.5, param.shape)))
        elif name.endswith("beta"):
            param.set_data(mx.nd.array(rng.normal(0, 0.5, param.shape)))
    net.hybridize()
    return net


def _bert_like(family, size, vocab):
    import gluonnlp as nlp
    name = {"bert": "bert_12_768_12", "roberta": "roberta_12_768_12",
            "distilbert": "distilbert_6_768_12"}[family]
    kwargs = dict(hparam_allow_override=True, **SMALL) if size == "small" else {}
    if family == "bert":
        kwargs.update(use_pooler=True, use_decoder=False, use_classifier=False)
    elif family == "roberta":
        kwargs.update(use_decoder=False)
    net, _ = nlp.model.get_model(name, pretrained=False, dataset_name=None, vocab=_vocab(vocab), **kwargs)
    segments = family == "bert"

    def make(batch, seq, rng):
        ids, length = _ids(rng, vocab, batch, seq), _valid_length(rng, batch, seq)
        feeds = [ids] + ([rng.randint(0, 2, (batch, seq)).astype(np.float32)] if segments else []) + [length]
        return _nd(*feeds), {f"data{i}": f for i, f in enumerate(feeds)}
    axes = dict(BATCH_SEQ, data1={0: "batch", 1: "seq"} if segments else {0: "batch"})
    if segments:
        axes["data2"] = {0: "batch"}
    return net, make, axes


def _language_model(family, size, vocab):
    """Time-major (T, N) ids; the standard LSTM LM is fed its begin states (h, c)."""
    import gluonnlp as nlp
    name = {"standard_lstm": "standard_lstm_lm_200", "awd_lstm": "awd_lstm_lm_600"}[family]
    # GluonNLP's StandardRNN applies nd.Dropout in hybrid_forward, which cannot run on
    # symbols (hybridized): build it with dropout 0 (inference does not use dropout anyway)
    kwargs = dict(dropout=0.0) if family == "standard_lstm" else {}
    if size == "small":
        kwargs.update(hparam_allow_override=True, embed_size=32, hidden_size=32, num_layers=2)
    net, _ = nlp.model.get_model(name, pretrained=False, dataset_name=None, vocab=_vocab(vocab), **kwargs)
    with_states = family == "standard_lstm"

    def make(batch, seq, rng):
        ids = _ids(rng, vocab, seq, batch)
        if not with_states:
            return _nd(ids), {"data": ids}
        h, c = (rng.normal(0, 0.5, s.shape).astype(np.float32)
                for s in net.begin_state(batch_size=batch))
        return [_nd(ids)[0], _nd(h, c)], {"data0": ids, "data1": h, "data2": c}
    if not with_states:
        return net, make, {"data": {0: "seq", 1: "batch"}}
    return net, make, {"data0": {0: "seq", 1: "batch"}, "data1": {1: "batch"}, "data2": {1: "batch"}}


def _transformer(family, size, vocab):
    import gluonnlp as nlp
    dims = dict(num_layers=2, num_heads=4, units=32, hidden_size=64) if size == "small" else \
        dict(num_layers=6, num_heads=8, units=512, hidden_size=2048)
    encoder, decoder, one_step = nlp.model.transformer.get_transformer_encoder_decoder(
        max_src_length=64, max_tgt_length=64, **dims)
    units = dims["units"]
    if family == "transformer_encoder":
        def make(batch, seq, rng):
            x, length = rng.normal(0, 1, (batch, seq, units)).astype(np.float32), _valid_length(rng, batch, seq)
            return [_nd(x)[0], None, _nd(length)[0]], {"data0": x, "data1": length}
        return encoder, make, {"data0": {0: "batch", 1: "seq"}, "data1": {0: "batch"}}

    def make(batch, seq, rng):  # one step ahead over a memory of ``seq`` source positions
        step = rng.normal(0, 1, (batch, units)).astype(np.float32)
        memory = rng.normal(0, 1, (batch, seq, units)).astype(np.float32)
        mask = (rng.uniform(size=(batch, seq)) < 0.7).astype(np.float32)
        mask[:, 0] = 1
        return [_nd(step)[0], _nd(memory, mask)], {"data0": step[:, None, :], "data1": memory, "data2": mask}
    return one_step, make, {"data0": {0: "batch"}, "data1": {0: "batch", 1: "src"},
                            "data2": {0: "batch", 1: "src"}}


def build(family, size="small", seed=0):
    """The :class:`Case` of ``family`` (one of :data:`FAMILIES`) at ``size`` small or base."""
    if family not in FAMILIES:
        raise ValueError(f"unknown NLP family {family!r}; choose from {', '.join(FAMILIES)}")
    if size not in ("small", "base"):
        raise ValueError(f"size must be 'small' or 'base', not {size!r}")
    maker = _bert_like if family in ("bert", "roberta", "distilbert") else \
        _language_model if family.endswith("lstm") else _transformer
    vocab = BASE_VOCAB.get(family, VOCAB) if size == "base" else VOCAB
    net, make, axes = maker(family, size, vocab)
    return Case(family, _init(net, make, seed), make, axes)
