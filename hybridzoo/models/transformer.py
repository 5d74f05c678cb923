"""D2L's Transformer encoder (ch. 10.5-10.7) and a classifier on top of it.

Multi-head attention splits queries, keys and values into ``num_heads`` heads of
``num_hiddens / num_heads`` units, scores them with scaled dot products and masks every key
position at or beyond the sequence's valid length: MXNet's ``softmax(..., use_length=True)``
leaves those out and gives them weight 0 (D2L fills them with -1e6 first, the same result).
An encoder block is attention and a position-wise feed-forward net, each followed by
dropout, the residual addition and LayerNorm. Positions are encoded with D2L's sines and
cosines, a constant of ``max_len`` rows sliced to the run-time length, so any length up to
``max_len`` runs through one exported graph.

:class:`TransformerClassifier` reads a sequence of feature vectors (scikit-learn's digits as
8 rows of 8 pixels), projects them to ``num_hiddens``, encodes them and averages the valid
positions before the output layer; ``forward(x, valid_length)``.
"""
import numpy as np
from mxnet.gluon import HybridBlock, nn

from ..config import multi_input
from ..registry import register_model
from ..specs import TensorSpec
from ._common import ZooNet


def masked_softmax(F, scores, valid_lens):
    """Softmax over the last axis of ``scores`` (B, Tq, Tk) with keys at or beyond
    ``valid_lens`` (B,) masked out (weight 0); lengths may be int or float."""
    lengths = F.broadcast_like(F.reshape(valid_lens, shape=(-1, 1)), scores, lhs_axes=(1,), rhs_axes=(1,))
    return F.softmax(scores, F.cast(lengths, "int32"), axis=-1, use_length=True)


class MultiHeadAttention(HybridBlock):
    """D2L's multi-head attention: ``forward(queries, keys, values, valid_lens)``, (N, T, units)."""

    def __init__(self, num_hiddens, num_heads, dropout, in_units, use_bias=False, **kwargs):
        super().__init__(**kwargs)
        if num_hiddens % num_heads:
            raise ValueError(f"num_hiddens={num_hiddens} must be a multiple of num_heads={num_heads}")
        self.num_heads, self.head_dim = num_heads, num_hiddens // num_heads
        with self.name_scope():
            dense = lambda name, units: nn.Dense(num_hiddens, use_bias=use_bias, flatten=False,
                                                 in_units=units, prefix=f"{name}_")
            self.W_q, self.W_k, self.W_v = (dense(n, in_units) for n in ("q", "k", "v"))
            self.W_o = dense("o", num_hiddens)
            self.dropout = nn.Dropout(dropout)

    def _split_heads(self, F, x):
        """(N, T, heads * d) -> (N * heads, T, d)."""
        x = F.transpose(F.reshape(x, shape=(0, 0, self.num_heads, -1)), axes=(0, 2, 1, 3))
        return F.reshape(x, shape=(-3, 0, 0))

    def hybrid_forward(self, F, queries, keys, values, valid_lens):
        q, k, v = (self._split_heads(F, w(x)) for w, x in
                   ((self.W_q, queries), (self.W_k, keys), (self.W_v, values)))
        scores = F.batch_dot(q, k, transpose_b=True) / float(np.sqrt(self.head_dim))
        weights = masked_softmax(F, scores, F.repeat(valid_lens, repeats=self.num_heads, axis=0))
        context = F.batch_dot(self.dropout(weights), v)            # (N * heads, Tq, d)
        context = F.reshape(context, shape=(-4, -1, self.num_heads, 0, 0))
        return self.W_o(F.reshape(F.transpose(context, axes=(0, 2, 1, 3)), shape=(0, 0, -3)))


