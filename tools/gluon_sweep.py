#!/usr/bin/env python
"""Export GluonCV models nobody here wrote and check ONNX Runtime against MXNet.

  python tools/gluon_sweep.py                          # every family, reduced input sizes
  python tools/gluon_sweep.py --family classification --model 'resnest*' --size 224
  python tools/gluon_sweep.py --list                   # the model names per family

The lists are the classification, segmentation, pose and action-recognition models of MXNet
1.9.1's own ONNX test-suite (tests/python-pytest/onnx/test_onnxruntime_cv.py). Each model runs in
its own process (memory is released between models), built offline with random weights
(``pretrained=False``): He init and randomized, calibrated BatchNorm statistics, so outputs
depend on the input (checked). Exported with a dynamic batch, compared at batch 1 and 2.
Where MXNet's own float32 output is far from its float64 output (deep nets amplify rounding),
ONNX Runtime is judged against the float64 output instead, with MXNet's own float32 error as
the yardstick. Prints one line per model and a summary; exit status 1 when any model fails.
"""
import contextlib
import fnmatch
import json
import os
import sys
import tempfile
import time

from hybridzoo_tools import _cli  # first: keeps this folder and its export.py off sys.path

# The lists of MXNet 1.9.1's tests/python-pytest/onnx/test_onnxruntime_cv.py (detection is
# swept with the detectors' own tool).
CLASSIFICATION = [
    "alexnet", "cifar_resnet20_v1", "cifar_resnet56_v1", "cifar_resnet110_v1", "cifar_resnet20_v2",
    "cifar_resnet56_v2", "cifar_resnet110_v2", "cifar_wideresnet16_10", "cifar_wideresnet28_10",
    "cifar_wideresnet40_8", "cifar_resnext29_16x64d", "darknet53", "densenet121", "densenet161",
    "densenet169", "densenet201", "googlenet", "mobilenet1.0", "mobilenet0.75", "mobilenet0.5",
    "mobilenet0.25", "mobilenetv2_1.0", "mobilenetv2_0.75", "mobilenetv2_0.5", "mobilenetv2_0.25",
    "mobilenetv3_large", "mobilenetv3_small", "resnest14", "resnest26", "resnest50", "resnest101",
    "resnest200", "resnest269", "resnet18_v1", "resnet18_v1b_0.89", "resnet18_v2", "resnet34_v1",
    "resnet34_v2", "resnet50_v1", "resnet50_v1d_0.86", "resnet50_v1d_0.48", "resnet50_v1d_0.37",
    "resnet50_v1d_0.11", "resnet50_v2", "resnet101_v1", "resnet101_v1d_0.76", "resnet101_v1d_0.73",
    "resnet101_v2", "resnet152_v1", "resnet152_v2", "resnext50_32x4d", "resnext101_32x4d",
    "resnext101_64x4d", "senet_154", "se_resnext101_32x4d", "se_resnext101_64x4d",
    "se_resnext50_32x4d", "squeezenet1.0", "squeezenet1.1", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn",
    "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "xception", "inceptionv3",
]
SEGMENTATION = [
    "fcn_resnet50_ade", "fcn_resnet101_ade", "deeplab_resnet50_ade", "deeplab_resnet101_ade",
    "deeplab_resnest50_ade", "deeplab_resnest101_ade", "deeplab_resnest269_ade", "fcn_resnet101_coco",
    "deeplab_resnet101_coco", "fcn_resnet101_voc", "deeplab_resnet101_voc", "deeplab_resnet152_voc",
    "deeplab_resnet50_citys", "deeplab_resnet101_citys", "deeplab_v3b_plus_wideresnet_citys",
]
POSE = [
    "simple_pose_resnet18_v1b", "simple_pose_resnet50_v1b", "simple_pose_resnet50_v1d",
    "simple_pose_resnet101_v1b", "simple_pose_resnet101_v1d", "simple_pose_resnet152_v1b",
    "simple_pose_resnet152_v1d", "alpha_pose_resnet101_v1b_coco", "mobile_pose_resnet18_v1b",
    "mobile_pose_resnet50_v1b", "mobile_pose_mobilenet1.0", "mobile_pose_mobilenetv2_1.0",
    "mobile_pose_mobilenetv3_large", "mobile_pose_mobilenetv3_small",
]
ACTION = [
    "inceptionv1_kinetics400", "resnet18_v1b_kinetics400", "resnet34_v1b_kinetics400",
    "resnet50_v1b_kinetics400", "resnet101_v1b_kinetics400", "resnet152_v1b_kinetics400",
    "resnet50_v1b_hmdb51", "resnet50_v1b_sthsthv2", "vgg16_ucf101", "inceptionv3_kinetics400",
    "inceptionv3_ucf101",
]
FAMILIES = {"classification": CLASSIFICATION, "segmentation": SEGMENTATION, "pose": POSE,
            "action": ACTION}

