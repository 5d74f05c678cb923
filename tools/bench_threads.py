#!/usr/bin/env python
"""Measure MXNet's OpenMP wait policy (and ONNX Runtime's spinning threads), idle and under load.

  python tools/bench_threads.py                      # 3 rounds; load = one busy process per core
  python tools/bench_threads.py --rounds 5 --load 4

Every figure comes from a fresh process, since OpenMP reads OMP_WAIT_POLICY when libmxnet
loads: training = one epoch of lenet_bn on digits (45 steps of 32, after a warm-up), MXNet
inference = hybridized resnet18 (1x96x96) at batch 1 and 32, ONNX Runtime = the same net at
batch 1 with its spinning thread pool on (the default) and off. Settings run interleaved (order
rotated each round), idle and then loaded in each round; the table shows the median over rounds
and loaded / idle. All use every core (OMP_NUM_THREADS and ORT intra-op threads alike).
"""
import argparse
import json
import os
import subprocess
import sys
import time

from hybridzoo_tools import _cli  # first: keeps this folder and its export.py off sys.path

POLICIES = ("default", "ACTIVE", "PASSIVE")  # default: OMP_WAIT_POLICY unset (libgomp's own)


def parse_args(argv=None):
    parser = _cli.parser_from_doc(__doc__, epilog_title="examples")
    parser.add_argument("--rounds", metavar="N", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--load", metavar="N", type=int, help="busy processes while loaded (default: one per core)")
    parser.add_argument("--worker", choices=("mxnet", "ort"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or (args.load is not None and args.load < 1):
        parser.error("--rounds and --load must be positive")
    return args


def _median_ms(fn, calls):
    import numpy as np
    fn()  # warm-up
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def worker_mxnet():
    """Training epoch seconds and hybridized resnet18 latencies under this process's policy."""
    import hybridzoo  # noqa: F401  (threads before MXNet)
    import mxnet as mx
    import numpy as np
    from hybridzoo import data, train
    from hybridzoo.seeded import init_model

    net = train.build_net("lenet_bn", ctx=mx.cpu())
    loader, _ = data.image_loaders("digits", net.zoo_config, batch_size=32)
    trainer = train.make_trainer(net, train.Recipe(lr=0.3, batch_size=32, epochs=1), "device")
    train.train_epoch(net, list(loader)[:5], trainer, mx.cpu(), progress=False)  # warm-up
    start = time.perf_counter()
    train.train_epoch(net, loader, trainer, mx.cpu(), progress=False)
    result = {"training: lenet_bn epoch (s)": time.perf_counter() - start}
    resnet = init_model(hybridzoo.get_model("resnet18"), 0, ctx=mx.cpu())
    resnet.hybridize(static_alloc=True, static_shape=True)
    for batch, calls in ((1, 30), (32, 5)):
        x = mx.nd.array(np.random.default_rng(0).standard_normal((batch, 1, 96, 96)).astype(np.float32))
        result[f"MXNet resnet18 b{batch} (ms)"] = _median_ms(lambda: resnet(x).wait_to_read(), calls)
    return result


def worker_ort():
    """resnet18 batch-1 latency in ONNX Runtime with its spinning thread pool on and off."""
    import tempfile

    import hybridzoo  # noqa: F401
    import mxnet as mx
    import numpy as np
    import onnxruntime as ort

    import export
    from export.deploy.runtime import session_options
    from hybridzoo.seeded import init_model

    with tempfile.TemporaryDirectory() as tmp:
        path = export.export_onnx(init_model(hybridzoo.get_model("resnet18"), 0, ctx=mx.cpu()),
                                  os.path.join(tmp, "r18.onnx"))
        x = np.random.default_rng(0).standard_normal((1, 1, 96, 96)).astype(np.float32)
        result = {}
        for spinning in ("1", "0"):
            options = session_options(os.cpu_count())
            options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            result[f"ORT resnet18 b1 (ms)|spinning {'on' if spinning == '1' else 'off'}"] = _median_ms(
                lambda: session.run(None, {name: x}), 50)
    return result


def run_worker(kind, policy, cores):
    env = dict(os.environ, OMP_NUM_THREADS=str(cores))
    env.pop("OMP_WAIT_POLICY", None)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", kind], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(args):
    import numpy as np

    cores = len(os.sched_getaffinity(0))
    load = args.load or cores
    figures = {}  # (workload, setting, loaded) -> [values]
    for round_ in range(args.rounds):
        for loaded in (False, True):
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load if loaded else 0)]
            try:
                policies = POLICIES[round_ % 3:] + POLICIES[:round_ % 3]
                for policy in policies:
                    for workload, value in run_worker("mxnet", policy, cores).items():
                        figures.setdefault((workload, f"OMP_WAIT_POLICY {policy}", loaded), []).append(value)
                for key, value in run_worker("ort", "PASSIVE", cores).items():
                    workload, setting = key.split("|")
                    figures.setdefault((workload, f"ORT {setting}", loaded), []).append(value)
            finally:
                for process in busy:
                    process.kill()
                    process.wait()
            print(f"round {round_ + 1}/{args.rounds} {'loaded' if loaded else 'idle'} done", file=sys.stderr)
    rows = sorted({(w, s) for w, s, _ in figures})
    print(f"{cores} cores, load = {load} busy processes, {args.rounds} rounds, load average "
          f"{os.getloadavg()[0]:.1f} at the end; medians:")
    print("| workload | setting | idle | loaded | loaded / idle |")
    print("|---|---|---:|---:|---:|")
    for workload, setting in rows:
        idle, busy = (float(np.median(figures[(workload, setting, flag)])) for flag in (False, True))
        print(f"| {workload} | {setting} | {idle:.2f} | {busy:.2f} | {busy / idle:.1f}x |")


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker_mxnet() if args.worker == "mxnet" else worker_ort()))
        return 0
    try:
        measure(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
