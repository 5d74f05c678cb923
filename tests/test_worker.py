"""export.worker.Worker, which runs tools/export.py's batch exports: jobs run in one child
process until it has grown, results and exceptions come back as they were, progress calls are
relayed, and a child that dies is one clear error."""
import os

import pytest

from export.worker import Worker
from export.artifacts.package import AgreementError

_KEPT = []  # memory a job leaves behind in the worker


def pid(relay):
    return os.getpid()


def keep(megabytes, relay):
    _KEPT.append(b"\1" * (megabytes * 2 ** 20))  # written, so resident
    return os.getpid()


def fail(err, relay):
    raise err


class TwoArguments(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a} and {b}")


def fail_unpicklable(relay):
    raise TwoArguments(1, 2)


def steps(count, relay):
    for i in range(count):
        relay.set_description_str(f"step {i}", refresh=False)
        relay.update(1)
    return count


def die(status, relay):
    os._exit(status)


class Recorder:
    def __init__(self):
        self.calls = []

    def set_description_str(self, text, refresh=True):
        self.calls.append(("set_description_str", text, refresh))

    def update(self, n):
        self.calls.append(("update", n))


@pytest.fixture(scope="module")
def worker():
    with Worker(growth=128 * 2 ** 20) as worker:
        yield worker


def test_jobs_share_one_child_until_it_keeps_too_much(worker):
    first = worker.run(pid)
    assert first != os.getpid()
    assert worker.run(keep, 16) == first  # grew 16 MB: same process
    assert worker.run(keep, 256) == first  # this job runs there, then the worker is replaced
    replacement = worker.run(pid)
    assert replacement not in (first, os.getpid())
    assert worker.run(pid) == replacement


def test_exceptions_come_back_with_their_type_and_message(worker):
    before = worker.run(pid)
    with pytest.raises(ValueError, match="no such model"):
        worker.run(fail, ValueError("no such model"))
    report = {"backends": {"ONNX Runtime": {"passed": False, "max_abs_error": 0.5}}, "tolerance": 1e-4}
    with pytest.raises(AgreementError) as raised:
        worker.run(fail, AgreementError("lenet", report))
    assert str(raised.value) == str(AgreementError("lenet", report)) and raised.value.report == report
    with pytest.raises(ValueError, match="TwoArguments: 1 and 2"):  # not picklable: its text survives
        worker.run(fail_unpicklable)
    assert worker.run(pid) == before  # failures do not cost the worker


def test_progress_calls_reach_the_parents_object(worker):
    recorder = Recorder()
    assert worker.run(steps, 2, target=recorder) == 2
    assert recorder.calls == [("set_description_str", "step 0", False), ("update", 1),
                              ("set_description_str", "step 1", False), ("update", 1)]


def test_a_child_that_dies_is_one_clear_error_and_the_next_job_gets_a_new_one(worker):
    before = worker.run(pid)
    with pytest.raises(ChildProcessError, match="exit status 3"):
        worker.run(die, 3)
    assert worker.run(pid) != before


def sleep_then_return(seconds, relay=None):
    import time
    time.sleep(seconds)
    return "woke"


def environment(name):
    return os.environ.get(name)


def exit_with(code):
    os._exit(code)


def test_a_job_past_its_time_limit_ends_with_its_process_and_the_next_gets_a_new_one():
    import time
    from export.errors import WorkerTimeoutError
    with Worker() as worker:
        first = worker.run(pid)
        start = time.monotonic()
        with pytest.raises(WorkerTimeoutError):
            worker.run(sleep_then_return, 60, timeout=1)
        assert time.monotonic() - start < 30
        assert worker.run(pid) != first


def test_the_tools_isolated_runner_reports_results_timeouts_crashes_and_sets_the_environment():
    from hybridzoo_tools import _cli
    assert _cli.run_isolated(sleep_then_return, 0) == "woke"
    assert _cli.run_isolated(sleep_then_return, 60, timeout=1) == {"status": "timeout", "detail": "over 1 s"}
    crashed = _cli.run_isolated(exit_with, 3)
    assert crashed["status"] == "crash" and "exit status 3" in crashed["detail"]
    assert "HYBRIDZOO_TEST_VALUE" not in os.environ
    assert _cli.run_isolated(environment, "HYBRIDZOO_TEST_VALUE", env={"HYBRIDZOO_TEST_VALUE": "7"}) == "7"
    assert "HYBRIDZOO_TEST_VALUE" not in os.environ
