"""import hybridzoo chooses sleeping OpenMP threads (OMP_WAIT_POLICY=PASSIVE) unless the user chose:
spinning ones made training 6-19x slower next to other busy processes (tools/bench_threads.py)."""
import os
import subprocess
import sys

import pytest

USER = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "HYBRIDZOO_NO_THREADS", "OMP_WAIT_POLICY")


def policy_after_import(**env_changes):
    env = {k: v for k, v in os.environ.items() if k not in USER}
    env.update(env_changes)
    code = "import hybridzoo, os; print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('OMP_NUM_THREADS'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.split()


@pytest.mark.parametrize("env, expected", [
    ({}, ["PASSIVE", str(len(os.sched_getaffinity(0)))]),
    ({"OMP_NUM_THREADS": "1"}, ["PASSIVE", "1"]),       # the thread count is the user's, the policy ours
    ({"OMP_WAIT_POLICY": "ACTIVE"}, ["ACTIVE", str(len(os.sched_getaffinity(0)))]),
    ({"HYBRIDZOO_NO_THREADS": "1"}, ["None", "None"]),  # MXNet's own defaults
    ({"OMP_WAIT_POLICY": "", "OMP_NUM_THREADS": ""}, ["PASSIVE", str(len(os.sched_getaffinity(0)))]),
], ids=["default", "users-threads", "users-policy", "opt-out", "empty-is-unset"])
def test_import_sets_the_wait_policy_unless_the_user_chose(env, expected):
    assert policy_after_import(**env) == expected


def test_an_empty_wait_policy_gives_no_libgomp_warning():
    env = {k: v for k, v in os.environ.items() if k not in USER}
    env["OMP_WAIT_POLICY"] = ""
    code = "import hybridzoo, mxnet; mxnet.nd.ones((2, 2)).asnumpy()"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "libgomp" not in result.stderr, result.stderr
