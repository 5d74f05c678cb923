"""tools/export.py end to end: the README's first command, options, and each bad input."""
import json
import os

import mxnet as mx
import numpy as np
import onnx
import pytest

import hybridzoo
from hybridzoo.checkpoint import save_checkpoint
from hybridzoo.testing import init_model

from _tools import error_lines, ort_run, run_tool, sha256

BACKENDS = ("imperative", "hybridized", "reloaded symbol", "ONNX Runtime")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """``python tools/export.py`` with no arguments, in a folder without trained runs, from a shell
    that sets no thread count (importing hybridzoo here set OMP_NUM_THREADS for this process)."""
    cwd = tmp_path_factory.mktemp("default")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    return cwd, run_tool("export", cwd=cwd, env=env)


def test_no_arguments_exports_untrained_lenet_bn_with_agreement_table(default_run):
    cwd, result = default_run
    assert result.returncode == 0, result.stderr
    folder = cwd / "artifacts" / "lenet_bn"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["lenet_bn-0000.params", "lenet_bn-symbol.json", "manifest.json", "model.onnx", "report.json"]
    assert [p.name for p in (cwd / "artifacts").iterdir()] == ["lenet_bn"]  # no staging folder left
    rows = [line.split() for line in result.stdout.splitlines()]
    for backend in BACKENDS:
        row = next(r for r in rows if " ".join(r[:len(backend.split())]) == backend)
        assert row[-2] == "pass", result.stdout
    assert "untrained (seed 0)" in result.stdout
    assert "Warning" not in result.stderr, result.stderr  # e.g. MXNet loaded before hybridzoo set its threads


def test_manifest_records_files_weights_and_dynamic_batch(default_run):
    folder = default_run[0] / "artifacts" / "lenet_bn"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "hybridzoo-manifest/1" and manifest["model"] == "lenet_bn"
    assert manifest["weights"] == {"trained": False, "source": None, "seed": 0}
    assert manifest["inputs"][0]["shape"] == [None, 1, 28, 28]
    assert manifest["preprocess"]["color"] == "L" and manifest["classes"] == 10
    assert set(manifest["files"]) == {"lenet_bn-0000.params", "lenet_bn-symbol.json", "model.onnx", "report.json"}
    for name, entry in manifest["files"].items():
        assert entry == {"sha256": sha256(folder / name), "bytes": (folder / name).stat().st_size}
    report = json.loads((folder / "report.json").read_text())
    assert report["passed"] and list(report["backends"]) == list(BACKENDS)
    assert report["input_shape"][0] > 1  # checked at another batch than the export's warm-up batch
    # The same weights reload in MXNet and agree with ONNX Runtime at yet another batch size.
    net = mx.gluon.SymbolBlock.imports(str(folder / "lenet_bn-symbol.json"), ["data"],
                                       str(folder / "lenet_bn-0000.params"))
    x = np.random.default_rng(1).standard_normal((5, 1, 28, 28)).astype(np.float32)
    expected = net(mx.nd.array(x)).asnumpy()
    assert np.ptp(expected) > 1e-2  # non-degenerate outputs, or the comparison proves nothing
    np.testing.assert_allclose(ort_run(folder / "model.onnx", x), expected, rtol=0,
                               atol=1e-4 * max(1.0, np.abs(expected).max()))


