"""Fuzz ``export_model`` and ``export_onnx`` with mutated symbol JSON and params files of a tiny
conv net.

Every outcome must be a correct export (ONNX Runtime runs it and agrees with MXNet) or one of
our ``ExportError``s in one line: never a foreign exception, a hang or a crash. The cases
(tests/fuzz_export_cases.py) run in a child process, so a crash (MXNet aborts on some bad
graphs) or a hang is caught and named by its seed and mutation; the child is restarted after
the failing case. Seeded: the same cases every run. ``pytest -s`` prints the outcomes counted
per mutation.
"""
import collections
import json
import os
import selectors
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = 400           # about 40 s on one core
CASE_TIMEOUT = 30     # s per case (a case takes ~0.1 s; MXNet's start ~3 s)
TOTAL_TIMEOUT = 400   # s for the whole run (a loaded machine: MXNet alone may take 16 s to import)


def _lines(process, deadline):
    """The child's stdout lines, each within ``deadline()`` seconds of the previous, else None."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    while True:
        if not selector.select(timeout=deadline()):
            yield None  # hang
            return
        line = process.stdout.readline()
        if not line:
            return
        yield json.loads(line)


def run_cases(workdir, first, count):
    """``(results, failures)``: each ended case's record, and the crashes/hangs (with seed)."""
    results, failures, seed, started = [], [], first, time.monotonic()
    while seed < first + count and time.monotonic() - started < TOTAL_TIMEOUT:
        # stderr to a file: MXNet logs thousands of warning lines on some graphs; a full pipe would stall the child
        with open(os.path.join(workdir, "stderr.txt"), "w+") as stderr:
            process = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "fuzz_export_cases.py"),
                                        str(workdir), str(seed), str(first + count - seed)],
                                       stdout=subprocess.PIPE, stderr=stderr, text=True,
                                       env=dict(os.environ, OMP_NUM_THREADS="1"))
            current = None
            for record in _lines(process, lambda: CASE_TIMEOUT if current else 120):
                if record is None:
                    process.kill()
                    break
                if "start" in record:
                    current = record
                else:
                    results.append(record)
                    current, seed = None, record["end"] + 1
            process.wait()
            process.stdout.close()
            stderr.seek(0)
            last = stderr.read().strip().splitlines()[-1:]
        if current is not None:  # it died or hung inside a case: name it, go on after it
            code = process.returncode
            what = f"ran over {CASE_TIMEOUT} s" if code == -9 else f"ended the process (status {code})"
            failures.append(f"seed {current['start']} ({current['mutation']}) {what}: {last}")
            seed = current["start"] + 1
        elif process.returncode != 0:  # outside any case: the harness itself is broken
            failures.append(f"the fuzz process failed outside a case ({process.returncode}): {last}")
            break
    return results, failures


def test_mutated_symbols_and_params_export_or_fail_with_one_line_of_our_family(tmp_path):
    results, failures = run_cases(tmp_path, 0, CASES)
    counts = collections.Counter((r["mutation"], r["outcome"]) for r in results)
    print(f"\n{len(results)} fuzz cases ({len(failures)} crashed or hung):")
    for (mutation, outcome), n in sorted(counts.items()):
        print(f"  {mutation:<18} {outcome:<40} {n}")
    by_outcome = collections.Counter(r["outcome"] for r in results)
    print("  by outcome: " + ", ".join(f"{o} {n}" for o, n in sorted(by_outcome.items())))
    wrong = [f"seed {r['end']} ({r['mutation']}): {r['outcome']}: {r['detail']}" for r in results
             if not r["outcome"].startswith(("exported", "refused:"))]
    assert not failures + wrong, "\n".join(failures + wrong)
    assert len(results) + len(failures) == CASES
    assert by_outcome["exported"] and sum(n for o, n in by_outcome.items() if o.startswith("refused:"))
