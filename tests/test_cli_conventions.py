"""One convention across the tools: --help with examples, unknown models as usage errors (exit 2)
naming the closest names, Ctrl-C as one line (exit 130) with artifacts and runs intact, and no
MXNet warning inside the agreement table."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from hybridzoo import checkpoint

from _tools import TOOLS, load_tool, run_tool


@pytest.mark.parametrize("tool", ["export", "infer", "train", "bench"])
def test_help_shows_examples(tool, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_tool(tool).main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"python tools/{tool}.py " in out.split("options:")[-1]  # examples after the options
    assert "Exit status: 0" in out or "exit status" in out.lower()


def test_train_help_lists_the_models(capsys):
    with pytest.raises(SystemExit):
        load_tool("train").main(["--help"])
    out = capsys.readouterr().out.split("models:")[-1]
    assert "lenet_bn" in out and "resnet152" in out and "linear_regression" not in out


@pytest.mark.parametrize("tool, args", [("export", ["--model", "resnt18"]), ("train", ["--model", "resnt18"]),
                                        ("bench", ["--models", "resnt18"])])
def test_unknown_model_is_a_usage_error_naming_the_closest(tool, args, capsys, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))  # bench sets it
    try:
        status = load_tool(tool).main(args)
    except SystemExit as exit_info:
        status = exit_info.code
    assert status == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unknown model 'resnt18': did you mean resnet18" in err


def interrupt(cmd, cwd, ready, timeout=120):
    """Start ``cmd``, send SIGINT once ``ready()`` holds, return (exit status, stderr).

    The child gets SIGINT's default disposition, as in a terminal: a suite started in the
    background (``pytest &``) has it ignored, and children inherit that."""
    process = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + timeout
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"still running {timeout} s after Ctrl-C; its stderr:\n{err}") from None
    return process.returncode, err


def test_ctrl_c_during_training_is_one_line_and_keeps_the_run(tmp_path):
    run = tmp_path / "run"
    status, err = interrupt([sys.executable, str(TOOLS / "train.py"), "--model", "lenet_bn", "--epochs", "200",
                             "--out", str(run), "--quiet"], tmp_path, lambda: (run / "best.json").exists())
    assert status == 130 and "Traceback" not in err
    assert err.strip().splitlines() == [f"interrupted: {run} keeps its last finished epoch; "
                                        f"continue with --resume {run}"]
    for name in ("best", "last"):  # every checkpoint on disk is whole and verifies
        manifest = json.loads((run / f"{name}.json").read_text())
        assert manifest["sha256"] == checkpoint.sha256_file(str(run / f"{name}.params"))
    assert not [p for p in os.listdir(run) if p.endswith(".tmp")]


def test_ctrl_c_during_export_is_one_line_and_leaves_nothing_half_written(tmp_path):
    out = tmp_path / "out"

    def staging():
        return out.is_dir() and any(p.startswith(".") for p in os.listdir(out))
    status, err = interrupt([sys.executable, str(TOOLS / "export.py"), "--model", "resnet50", "--untrained",
                             "--out", str(out)], tmp_path, staging)
    assert status == 130 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.strip()] == [
        "interrupted: models already exported are complete; none is left half-written"]
    assert not out.exists() or os.listdir(out) == []


def test_ctrl_c_during_a_batch_export_keeps_finished_models_whole(tmp_path):
    """Several models run in a worker process: Ctrl-C sent to tools/export.py alone reaches the
    model being exported there, which leaves nothing behind; the finished one stays whole."""
    out = tmp_path / "out"

    def second_model_staging():
        return (out / "lenet" / "model.onnx").exists() and any(p.startswith(".") for p in os.listdir(out))
    status, err = interrupt([sys.executable, str(TOOLS / "export.py"), "--model", "lenet", "--model", "resnet50",
                             "--untrained", "--out", str(out)], tmp_path, second_model_staging)
    assert status == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "interrupted: models already exported are complete; none is left half-written"
    assert os.listdir(out) == ["lenet"]
    assert sorted(os.listdir(out / "lenet")) == ["lenet-0000.params", "lenet-symbol.json", "manifest.json",
                                                 "model.onnx", "report.json"]


def test_agreement_table_prints_no_mxnet_warning(tmp_path):
    pytest.importorskip("pytest")
    result = run_tool("agreement_table", "lenet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| lenet |" in result.stdout
    assert "Warning" not in result.stderr and "Cannot decide type" not in result.stderr, result.stderr
