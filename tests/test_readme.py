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


def test_own_model_commands_run_as_written(tmp_path):
    """"Your own model": a Module checkpoint named as the README names it, through its commands."""
    import shlex

    import mxnet as mx
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(mx.sym.flatten(mx.sym.relu(mx.sym.Convolution(data, num_filter=2, kernel=(3, 3)))),
                               num_hidden=3, name="fc")
    mod = mx.mod.Module(mx.sym.SoftmaxOutput(fc, name="softmax"), data_names=["data"], label_names=["softmax_label"])
    mod.bind(data_shapes=[("data", (1, 3, 32, 32))], label_shapes=[("softmax_label", (1,))])
    mod.init_params(mx.init.Normal(0.1))
    mod.save_checkpoint(str(tmp_path / "model"), 2)
    (tmp_path / "classes.txt").write_text("cat\ndog\nbird\n")
    (tmp_path / "photos").mkdir()
    from PIL import Image
    Image.new("RGB", (48, 40), (200, 30, 90)).save(tmp_path / "photos" / "red.png")
    lines = block_after("## Your own model", "bash").replace("\\\n", " ").splitlines()
    for line in lines:
        words = shlex.split(line, comments=True)
        assert words[0] == ".venv/bin/python" and words[1].startswith("tools/"), line
        result = subprocess.run([sys.executable, str(ROOT / words[1]), *words[2:]], cwd=tmp_path, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "artifacts" / "model" / "report.json").is_file()
    assert result.stdout.splitlines()[-1].split()[1] in ("cat", "dog", "bird")  # infer.py's top class, labelled
