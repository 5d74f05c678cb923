"""D2L's sequence models in numpy mode (its chapters 9.6, 11.3-11.7): the RNN language model
and a Transformer encoder block whose attention masks keys with ``npx.sequence_mask``.
Part of :mod:`hybridzoo_tools.numpy_nets`.
"""
import math

from mxnet.gluon import nn


class RNNModel(nn.HybridBlock):
    """D2L's RNN language model: one-hot tokens (``inputs.T``) -> RNN/GRU/LSTM -> Dense."""

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super().__init__(**kwargs)
        self.rnn, self.vocab_size = rnn_layer, vocab_size
        self.dense = nn.Dense(vocab_size, flatten=False)

    def hybrid_forward(self, F, inputs, *state):
        X = F.npx.one_hot(inputs.T, self.vocab_size)
        Y, state = self.rnn(X, list(state))
        output = self.dense(F.npx.reshape(Y, (-5, -2)))  # (T * N, hidden)
        return (output,) + tuple(state)


def masked_softmax(F, X, valid_lens):
    """Softmax over the last axis with keys at or beyond ``valid_lens`` given -1e6 (D2L 11.3),
    masked with ``npx.sequence_mask`` along the key axis."""
    keys_first = F.np.swapaxes(X, 1, 2)  # (B, keys, queries)
    masked = F.npx.sequence_mask(keys_first, valid_lens, use_sequence_length=True, value=-1e6, axis=1)
    return F.npx.softmax(F.np.swapaxes(masked, 1, 2), axis=-1)


class MultiHeadAttention(nn.HybridBlock):
    def __init__(self, num_hiddens, num_heads, dropout, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.head_dim = num_heads, num_hiddens // num_heads
        self.W_q, self.W_k, self.W_v, self.W_o = (nn.Dense(num_hiddens, use_bias=False, flatten=False)
                                                  for _ in range(4))
        self.dropout = nn.Dropout(dropout)

    def _split(self, F, X):  # (N, T, d) -> (N * heads, T, d / heads)
        X = F.np.transpose(F.npx.reshape(X, (-2, -2, self.num_heads, -1)), (0, 2, 1, 3))
        return F.npx.reshape(X, (-5, -2, -2))

    def _merge(self, F, X):  # (N * heads, T, d / heads) -> (N, T, d)
        X = F.npx.reshape(X, (-6, -1, self.num_heads, -2, -2))
        return F.npx.reshape(F.np.transpose(X, (0, 2, 1, 3)), (-2, -2, -1))

    def hybrid_forward(self, F, queries, keys, values, valid_lens):
        q, k, v = (self._split(F, w(x))
                   for w, x in ((self.W_q, queries), (self.W_k, keys), (self.W_v, values)))
        valid_lens = F.np.repeat(valid_lens, self.num_heads, axis=0)
        scores = F.npx.batch_dot(q, k, transpose_b=True) / math.sqrt(self.head_dim)
        attention = self.dropout(masked_softmax(F, scores, valid_lens))
        return self.W_o(self._merge(F, F.npx.batch_dot(attention, v)))


class EncoderBlock(nn.HybridBlock):
    """D2L 11.7's Transformer encoder block: attention + AddNorm + position-wise FFN + AddNorm."""

    def __init__(self, num_hiddens, ffn_hiddens, num_heads, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.ln1, self.ln2 = nn.LayerNorm(), nn.LayerNorm()
        self.dense1 = nn.Dense(ffn_hiddens, flatten=False, activation="relu")
        self.dense2 = nn.Dense(num_hiddens, flatten=False)
        self.dropout = nn.Dropout(dropout)

    def hybrid_forward(self, F, X, valid_lens):
        Y = self.ln1(self.dropout(self.attention(X, X, X, valid_lens)) + X)
        return self.ln2(self.dropout(self.dense2(self.dense1(Y))) + Y)
