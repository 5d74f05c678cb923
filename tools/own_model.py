"""tools/export.py for your own model: a Module/HybridBlock.export checkpoint or a fine-tuned
GluonCV/GluonNLP net, its inputs and preprocessing, exported by ``export.export_checkpoint``.

  python tools/export.py --checkpoint model --input data:1x3x224x224 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225
  python tools/export.py --symbol net-symbol.json --params net-0007.params --input ids:1x128:int32
  python tools/export.py --gluoncv ssd_512_mobilenet1.0_voc --params ssd_finetuned.params
"""
import os

from hybridzoo_tools import _cli

SOURCES = ("checkpoint", "symbol", "gluoncv", "gluonnlp")
PREPROCESS = ("mean", "std", "scale", "resize", "layout")


def add_arguments(parser):
    """The flags of your own model, as one argument group of ``parser``."""
    own = parser.add_argument_group("your own model (instead of --model; see README \"Your own model\")")
    own.add_argument("--checkpoint", metavar="PREFIX", help="PREFIX-symbol.json + PREFIX-NNNN.params "
                     "(Module.save_checkpoint, HybridBlock.export)")
    own.add_argument("--epoch", metavar="N", type=int, help="the checkpoint's epoch (default: the newest)")
    own.add_argument("--symbol", metavar="FILE", help="a -symbol.json file; its weights: --params FILE")
    own.add_argument("--gluoncv", metavar="NAME", help="a GluonCV net (e.g. ssd_512_mobilenet1.0_voc) built "
                     "offline; its fine-tuned weights: --params FILE")
    own.add_argument("--gluonnlp", metavar="NAME", help="a GluonNLP net (e.g. bert_12_768_12; a BERT classifier "
                     "when --params holds one); its fine-tuned weights: --params FILE")
    own.add_argument("--net-kwargs", metavar="K=V,...", help="GluonCV/GluonNLP get_model keyword arguments, "
                     "e.g. num_layers=2,units=32 for a smaller BERT than the name's")
    own.add_argument("--input", metavar="NAME:SHAPE[:DTYPE]", action="append",
                     help="an input, batch first (repeatable): data:1x3x224x224, valid_length:1:int32 "
                          "(default: the shapes recorded with the symbol)")
    own.add_argument("--name", metavar="NAME", help="the artifact folder's name (default: the prefix's basename)")
    own.add_argument("--mean", metavar="M,M,M", help="per-channel mean subtracted after --scale")
    own.add_argument("--std", metavar="S,S,S", help="per-channel std divided by after the mean")
    own.add_argument("--scale", metavar="X", type=float, help="pixel multiplier (default 1/255: [0, 1])")
    own.add_argument("--resize", metavar="N", type=int, help="shorter side before a centre crop (default: "
                     "a straight resize to the input size)")
    own.add_argument("--layout", choices=("NCHW", "NHWC"), help="image input layout: NCHW (default; what MXNet's "
                     "convolutions take) or NHWC (channels last)")
    own.add_argument("--labels", metavar="FILE", help="class names, one a line")


