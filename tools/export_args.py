"""tools/export.py's argument checks and its output folder: the precision flags, --dynamic-axes,
model selection, and an --out that is writable before minutes of work (and taken away again when
a failed run leaves it empty)."""
import os
import tempfile


def parse_dynamic_axes(parser, specs):
    """``["data:0=batch,2=height"]`` -> ``{"data": {0: "batch", 2: "height"}}`` (None: not given)."""
    if not specs:
        return None
    axes = {}
    for spec in specs:
        name, _, items = spec.partition(":")
        try:
            pairs = [item.split("=", 1) for item in items.split(",")]
            axes.setdefault(name.strip(), {}).update({int(a): d.strip() for a, d in pairs if d.strip()})
        except ValueError:
            parser.error(f"--dynamic-axes takes INPUT:AXIS=NAME[,AXIS=NAME...], got {spec!r}")
        if not name.strip() or not axes[name.strip()]:
            parser.error(f"--dynamic-axes takes INPUT:AXIS=NAME[,AXIS=NAME...], got {spec!r}")
    return axes


def check_precision_args(parser, args):
    """The precision flags: consistent, and --keep-fp32 as a tuple."""
    args.fp16 = args.precision == "fp16"
    if (args.quantize or args.fp16) and "onnx" not in args.format:
        parser.error("--quantize and --precision need the onnx format")
    given = [flag for flag in ("calib", "calib_method", "calib_samples", "keep_fp32", "quantize_method")
             if getattr(args, flag) is not None]
    if given and not args.quantize:
        parser.error(f"--{given[0].replace('_', '-')} is an option of --quantize int8; add it")
    if args.calib_samples is not None and args.calib_samples < 1:
        parser.error(f"--calib-samples takes a positive integer, got {args.calib_samples}")
    keep = [k.strip() for k in (args.keep_fp32 or "none").split(",") if k.strip()]
    args.keep_fp32 = () if keep == ["none"] else tuple(keep)
    made = ["fp32"] + (["int8"] if args.quantize else []) + (["fp16"] if args.fp16 else [])
    args.triton_precision = args.triton_precision or ("int8" if args.quantize else made[-1])
    if args.triton_precision not in made:
        parser.error(f"--triton-precision {args.triton_precision} is not exported by this run (add "
                     f"{'--quantize int8' if args.triton_precision == 'int8' else '--precision fp16'})")


def select_models(hybridzoo, args):
    """Names from --all / --model patterns; an unknown name raises with close matches."""
    if args.all:
        return hybridzoo.list_models()
    names = []
    for pattern in args.model:
        found = hybridzoo.list_models(pattern)
        if not found:
            hybridzoo.get_config(pattern)  # raises ValueError naming close matches
            found = [pattern]
        names.extend(n for n in found if n not in names)
    return names


def check_writable(folder):
    """Fail before any export when ``--out`` cannot hold files (not after minutes of work).

    Returns whether the folder was created here, so a failed run can take it away again.
    """
    created = not os.path.isdir(folder)
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ValueError(f"cannot write to --out {folder}: {err.strerror or err}; choose a writable folder") from None
    return created


def remove_if_empty(folder):
    """Undo ``check_writable``'s folder after a failed run that wrote nothing into it."""
    try:
        os.rmdir(folder)  # only ever removes an empty folder
    except OSError:
        pass
