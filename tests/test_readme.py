"""The README and docs/: their snippets run, their links resolve, the README stays a front page, and
the repo's conventions for what the README tells users to run."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _tools import load_tool

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.S | re.M)  # info string (``python run``), body


def block_after(heading, language, doc="README.md"):
    """The first ``language`` code block after ``heading`` in ``doc`` (the README, or a file under docs/);
    ``language`` matches the info string's first word, so a ``python run`` block is a ``python`` block."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    section = text[text.index(heading):]
    return next(body for info, body in FENCE.findall(section) if info.split()[:1] == [language])


def runnable_blocks():
    """Every ```` ```python run ```` block of the README and docs/: (``file:line``, code)."""
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group(1).split() == ["python", "run"]:
                line = text.count("\n", 0, match.start()) + 1
                yield f"{path.relative_to(ROOT)}:{line}", match.group(2)


def run_snippet(code, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_compiler_snippet_runs_as_written(tmp_path):
    result = run_snippet(block_after("## Python API", "python", "docs/compiler.md"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"resnet18-symbol.json", "resnet18.onnx", "m.onnx"}
    assert (tmp_path / "r18.onnx").is_file()


def test_distributed_example_uses_the_venv_a_short_run_and_its_own_folder():
    lines = block_after("## Distributed training", "bash", "docs/training.md").splitlines()
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


RUN_BY_NAMED_TESTS = {block_after("## Python API", "python", "docs/compiler.md")}  # run above, checking its files


@pytest.mark.parametrize("where, code", [pytest.param(w, c, id=w) for w, c in runnable_blocks()
                                         if c not in RUN_BY_NAMED_TESTS])
def test_runnable_snippets_of_the_readme_and_docs_run_as_written(where, code, tmp_path):
    result = run_snippet(code, tmp_path)
    assert result.returncode == 0, f"{where}:\n{result.stderr}"


def test_the_docs_mark_their_runnable_snippets():
    where = [w for w, _ in runnable_blocks()]
    assert any(w.startswith("README.md:") for w in where) and any(w.startswith("docs/") for w in where), where
    assert RUN_BY_NAMED_TESTS <= {code for _, code in runnable_blocks()}  # the compiler's block is marked too


def test_readme_is_a_front_page_of_at_most_200_lines():
    assert len(README.splitlines()) <= 200, "move the reference into docs/ and link it"
    assert "\n## Your own model\n" in README


def test_readme_keeps_the_two_commands_verbatim_and_ci_runs_the_second():
    first = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python tools/export.py"
    second = 'python3 -m venv .venv && .venv/bin/pip install -q -e ".[test]" && .venv/bin/python -m pytest -q'
    commands = [line for line in README.splitlines() if line.startswith("python3 -m venv .venv && ")]
    assert commands[:2] == [first, second], commands
    assert second in (ROOT / ".ci" / "run").read_text().splitlines()


def _anchor(heading):
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path):
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def _relative_links(path):
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans: [text](target) there is no link
    for target in re.findall(r"\[[^\]\n]*\]\(([^)\s]+)\)", text):
        if not re.match(r"[a-z]+:", target):  # https:, mailto:
            yield target


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_a_file_that_exists(path):
    broken = []
    for target in _relative_links(path):
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target} (no such heading)")
    assert not broken, broken


def test_the_link_checker_finds_a_broken_link_and_a_missing_heading(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](missing.md) [anchor](#nowhere) `[code](not-a-link.md)`\n")
    assert list(_relative_links(page)) == ["#title", "missing.md", "#nowhere"]
    assert _anchors(page) == {"title"}
    assert _anchor("GluonNLP (`--set nlp`)") == "gluonnlp---set-nlp"


def test_benchmark_tables_are_written_into_docs_and_say_what_made_them(tmp_path):
    bench, precision = load_tool("bench"), load_tool("bench_precision")
    assert bench.parse_args([]).out == precision.parse_args([]).out == os.path.join("docs", "benchmarks")
    assert bench.parse_args(["--out", str(tmp_path)]).out == str(tmp_path)
    bench.write_table("Machine: here\n\n| a |\n|---|\n| 1 |\n", str(tmp_path / "t"), "zoo.md", "the zoo set",
                      command="python tools/bench.py --repeats 1")
    written = (tmp_path / "t" / "zoo.md").read_text()
    assert re.match(r"# Benchmark: the zoo set, \d{4}-\d\d-\d\d\n\nCommand: `python tools/bench.py --repeats 1`\n\n"
                    r"Machine: here\n", written), written
    tables = [p for p in (ROOT / "docs" / "benchmarks").glob("*.md") if p.name != "README.md"]
    assert {p.name for p in tables} >= {"zoo.md", "nlp.md", "detection.md", "precision.md"}
    for table in tables:
        text = table.read_text(encoding="utf-8")
        assert text.startswith("# Benchmark: ") and "Command: `" in text and "Machine: " in text, table.name
        assert "|---" in text, table.name


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
