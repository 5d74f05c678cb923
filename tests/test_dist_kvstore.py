"""MXNet's parameter server on 127.0.0.1: a scheduler, one server and two dist_sync workers."""
import json
import os
import socket
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

WORKER = os.path.join(os.path.dirname(__file__), "dist_worker.py")
TIMEOUT = 120  # seconds for the whole cluster; a hung process is killed


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_env(role, port):
    env = dict(os.environ, DMLC_ROLE=role, DMLC_PS_ROOT_URI="127.0.0.1", DMLC_PS_ROOT_PORT=str(port),
               DMLC_NODE_HOST="127.0.0.1", DMLC_NUM_SERVER="1", DMLC_NUM_WORKER="2",
               OMP_NUM_THREADS="1")  # four processes share the cores
    return env


def test_dist_sync_workers_end_with_identical_trained_parameters(tmp_path):
    port = free_port()
    # Scheduler and server: importing mxnet with DMLC_ROLE set runs the role until shutdown.
    commands = [("scheduler", [sys.executable, "-c", "import mxnet"]),
                ("server", [sys.executable, "-c", "import mxnet"]),
                ("worker", [sys.executable, WORKER, str(tmp_path)]),
                ("worker", [sys.executable, WORKER, str(tmp_path)])]
    procs = []
    try:
        for role, command in commands:
            procs.append(subprocess.Popen(command, env=cluster_env(role, port), stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, cwd=str(tmp_path)))
        outputs = []
        for proc in procs[2:] + procs[:2]:  # workers first: the others exit when they are done
            out, _ = proc.communicate(timeout=TIMEOUT)
            outputs.append(out.decode(errors="replace")[-2000:])
            assert proc.returncode == 0, f"a cluster process failed:\n{outputs[-1]}"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    params = {kind: [mx.nd.load(str(tmp_path / f"{kind}-{rank}.params")) for rank in (0, 1)]
              for kind in ("init", "final")}
    shards = [json.loads((tmp_path / f"shard-{rank}.json").read_text()) for rank in (0, 1)]
    assert {s["rank"] for s in shards} == {0, 1} and all(s["workers"] == 2 for s in shards)
    first, second = (set(s["examples"]) for s in shards)
    assert first and second and not first & second, "worker shards must be disjoint"

    names = sorted(params["final"][0])
    assert names == sorted(params["final"][1]) and names
    # different seeds: the workers only agree because the server synchronises them
    assert any(not np.array_equal(params["init"][0][n].asnumpy(), params["init"][1][n].asnumpy()) for n in names)
    for name in names:
        final0, final1 = params["final"][0][name].asnumpy(), params["final"][1][name].asnumpy()
        np.testing.assert_array_equal(final0, final1, err_msg=name)
        for initial in (params["init"][0][name].asnumpy(), params["init"][1][name].asnumpy()):
            assert not np.array_equal(final0, initial), f"{name} did not change in training"
    accuracies = [s["history"][-1]["test_accuracy"] for s in shards]
    assert accuracies[0] == pytest.approx(accuracies[1])
    assert accuracies[0] > 0.5