class AddNorm(HybridBlock):
    """``LayerNorm(dropout(y) + x)``."""

    def __init__(self, num_hiddens, dropout, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.dropout = nn.Dropout(dropout)
            self.ln = nn.LayerNorm(in_channels=num_hiddens)

    def hybrid_forward(self, F, x, y):
        return self.ln(self.dropout(y) + x)


class EncoderBlock(HybridBlock):
    """Self-attention, then the position-wise feed-forward net, each with AddNorm."""

    def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout, use_bias=False, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout, num_hiddens,
                                                use_bias, prefix="attention_")
            self.addnorm1 = AddNorm(num_hiddens, dropout, prefix="addnorm1_")
            self.ffn = nn.HybridSequential(prefix="ffn_")
            with self.ffn.name_scope():
                self.ffn.add(nn.Dense(ffn_num_hiddens, activation="relu", flatten=False, in_units=num_hiddens),
                             nn.Dense(num_hiddens, flatten=False, in_units=ffn_num_hiddens))
            self.addnorm2 = AddNorm(num_hiddens, dropout, prefix="addnorm2_")

    def hybrid_forward(self, F, x, valid_lens):
        y = self.addnorm1(x, self.attention(x, x, x, valid_lens))
        return self.addnorm2(y, self.ffn(y))


def sinusoid_table(max_len, num_hiddens):
    """D2L's positional encoding P (1, max_len, num_hiddens): sin on even, cos on odd columns."""
    table = np.zeros((1, max_len, num_hiddens), np.float32)
    angles = np.arange(max_len)[:, None] / np.power(10000, np.arange(0, num_hiddens, 2) / num_hiddens)
    table[0, :, 0::2] = np.sin(angles)
    table[0, :, 1::2] = np.cos(angles[:, :num_hiddens // 2])
    return table


class PositionalEncoding(HybridBlock):
    """``dropout(x + P[:, :T])`` with the sinusoid table as a constant."""

    def __init__(self, num_hiddens, dropout, max_len=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.table = self.params.get_constant("table", sinusoid_table(max_len, num_hiddens))
            self.dropout = nn.Dropout(dropout)

    def hybrid_forward(self, F, x, table):
        return self.dropout(F.broadcast_add(x, F.slice_like(table, x, axes=(1,))))


def encoder_blocks(count, *args, **kwargs):
    blocks = nn.HybridSequential(prefix="blocks_")
    with blocks.name_scope():
        for i in range(count):
            blocks.add(EncoderBlock(*args, prefix=f"block{i}_", **kwargs))
    return blocks


class TransformerClassifier(ZooNet):
    """``embedding``: Dense projection of each position's features; ``pos_encoding``;
    ``blocks``: encoder blocks; the valid positions' mean; ``output``: Dense(classes)."""

    def __init__(self, classes=10, features=8, num_hiddens=32, ffn_num_hiddens=64, num_heads=4,
                 num_layers=2, dropout=0.1, max_len=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.embedding = nn.Dense(num_hiddens, flatten=False, in_units=features, prefix="embedding_")
            self.pos_encoding = PositionalEncoding(num_hiddens, dropout, max_len, prefix="pos_encoding_")
            self.blocks = encoder_blocks(num_layers, num_hiddens, ffn_num_hiddens, num_heads, dropout)
            self.output = nn.Dense(classes, in_units=num_hiddens, prefix="output_")

    def hybrid_forward(self, F, x, valid_length):
        x = self.pos_encoding(self.embedding(x))
        for block in self.blocks:
            x = block(x, valid_length)
        # mean over valid positions; the count is summed from the same mask, in x's dtype
        mask = lambda t: F.SequenceMask(t, valid_length, use_sequence_length=True, axis=1)
        pooled = F.broadcast_div(F.sum(mask(x), axis=1), F.sum(mask(F.ones_like(x)), axis=1))
        return self.output(pooled)


# Digits as 8 rows of 8 pixels scaled to [0, 1]; all 8 rows valid. Trained with Adam
# (hybridzoo.sequence_train; the recipe below is what reached the recorded accuracy).
_DIGITS_ROWS = multi_input(
    inputs=[TensorSpec("rows", ("seq", "features"), low=0.0, high=1.0),
            TensorSpec("valid_length", (), "int32", values="length", low=1, high="seq")],
    outputs=[TensorSpec("scores", ("classes",))], dims={"seq": 8, "features": 8},
    dataset="digits", classes=10, lr=0.003, batch_size=32, epochs=30)


@register_model(config=_DIGITS_ROWS)
def transformer_classifier(**kwargs):
    """Transformer encoder classifier: 2 blocks of 32 units, 4 heads; ``forward(rows, valid_length)``."""
    kwargs.setdefault("prefix", "transformer_classifier_")
    return TransformerClassifier(**kwargs)