def check_arguments(parser, args):
    """Usage errors of the flags above; sets ``args.source`` (None: a zoo model, else the flag
    naming your own model) and parses ``--input`` into specs. Returns ``args``."""
    from export.checkpoint import parse_input

    given = [s for s in SOURCES if getattr(args, s)]
    args.source = given[0] if given else None
    if len(given) > 1:
        parser.error(f"give one of --{', --'.join(SOURCES)}, not {' and '.join('--' + s for s in given)}")
    own_only = [f for f in ("epoch", "input", "name", "net_kwargs", *PREPROCESS, "labels") if getattr(args, f) is not None]
    if not args.source:
        if own_only:
            parser.error(f"--{own_only[0].replace('_', '-')} is an option of --checkpoint, --symbol, --gluoncv "
                         "or --gluonnlp; add one")
        return args
    if args.model or args.all:
        parser.error(f"give --model/--all or --{args.source}, not both")
    if args.source != "checkpoint" and not args.params:
        parser.error(f"--{args.source} needs --params FILE: the weights")
    if args.source == "checkpoint" and args.params:
        parser.error("--checkpoint reads PREFIX-NNNN.params; for another file use --symbol FILE --params FILE")
    if args.epoch is not None and args.source != "checkpoint":
        parser.error("--epoch is an option of --checkpoint")
    if args.net_kwargs and args.source not in ("gluoncv", "gluonnlp"):
        parser.error("--net-kwargs is an option of --gluoncv and --gluonnlp")
    if args.quantize and not args.calib:
        parser.error("--quantize int8 of your own model needs --calib DIR: a few hundred of its input images or "
                     ".npy arrays")
    try:
        if args.source in ("gluoncv", "gluonnlp"):
            from hybridzoo_tools.gluon_nets import check_name
            check_name(args.source, getattr(args, args.source))
        args.input = [parse_input(text) for text in args.input or ()]
        args.mean, args.std = (_floats(flag, getattr(args, flag)) for flag in ("mean", "std"))
        args.net_kwargs = _kwargs(args.net_kwargs)
    except ValueError as err:  # export's InvalidInputError too
        parser.error(str(err))
    if args.resize is not None and args.resize < 1 or args.scale is not None and args.scale <= 0:
        parser.error("--resize and --scale take positive numbers")
    default = args.checkpoint or args.symbol or args.gluoncv or args.gluonnlp
    args.name = args.name or os.path.basename(default).replace("-symbol.json", "").replace(".json", "")
    return args


def _floats(flag, text):
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--{flag} takes comma-separated numbers, e.g. 0.485,0.456,0.406; got {text!r}") from None


def _kwargs(text):
    """``"num_layers=2,units=32,dropout=0.1"`` -> ``{"num_layers": 2, "units": 32, "dropout": 0.1}``."""
    import ast

    found = {}
    for item in text.split(",") if text else ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--net-kwargs takes KEY=VALUE,..., e.g. num_layers=2,units=32; got {text!r}")
        try:
            found[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            found[key.strip()] = value.strip()
    return found


def load(args, ctx):
    """The :class:`export.checkpoint.model.Checkpoint` the flags describe, and the line saying what it is."""
    from export.checkpoint import load_checkpoint

    preprocess = {k: getattr(args, k) for k in PREPROCESS}
    labels = read_labels(args.labels) if args.labels else None
    if args.source in ("checkpoint", "symbol"):
        source = args.checkpoint or args.symbol
        checkpoint = load_checkpoint(source, args.params, args.input, args.name, args.epoch, preprocess, labels)
        return checkpoint, f"checkpoint {checkpoint.files.get('params')}"
    from hybridzoo_tools import gluon_nets
    build = gluon_nets.gluoncv_net if args.source == "gluoncv" else gluon_nets.gluonnlp_net
    net, defaults = build(getattr(args, args.source), args.params, labels, args.net_kwargs, ctx)
    preprocess = {**defaults.get("preprocess", {}), **{k: v for k, v in preprocess.items() if v is not None}}
    checkpoint = load_checkpoint(net, inputs=args.input or defaults["inputs"], name=args.name, preprocess=preprocess,
                                 labels=labels or defaults.get("labels"), task=defaults.get("task"))
    checkpoint.weights.update(source=args.params)
    return checkpoint, f"{args.source} {getattr(args, args.source)} with {args.params}"


def export_warnings(caught):
    """The exporter's own warnings among ``caught`` (a dropped label input...), one line each."""
    import export
    home = os.path.dirname(os.path.abspath(export.__file__))
    return [_cli.one_line(w.message) for w in caught or () if os.path.abspath(w.filename).startswith(home)]


def read_labels(path):
    """Class names, one a line (blank lines skipped)."""
    with open(path, encoding="utf-8") as f:
        labels = [line.strip() for line in f if line.strip()]
    if not labels:
        raise ValueError(f"--labels {path}: the file has no class names; write one a line")
    return labels
