#!/usr/bin/env python
"""Write test-split digits as PNG files for inference demos (the true label is in each name).

  python tools/digits_png.py --out artifacts/digits --count 10
  python tools/infer.py artifacts/lenet_bn artifacts/digits

Images are resized to --size exactly as in training (before normalisation); none of them
was seen in training (they come from the fixed test split of hybridzoo.data.digits_split).
"""
from hybridzoo_tools import _cli  # first: keeps this folder and its export.py off sys.path

import hybridzoo  # noqa: F401  (sets MXNet's threads before hybridzoo.data imports it)
from hybridzoo import data


def main(argv=None):
    parser = _cli.parser_from_doc(__doc__)
    parser.add_argument("--out", default="artifacts/digits", help="folder for the PNG files")
    parser.add_argument("--count", type=int, default=10, help="how many test digits (max 360)")
    parser.add_argument("--size", type=int, default=28, help="side in pixels (the model's input size)")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 360 or args.size < 1:
        parser.error("--count must be 1..360 and --size positive")
    for path in data.write_digits_png(args.out, args.count, args.size):
        print(path)


if __name__ == "__main__":
    main()