def test_fixed_batch_onnx_only_at_chosen_opset(tmp_path):
    result = run_tool("export", "--model", "lenet", "--out", tmp_path, "--format", "onnx", "--batch", "4",
                      "--opset", "13", "--no-optimize", "--ctx", "cpu", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "lenet"
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.onnx", "report.json"]
    model = onnx.load(str(folder / "model.onnx"))
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [4, 1, 28, 28]
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [13]
    assert json.loads((folder / "manifest.json").read_text())["inputs"][0]["shape"] == [4, 1, 28, 28]


def test_trained_params_are_what_gets_exported(tmp_path):
    net = init_model(hybridzoo.get_model("lenet"), seed=3, ctx=mx.cpu())
    x = np.random.default_rng(2).standard_normal((2, 1, 28, 28)).astype(np.float32)
    expected = net(mx.nd.array(x)).asnumpy()
    params = tmp_path / "run" / "best.params"
    save_checkpoint(net, str(params), {"model": "lenet", "dataset": "digits", "classes": 10,
                                       "input_shape": [1, 28, 28], "mean": None, "std": None,
                                       "test_accuracy": 0.5, "seed": 3})
    result = run_tool("export", "--model", "lenet", "--params", params, "--out", tmp_path / "out",
                      "--format", "onnx", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "out" / "lenet"
    np.testing.assert_allclose(ort_run(folder / "model.onnx", x), expected, rtol=0,
                               atol=1e-4 * max(1.0, np.abs(expected).max()))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["weights"]["trained"] is True and manifest["weights"]["seed"] == 3
    assert manifest["dataset"] == "digits" and manifest["labels"] == [str(d) for d in range(10)]


def test_unknown_model_is_a_usage_error_with_suggestion(tmp_path):
    result = run_tool("export", "--model", "lenet_nb", "--out", tmp_path, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "error:" in line]
    assert line.startswith("export.py: error: unknown model 'lenet_nb'") and "lenet_bn" in line
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("content", [None, b"not a params file"], ids=["missing", "garbage"])
def test_unreadable_params_is_one_clear_error(tmp_path, capsys, export_cli, content):
    params = tmp_path / "weights.params"
    if content is not None:
        params.write_bytes(content)
    status = export_cli.main(["--model", "lenet", "--params", str(params), "--out", str(tmp_path / "out")])
    assert status == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "weights.params" in line
    assert not (tmp_path / "out" / "lenet").exists()


def test_unwritable_output_folder_is_one_clear_error(tmp_path, capsys, export_cli):
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where the output folder should go")
    status = export_cli.main(["--model", "lenet", "--out", str(blocker / "artifacts")])
    assert status == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert str(blocker / "artifacts") in line and "--out" in line


def test_agreement_failure_writes_nothing_and_keeps_the_old_artifact(tmp_path, capsys, export_cli, monkeypatch):
    import export.artifacts.package

    real_export_onnx = export.artifacts.package.export_onnx

    def broken_export_onnx(net, path, *args, **kwargs):
        """A converter bug: the written model's largest weight is off by 0.5."""
        real_export_onnx(net, path, *args, **kwargs)
        model = onnx.load(path)
        tensor = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
        tensor.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(tensor) + 0.5, tensor.name))
        onnx.save(model, path)

    monkeypatch.setattr(export.artifacts.package, "export_onnx", broken_export_onnx)
    old = tmp_path / "out" / "lenet"
    old.mkdir(parents=True)
    (old / "model.onnx").write_bytes(b"previous artifact")
    status = export_cli.main(["--model", "lenet", "--out", str(tmp_path / "out")])
    assert status == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "ONNX Runtime" in line and "disagree" in line
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["lenet"]  # no staging folder left
    assert [p.name for p in old.iterdir()] == ["model.onnx"]
    assert (old / "model.onnx").read_bytes() == b"previous artifact"


def test_several_models_export_one_after_another_and_a_failure_keeps_the_finished(tmp_path):
    """Several models go through a worker process (export/worker.py): the same lines, in order;
    a model that fails is one error line and the models before it stay."""
    result = run_tool("export", "--model", "mlp", "--model", "lenet", "--untrained", "--no-verify",
                      "--out", tmp_path / "ok", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines() if " -> " in line] == ["mlp", "lenet"]
    assert sorted(p.name for p in (tmp_path / "ok").iterdir()) == ["lenet", "mlp"]
    result = run_tool("export", "--model", "mlp", "--model", "lenet", "--input-size", "5", "--untrained",
                      "--no-verify", "--out", tmp_path / "failed", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert line.startswith("error: lenet: input (1, 1, 5, 5) is too small") and "smallest input size it takes is 12" in line
    assert [p.name for p in (tmp_path / "failed").iterdir()] == ["mlp"]


def test_params_with_several_models_is_refused(tmp_path, capsys, export_cli):
    with pytest.raises(SystemExit) as exit_info:
        export_cli.main(["--model", "lenet*", "--params", "x.params", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "error: --params holds one model's weights but 2 models were selected" in capsys.readouterr().err


def test_failed_triton_step_leaves_no_half_made_model(tmp_path, capsys, export_cli):
    """--triton's own step fails (OUT/triton is a file): neither the model folder nor a Triton
    entry is left, and an earlier export of the model stays as it was."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "triton").write_text("a file where the Triton repository should go")
    assert export_cli.main(["--model", "lenet", "--out", str(out), "--triton", "--untrained"]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "lenet" in line and "triton" in line
    assert sorted(p.name for p in out.iterdir()) == ["triton"]  # no lenet/, no staging folder
    (out / "triton").unlink()
    assert export_cli.main(["--model", "lenet", "--out", str(out), "--triton", "--untrained", "--no-verify"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["lenet", "triton"]
    assert (out / "triton" / "lenet" / "1" / "model.onnx").read_bytes() == (out / "lenet" / "model.onnx").read_bytes()


def test_progress_names_each_step_on_a_terminal(tmp_path):
    """A big single export (resnet152: ~30 s) shows which step runs (checked on lenet, in a pty)."""
    import fcntl
    import pty
    import struct
    import subprocess
    import sys
    import termios

    from _tools import TOOLS

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal has columns
    process = subprocess.Popen([sys.executable, str(TOOLS / "export.py"), "--model", "lenet", "--untrained",
                                "--out", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=slave, cwd=tmp_path)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=300) == 0
    shown = b"".join(chunks).decode(errors="replace")
    steps = ["weights", "symbol files", "ONNX", "check: imperative", "check: hybridized", "check: reloaded symbol",
             "check: ONNX Runtime", "manifest"]
    for number, step in enumerate(steps, 1):
        assert f"lenet: {step}  step {number}/8" in shown, shown