# Reduced input sizes we sweep at by default (every layer still runs), and the nets whose
# heads fix their input size (Dense layers sized for it, or a fixed upsampling size).
REDUCED_SIZE = {"classification": 64, "segmentation": 96, "pose": 128, "action": 64}
FIXED_SIZE = {"inceptionv3*": 299, "alexnet": 224, "vgg*": 224, "cifar_*": 32, "squeezenet*": 224,
              "densenet*": 224, "googlenet": 224, "inceptionv1*": 224}
# Segmentation heads built for one crop size (their pooling/upsampling sizes follow it).
CROP_SIZED = ("deeplab*", "psp*")
BATCHES = (1, 2)
RTOL = 1e-4


def input_shape(family, name, size=None):
    """``(1, 3, H, W)``: ``size`` if given, else the net's fixed size, else the family's reduced
    size; pose nets take 4:3 portrait inputs."""
    fixed = next((v for p, v in FIXED_SIZE.items() if fnmatch.fnmatchcase(name, p)), None)
    side = size or fixed or REDUCED_SIZE[family]
    return (1, 3, side, side * 3 // 4 if family == "pose" else side)


@contextlib.contextmanager
def _offline_factories():
    """Two GluonCV quirks that download: the action-recognition factories call
    ``collect_params().reset_ctx()`` on parameters not initialized yet, and
    ``ActionRecResNetV1b`` builds its base with ``pretrained=True`` whatever the factory got
    (its ``pretrained_base`` is not passed on). Skip the first, force the second off."""
    import mxnet as mx
    from gluoncv.model_zoo.action_recognition import actionrec_resnetv1b as action_resnet
    bases = {n: getattr(action_resnet, n) for n in dir(action_resnet)
             if n.startswith("resnet") and n.endswith("_v1b")}
    original = mx.gluon.ParameterDict.reset_ctx
    mx.gluon.ParameterDict.reset_ctx = lambda self, ctx: None
    for n, fn in bases.items():
        setattr(action_resnet, n, lambda *a, _fn=fn, **k: _fn(*a, **dict(k, pretrained=False)))
    try:
        yield
    finally:
        mx.gluon.ParameterDict.reset_ctx = original
        for n, fn in bases.items():
            setattr(action_resnet, n, fn)


def build(name, shape):
    """The GluonCV net, offline: no pretrained weights, no pretrained base (for the factories
    that take one: the others reject the argument, with a TypeError or a Warning)."""
    from gluoncv import model_zoo
    extra = {"crop_size": shape[2]} if any(fnmatch.fnmatchcase(name, p) for p in CROP_SIZED) else {}
    with _offline_factories():
        try:
            return model_zoo.get_model(name, pretrained=False, pretrained_base=False, **extra)
        except (TypeError, Warning) as err:
            if "pretrained_base" not in str(err) and "kwargs" not in str(err):
                raise
            return model_zoo.get_model(name, pretrained=False, **extra)


def initialize(net, shape, seed=0):
    """He (fan-in) weights, every BatchNorm randomized and calibrated on a seeded batch."""
    import mxnet as mx
    import numpy as np
    from hybridzoo.seeded import randomize_batchnorm
    mx.random.seed(seed)
    np.random.seed(seed)
    net.initialize(mx.init.MSRAPrelu(factor_type="in", slope=0.0), force_reinit=True)
    calibration = np.random.RandomState(seed).uniform(-1, 1, (4,) + shape[1:]).astype(np.float32)
    with mx.autograd.predict_mode():
        net(mx.nd.array(calibration))  # settle deferred shapes
    randomize_batchnorm(net, seed, calibration)
    return net


def _outputs(net, x, dtype="float32"):
    import mxnet as mx
    out = net(mx.nd.array(x, dtype=dtype))
    out = list(out) if isinstance(out, (list, tuple)) else [out]
    flat = []
    for o in out:
        flat.extend(o if isinstance(o, (list, tuple)) else [o])
    return [o.asnumpy().astype("float64") for o in flat]


def _reason(err):
    """The informative line of an error (MXNet's start with a C++ traceback)."""
    lines = [l.strip() for l in str(err).splitlines() if l.strip()]
    found = [l for l in lines if "Check failed" in l or "Error" in l]
    return (found or lines or [""])[0][:240]


def check(family, name, size=None):
    """Export and compare one model; returns ``{"status", "detail", ...}``."""
    import hybridzoo  # noqa: F401  (thread count before mxnet)
    import numpy as np
    import onnxruntime as ort

    from export import export_onnx

    shape = input_shape(family, name, size)
    start = time.perf_counter()
    try:
        net = initialize(build(name, shape), shape)
    except Exception as err:  # noqa: BLE001  (report the first line, go on with the next model)
        return {"status": "build", "detail": f"{type(err).__name__}: {_reason(err)}"}
    rng = np.random.RandomState(1)
    inputs = {b: rng.uniform(-1, 1, (b,) + shape[1:]).astype(np.float32) for b in BATCHES}
    net.hybridize()
    refs = {b: _outputs(net, x) for b, x in inputs.items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        t0 = time.perf_counter()
        try:
            export_onnx(net, path, input_shape=shape)
        except Exception as err:  # noqa: BLE001
            return {"status": "export", "detail": f"{type(err).__name__}: {_reason(err)}"}
        export_s = time.perf_counter() - t0
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        feed = session.get_inputs()[0].name
        gots = {b: [np.asarray(o, np.float64) for o in session.run(None, {feed: x})]
                for b, x in inputs.items()}
    spread = float(np.ptp(refs[2][0], axis=0).max())
    worst, tol = 0.0, 0.0
    for b in BATCHES:
        if [g.shape for g in gots[b]] != [r.shape for r in refs[b]]:
            return {"status": "shape", "detail": f"ONNX {[g.shape for g in gots[b]]} vs MXNet "
                                                 f"{[r.shape for r in refs[b]]}"}
        tol = max(tol, RTOL * max(1.0, max(float(np.abs(r).max()) for r in refs[b])))
        worst = max(worst, max(float(np.abs(g - r).max()) for g, r in zip(gots[b], refs[b])))
    result = {"max_error": worst, "tolerance": tol, "export_s": round(export_s, 2),
              "seconds": round(time.perf_counter() - start, 1), "shape": list(shape)}
    if spread <= tol:
        return dict(result, status="degenerate", detail=f"outputs barely depend on the input "
                                                        f"(spread {spread:.2e})")
    detail = f"max err {worst:.2e} (tol {tol:.1e}), export {export_s:.2f}s, input {shape}"
    if worst <= tol:
        return dict(result, status="pass", detail=detail)
    # Judge against float64 MXNet: ORT must be no further from it than MXNet's float32 is.
    try:
        net.cast("float64")
        exact = {b: _outputs(net, x.astype(np.float64), "float64") for b, x in inputs.items()}
    except Exception as err:  # noqa: BLE001
        return dict(result, status="mismatch", detail=detail + f"; no float64 reference ({err})")
    mx_err = max(float(np.abs(r - e).max()) for b in BATCHES for r, e in zip(refs[b], exact[b]))
    ort_err = max(float(np.abs(g - e).max()) for b in BATCHES for g, e in zip(gots[b], exact[b]))
    result.update(mxnet_f32_vs_f64=mx_err, onnx_vs_f64=ort_err)
    detail += f"; vs float64: MXNet f32 {mx_err:.2e}, ONNX {ort_err:.2e}"
    ok = ort_err <= max(tol, 2.0 * mx_err)
    return dict(result, status="pass" if ok else "mismatch", detail=detail)


def run_one(family, name, size, timeout):
    """Run one model in a child process of its own; returns its result dict."""
    start = time.perf_counter()
    result = _cli.run_isolated(check, family, name, size, timeout=timeout)
    result.setdefault("seconds", round(time.perf_counter() - start, 1))
    return result


def main(argv=None):
    parser = _cli.parser_from_doc(__doc__)
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES),
                        help="a family to run (repeatable; default all)")
    parser.add_argument("--model", action="append", help="name or wildcard (repeatable)")
    parser.add_argument("--size", type=int, help="input height/width (default: per family, reduced)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per model")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--list", action="store_true", help="print the model names and exit")
    args = parser.parse_args(argv)

    families = args.family or sorted(FAMILIES)
    todo = [(f, n) for f in families for n in FAMILIES[f]
            if not args.model or any(fnmatch.fnmatchcase(n, p) for p in args.model)]
    if args.list:
        for family, name in todo:
            print(f"{family:15s} {name}  {input_shape(family, name, args.size)}")
        return 0
    if not todo:
        parser.error("no model matches; see --list")
    results, failed = [], 0
    for family, name in todo:
        result = run_one(family, name, args.size, args.timeout)
        result.update(family=family, model=name)
        results.append(result)
        failed += result["status"] != "pass"
        print(f"{result['status']:8s} {family:15s} {name:34s} {result.get('detail', '')}", flush=True)
    print(f"\n{len(results) - failed}/{len(results)} pass")
    if args.json:
        with tempfile.NamedTemporaryFile("w", dir=os.path.dirname(os.path.abspath(args.json)),
                                         delete=False, suffix=".tmp") as f:
            json.dump(results, f, indent=1)
        os.replace(f.name, args.json)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
