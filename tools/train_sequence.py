#!/usr/bin/env python
"""Train a sequence model on bundled data: the Transformer classifier on digits, the RNN/GRU/LSTM
language models on the Python documentation that ships with Python.

  python tools/train_sequence.py --model transformer_classifier              # digits as 8 rows of 8 pixels
  python tools/train_sequence.py --model gru_lm --epochs 20                  # perplexity on held-out text
  python tools/train_sequence.py --model lstm_lm --num-hiddens 128 --max-chars 100000

Writes --out (default runs/MODEL-DATASET): best.params + best.json, loaded by
hybridzoo.get_model(MODEL, pretrained=...) and tools/export.py --params. The library is
hybridzoo.sequence_train; image classifiers train with tools/train.py.
"""
import sys

from hybridzoo_tools import _cli  # first: keeps this folder off sys.path
import hybridzoo  # noqa: F401  (before mxnet: sets the OpenMP thread count)
from hybridzoo import sequence_train

LANGUAGE_MODELS = ("rnn_lm", "gru_lm", "lstm_lm")
MODELS = sequence_train.TRAINABLE


def parse_args(argv=None):
    parser = _cli.parser_from_doc(__doc__)
    parser.add_argument("--model", required=True, choices=MODELS)
    parser.add_argument("--out", help="run directory (default runs/MODEL-DATASET)")
    parser.add_argument("--epochs", type=int, help="default: 30 (classifier), 20 (language models)")
    parser.add_argument("--lr", type=float, help="default: Adam 0.003 (classifier), SGD 1.0 (language models)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    parser.add_argument("--num-hiddens", type=int, help="language models: hidden units (default 256)")
    parser.add_argument("--max-chars", type=int, help="language models: train on the first N characters only")
    args = parser.parse_args(argv)
    if args.model not in LANGUAGE_MODELS and (args.num_hiddens or args.max_chars):
        parser.error("--num-hiddens and --max-chars are options of the language models")
    return args


def main(argv=None):
    return _cli.run_main(run, parse_args(argv))


def run(args):
    common = dict(out=args.out, batch_size=args.batch_size, seed=args.seed, overwrite=args.overwrite)
    if args.model == "transformer_classifier":
        manifest = sequence_train.train_classifier(epochs=args.epochs or 30, lr=args.lr or 0.003, **common)
        print(f"best test accuracy {manifest['test_accuracy']:.4f} (epoch {manifest['epoch']})")
    else:
        extra = {"num_hiddens": args.num_hiddens} if args.num_hiddens else {}
        manifest = sequence_train.train_language_model(
            args.model, epochs=args.epochs or 20, lr=args.lr or 1.0, max_chars=args.max_chars, **common, **extra)
        print(f"best held-out perplexity {manifest['test_perplexity']:.3f} (epoch {manifest['epoch']}); "
              f"greedy sample: {manifest['sample']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
