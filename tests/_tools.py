"""Run the command-line tools the way users do (subprocess) or in-process for bad-input checks."""
import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def run_tool(name, *args, cwd, timeout=300, env=None):
    """``python tools/<name>.py args...`` in ``cwd``; returns the CompletedProcess (text output).
    ``env``: the child's whole environment (default: this process's)."""
    return subprocess.run([sys.executable, str(TOOLS / f"{name}.py"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)


def run_code(code, cwd, timeout=300):
    """``python -c code`` in ``cwd`` (for runs that need a test hook installed first)."""
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def load_tool(name):
    """Import ``tools/<name>.py`` as a module (its ``main(argv)`` returns the exit status)."""
    spec = importlib.util.spec_from_file_location(f"hybridzoo_tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def error_lines(stderr):
    """The ``error:`` lines a failed tool printed (exactly one is expected), and no traceback."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def sha256(path):
    """The hex sha256 of the file at ``path`` (a Path)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ort_run(path, x):
    """The first output of the ONNX file at ``path`` on input ``x``, on ONNX Runtime's CPU."""
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]
