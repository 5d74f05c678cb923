"""The README's snippets and the repo's conventions for what the README tells users to run."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block_after(heading, language):
    """The first ``language`` code block after ``heading`` in the README."""
    section = README[README.index(heading):]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


def test_compiler_snippet_runs_as_written(tmp_path):
    code = block_after("## The compiler", "python")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"resnet18-symbol.json", "resnet18.onnx", "m.onnx"}
    assert (tmp_path / "r18.onnx").is_file()


def test_distributed_example_uses_the_venv_a_short_run_and_its_own_folder():
    lines = block_after("### Distributed training", "bash").splitlines()
    commands = [line.split("=", 1)[1].split(None, 1)[1] for line in lines if line.startswith("DMLC_ROLE=")]
    assert commands and all(c.startswith(".venv/bin/python ") for c in commands), commands
    workers = [c for c in commands if "tools/train.py" in c]
    for worker in workers:
        epochs = int(re.search(r"--epochs (\d+)", worker).group(1))
        out = re.search(r"--out (\S+)", worker).group(1)
        assert epochs <= 5 and out != "runs/lenet_bn-digits", worker  # not the quick start's run


def test_demo_digits_folder_is_git_ignored(tmp_path):
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    assert "--out digits" in README
    result = subprocess.run(["git", "check-ignore", "-q", "digits/digit_000_label7.png"], cwd=ROOT)
    assert result.returncode == 0, "digits/ (tools/digits_png.py --out digits) is not git-ignored"
    for source in ("export/artifacts/package.py", "hybridzoo/runs.py"):  # outputs' names, not sources
        assert subprocess.run(["git", "check-ignore", "-q", source], cwd=ROOT).returncode == 1, source


def test_minimal_example_without_arguments_prints_usage():
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "onnxruntime_minimal.py")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("usage: python ") and len(result.stderr.strip().splitlines()) == 1
