"""D2L's small BERT (ch. 14.8): the encoder, the pooler and the next-sentence head.

``forward(tokens, segments, valid_length)``: token ids (batch, seq) below ``vocab_size``,
token types 0/1 (batch, seq) and each sequence's valid length (batch,); int or float. The
encoder adds token, segment and learned position embeddings (``max_len`` rows, sliced to the
run-time length) and runs Transformer encoder blocks (:mod:`.transformer`) whose attention
ignores padded positions. Outputs: the encoded sequence (batch, seq, num_hiddens), the pooler's
``tanh(Dense(first position))`` (batch, num_hiddens) and the next-sentence scores (batch, classes).
D2L's masked-LM head, which also takes the positions to predict, is left out.
Defaults are D2L's: 2 blocks of 128 units, 2 heads, FFN 256, its WikiText-2 vocabulary size.
No bundled corpus is large enough to pretrain it: it is exported untrained.
"""
from mxnet.gluon import nn

from ..config import multi_input
from ..registry import register_model
from ..specs import TensorSpec
from ._common import ZooNet
from .transformer import encoder_blocks


class BERTEncoder(ZooNet):
    """Embeddings (token + segment + position) then encoder blocks; ``forward(tokens, segments,
    valid_length)`` -> (batch, seq, num_hiddens)."""

    def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_layers, dropout,
                 max_len=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.token_embedding = nn.Embedding(vocab_size, num_hiddens, prefix="token_embedding_")
            self.segment_embedding = nn.Embedding(2, num_hiddens, prefix="segment_embedding_")
            self.pos_embedding = self.params.get("pos_embedding", shape=(1, max_len, num_hiddens))
            self.blocks = encoder_blocks(num_layers, num_hiddens, ffn_num_hiddens, num_heads,
                                         dropout, use_bias=True)

    def hybrid_forward(self, F, tokens, segments, valid_length, pos_embedding):
        x = self.token_embedding(tokens) + self.segment_embedding(segments)
        x = F.broadcast_add(x, F.slice_like(pos_embedding, x, axes=(1,)))
        for block in self.blocks:
            x = block(x, valid_length)
        return x


class BERTModel(ZooNet):
    """``encoder``; ``pooler``: Dense(num_hiddens, tanh) on the first position; ``output``:
    the next-sentence head, Dense(classes) on the pooled vector."""

    def __init__(self, vocab_size=20256, num_hiddens=128, ffn_num_hiddens=256, num_heads=2,
                 num_layers=2, dropout=0.2, max_len=1000, classes=2, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.encoder = BERTEncoder(vocab_size, num_hiddens, ffn_num_hiddens, num_heads,
                                       num_layers, dropout, max_len, prefix="encoder_")
            self.pooler = nn.Dense(num_hiddens, activation="tanh", in_units=num_hiddens, prefix="pooler_")
            self.output = nn.Dense(classes, in_units=num_hiddens, prefix="output_")

    def hybrid_forward(self, F, tokens, segments, valid_length):
        encoded = self.encoder(tokens, segments, valid_length)
        pooled = self.pooler(F.slice_axis(encoded, axis=1, begin=0, end=1))  # Dense flattens (N, 1, H)
        return encoded, pooled, self.output(pooled)


_TOKENS = dict(dtype="int32", values="index", low=0)
_BERT = multi_input(
    inputs=[TensorSpec("tokens", ("seq",), high="vocab_size", **_TOKENS),
            TensorSpec("segments", ("seq",), high=2, **_TOKENS),
            TensorSpec("valid_length", (), "int32", values="length", low=1, high="seq")],
    outputs=[TensorSpec("sequence", ("seq", "num_hiddens")), TensorSpec("pooled", ("num_hiddens",)),
             TensorSpec("scores", ("classes",))],
    dims={"seq": 64, "vocab_size": 20256, "num_hiddens": 128}, dataset="wikitext2", classes=2,
    task="next_sentence", lr=0.01, batch_size=512, epochs=50)  # D2L: Adam 0.01, 50 steps


@register_model(config=_BERT)
def bert_small(**kwargs):
    """D2L's small BERT; ``forward(tokens, segments, valid_length)`` -> (sequence, pooled, scores)."""
    kwargs.setdefault("prefix", "bert_small_")
    return BERTModel(**kwargs)
