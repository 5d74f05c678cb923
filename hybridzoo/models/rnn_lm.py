"""D2L's recurrent language model (ch. 8.6 / 9.1-9.2): one-hot tokens -> RNN, GRU or LSTM -> Dense.

``forward(tokens, *begin_state)``: ``tokens`` (batch, steps) are ids below ``classes`` (the
vocabulary size; int or float), the begin state is an input, ``(layers, batch, hiddens)``
(the LSTM takes ``h`` and ``c``). It returns the next-token scores (batch, steps, classes) and
the final state(s), which feed the next call (D2L's sequential partitioning, or generating
one token at a time). D2L returns the scores time-major and flattened, (steps * batch, classes);
ours keep the batch first. Any batch and number of steps (exported dynamic).
Trained on the Python documentation bundled with Python: :mod:`hybridzoo.sequence_train`.
"""
import numpy as np
from mxnet.gluon import nn, rnn

from ..config import multi_input
from ..registry import register_model
from ..specs import TensorSpec
from ._common import ZooNet

# cell -> (Gluon layer, number of state tensors)
CELLS = {"rnn": (rnn.RNN, 1), "gru": (rnn.GRU, 1), "lstm": (rnn.LSTM, 2)}


class RNNModel(ZooNet):
    """``rnn``: the recurrent layer over one-hot tokens (time-major inside); ``output``: Dense
    applied at every step. ``begin_state(batch)`` gives zeros for the first call."""

    def __init__(self, cell="gru", classes=28, num_hiddens=256, num_layers=1, **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}: choose one of {', '.join(CELLS)}")
        layer, self.num_states = CELLS[cell]
        self.vocab_size, self.num_hiddens, self.num_layers = classes, num_hiddens, num_layers
        with self.name_scope():
            # one-hot as rows of an identity constant (Embedding): unlike one_hot, whose dtype
            # attribute the exported symbol would pin to float32, it follows the net's cast
            self.one_hot = self.params.get_constant("one_hot", np.eye(classes, dtype=np.float32))
            self.rnn = layer(num_hiddens, num_layers, input_size=classes, prefix="rnn_")
            self.output = nn.Dense(classes, flatten=False, in_units=num_hiddens, prefix="output_")

    def hybrid_forward(self, F, tokens, *state, one_hot):
        x = F.Embedding(F.transpose(tokens), one_hot, input_dim=self.vocab_size,
                        output_dim=self.vocab_size)                # one-hot (steps, batch, vocab)
        y, state = self.rnn(x, list(state))
        scores = F.transpose(self.output(y), axes=(1, 0, 2))     # (batch, steps, vocab)
        return (scores, *state)

    def begin_state(self, batch_size, **kwargs):
        return self.rnn.begin_state(batch_size, **kwargs)


# D2L's character vocabulary (a-z, space, <unk>), 35 steps, 256 hidden units, one layer.
STEPS, HIDDENS, VOCAB = 35, 256, 28


def lm_config(states):
    state = lambda name: TensorSpec(name, ("num_layers", "num_hiddens"), batch_axis=1)
    names = ("state",) if states == 1 else ("state_h", "state_c")
    tokens = TensorSpec("tokens", ("seq",), "int32", values="index", low=0, high="classes")
    # D2L ch. 8.6 trains with SGD, lr 1, batch 32, gradient clipping at 1, 500 epochs.
    return multi_input(
        inputs=[tokens] + [state(n) for n in names],
        outputs=[TensorSpec("scores", ("seq", "classes"))] + [state(n) for n in names],
        dims={"seq": STEPS, "num_hiddens": HIDDENS, "num_layers": 1}, dataset="python_docs",
        classes=VOCAB, task="language_model", lr=1.0, batch_size=32, epochs=500)


def _lm(name, cell, **kwargs):
    kwargs.setdefault("prefix", f"{name}_")
    return RNNModel(cell, **kwargs)


@register_model(config=lm_config(1))
def rnn_lm(**kwargs):
    """RNN (tanh) language model: ``forward(tokens, state)``."""
    return _lm("rnn_lm", "rnn", **kwargs)


@register_model(config=lm_config(1))
def gru_lm(**kwargs):
    """GRU language model: ``forward(tokens, state)``."""
    return _lm("gru_lm", "gru", **kwargs)


@register_model(config=lm_config(2))
def lstm_lm(**kwargs):
    """LSTM language model: ``forward(tokens, state_h, state_c)``."""
    return _lm("lstm_lm", "lstm", **kwargs)
