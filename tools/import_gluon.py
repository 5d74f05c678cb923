#!/usr/bin/env python
"""Turn parameters saved from a Gluon or GluonCV model-zoo net into a hybridzoo checkpoint.

  python tools/import_gluon.py --model resnet50_v1 their.params
  python tools/import_gluon.py --model mobilenet_v2_1_0_gluoncv tuned.params --out runs/mnv2
  python tools/export.py --model resnet50_v1 --params runs/resnet50_v1-gluon/best.params

The hybridzoo name picks the architecture (hybridzoo.gluon_weights.GLUON_SOURCES lists which
Gluon net each loads from); classes and input channels come from the file. Writes
OUT/best.params + best.json (default OUT: runs/MODEL-gluon), which get_model(MODEL,
pretrained=OUT) and tools/export.py --params load.
"""
import os
import sys

import hybridzoo

from hybridzoo_tools import _cli  # first: keeps this folder and its export.py off sys.path
from hybridzoo import gluon_weights


def parse_args(argv=None):
    parser = _cli.parser_from_doc(__doc__)
    parser.add_argument("--model", required=True, help="hybridzoo name, e.g. resnet50_v1")
    parser.add_argument("params", help="the .params file saved from the Gluon net")
    parser.add_argument("--out", help="checkpoint folder (default runs/MODEL-gluon)")
    args = parser.parse_args(argv)
    if args.model not in gluon_weights.GLUON_SOURCES:
        parser.error(f"{args.model!r} has no Gluon counterpart; choose from "
                     f"{', '.join(sorted(gluon_weights.GLUON_SOURCES))}")
    return args


def main(argv=None):
    args = parse_args(argv)
    out = args.out or os.path.join("runs", f"{args.model}-gluon")
    params = os.path.join(out, "best.params")
    try:
        manifest = gluon_weights.convert(args.model, args.params, params)
    except (OSError, ValueError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args.model}: {manifest['source']} parameters ({manifest['classes']} classes, input "
          f"{'x'.join(map(str, manifest['input_shape']))}) -> {params}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
