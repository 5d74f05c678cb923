"""A wheel built from the repo installs into a fresh venv and its console commands run.

Lean but honest: the venv gets the already-installed dependencies (mxnet, onnxruntime...)
through a .pth line naming this interpreter's site-packages (a plain path: the .pth files
there, such as an editable hybridzoo install, are not processed), the wheel is installed
with --no-deps, and the commands run outside the repo without PYTHONPATH, after checking that
hybridzoo and export are imported from the venv, not from the checkout.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ("hybridzoo-export", "hybridzoo-infer", "hybridzoo-train", "hybridzoo-bench")
ANYWHERE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache", "*.params", "*.onnx")
TOP = {".git", ".venv", "venv", "build", "dist", "artifacts", "runs", "bench", "digits"}  # outputs, not source


def skip(folder, names):
    return set(ANYWHERE(folder, names)) | (TOP & set(names) if Path(folder) == REPO else set())


def run(cmd, cwd, env, timeout=600):
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """(venv folder, environment) with the repo's wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE", PIP_DISABLE_PIP_VERSION_CHECK="1")
    shutil.copytree(REPO, tmp / "src", ignore=skip)  # the build writes build/ and egg-info: not into the repo
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", tmp / "src"], tmp, env)
    (wheel,) = (tmp / "dist").glob("hybridzoo-*.whl")
    run([sys.executable, "-m", "venv", "--without-pip", tmp / "venv"], tmp, env)
    python = tmp / "venv" / "bin" / "python"
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "deps.pth").write_text("".join(f"{p}\n" for p in sorted(deps)))
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel], tmp, env)
    return tmp, env, wheel


def test_wheel_lists_every_package_of_the_repo(venv):
    """pyproject.toml lists packages by hand (tools/ is renamed): none may be missing."""
    _, _, wheel = venv
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("hybridzoo", "export"):
        for path in (REPO / folder).rglob("*.py"):
            if "__pycache__" not in path.parts:
                assert path.relative_to(REPO).as_posix() in names, f"{path} is not in the wheel: list its package"
    assert {f"hybridzoo_tools/{name}.py" for name in ("export", "infer", "train", "bench")} <= set(names)


def test_installed_commands_run_from_the_venv(venv):
    tmp, env, _ = venv
    bin_dir = tmp / "venv" / "bin"
    where = run([bin_dir / "python", "-c", "import hybridzoo, export; print(hybridzoo.__file__); print(export.__file__)"],
                tmp, env).stdout.split()
    assert all(path.startswith(str(tmp / "venv")) for path in where), where
    for command in COMMANDS:
        assert "usage:" in run([bin_dir / command, "--help"], tmp, env).stdout
    out = run([bin_dir / "hybridzoo-export", "--model", "lenet", "--out", tmp / "artifacts", "--untrained"], tmp, env)
    assert "lenet: untrained (seed 0) weights" in out.stdout and "ONNX Runtime" in out.stdout
    out = run([bin_dir / "hybridzoo-infer", tmp / "artifacts" / "lenet", "--bench", "1", "--repeats", "2"], tmp, env)
    assert "p50 ms" in out.stdout
    out = run([bin_dir / "hybridzoo-train", "--model", "softmax_regression", "--epochs", "1", "--out", tmp / "run",
               "--quiet"], tmp, env)
    assert "best test accuracy" in out.stdout and (tmp / "run" / "best.params").is_file()
    run([bin_dir / "hybridzoo-bench", "--models", "softmax_regression", "--repeats", "1", "--min-time", "0.01",
         "--batch-sizes", "1", "--no-peer", "--out", tmp / "bench"], tmp, env)
    assert (tmp / "bench" / "zoo.md").is_file()
