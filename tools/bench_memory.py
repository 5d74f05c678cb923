#!/usr/bin/env python
"""Peak resident memory (RSS) of exports and of the test suite, each in a fresh process.

  python tools/bench_memory.py                               # the largest models one by one, then --all
  python tools/bench_memory.py --models vgg16 resnet152 --no-all
  python tools/bench_memory.py --models lenet --no-all --suite   # the whole test suite too (minutes)

Each export is ``tools/export.py --untrained`` (verification included, as users run it) into a
temporary folder; ``--all`` exports every registered model in one command (its models run in a
worker process, replaced when it has grown), so its peak against the largest single peak shows
whether memory is released between models (target: within 1.3x). The peak is the larger of the
kernel's ru_maxrss of the process (os.wait4: itself or its largest child) and the largest sum of
resident memory over the process and its children, sampled ten times a second (shared library
pages count once per process, so the sum errs high).
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

from hybridzoo_tools import _cli  # first: keeps this folder and its export.py off sys.path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LARGEST = ("vgg19_bn", "vgg19", "resnet152", "densenet201")  # the largest of each big family


def parse_args(argv=None):
    parser = _cli.parser_from_doc(__doc__, epilog_title="examples")
    parser.add_argument("--models", nargs="+", default=list(LARGEST), metavar="NAME",
                        help=f"single exports to measure (default: {' '.join(LARGEST)})")
    parser.add_argument("--no-all", action="store_true", help="skip tools/export.py --all")
    parser.add_argument("--suite", action="store_true", help="also run the whole test suite (pytest -x -q)")
    return parser.parse_args(argv)


def tree_rss(pid):
    """Bytes resident in process ``pid`` and all its descendants (0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except (OSError, ValueError, IndexError):
            pass
    return total


def sample_tree(pid, peaks, done):
    while not done.is_set():
        peaks.append(tree_rss(pid))
        done.wait(0.1)


def peak(cmd, cwd):
    """(peak RSS in GB, seconds, exit status) of ``cmd`` run to completion."""
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    start = time.perf_counter()
    # stderr to a file, not a pipe: wait4 reads nothing until the end, and --all's progress bar
    # alone could fill a pipe and stall the command.
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        peaks, done = [0], threading.Event()
        sampler = threading.Thread(target=sample_tree, args=(process.pid, peaks, done), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        err = stderr.read().decode(errors="replace")
    if process.returncode != 0:
        print(f"  {' '.join(cmd[1:])} exited {process.returncode}: {err.strip().splitlines()[-1:]}", file=sys.stderr)
    largest = max(usage.ru_maxrss * 1024, max(peaks))  # ru_maxrss is in KiB
    return largest / 2 ** 30, time.perf_counter() - start, process.returncode


def export_cmd(*args, out):
    return [sys.executable, os.path.join(ROOT, "tools", "export.py"), "--untrained", "--out", out, *args]


def main(argv=None):
    args = parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            gb, seconds, status = peak(export_cmd("--model", name, out=os.path.join(tmp, "single")), tmp)
            rows.append((f"tools/export.py --model {name}", gb, seconds, status))
            print(f"| {rows[-1][0]} | {gb:.2f} | {seconds:.0f} |", flush=True)
        if not args.no_all:
            gb, seconds, status = peak(export_cmd("--all", out=os.path.join(tmp, "all")), tmp)
            rows.append(("tools/export.py --all", gb, seconds, status))
            largest = max((r[1] for r in rows[:-1]), default=None)
            ratio = f" ({gb / largest:.2f}x the largest single)" if largest else ""
            print(f"| tools/export.py --all | {gb:.2f}{ratio} | {seconds:.0f} |", flush=True)
        if args.suite:
            cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
            gb, seconds, status = peak(cmd, ROOT)
            rows.append(("pytest -x -q (whole suite)", gb, seconds, status))
            print(f"| pytest -x -q (whole suite) | {gb:.2f} | {seconds:.0f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f}; peak RSS per process:")
    print("| command | peak RSS GB | wall s |\n|---|---:|---:|")
    for command, gb, seconds, status in rows:
        print(f"| {command} | {gb:.2f} | {seconds:.0f} |" + ("" if status == 0 else f" exit {status} |"))
    return 0 if all(r[3] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
