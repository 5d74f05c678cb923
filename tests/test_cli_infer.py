"""tools/infer.py end to end on an exported LeNet-BN: images, folders, .npy, --json, --bench, bad inputs."""
import json
import shutil

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from _tools import error_lines, run_tool


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    out = tmp_path_factory.mktemp("artifacts")
    result = run_tool("export", "--model", "lenet_bn", "--out", out, "--format", "onnx", "--no-verify", cwd=out)
    assert result.returncode == 0, result.stderr
    return out / "lenet_bn"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Digit-like PNGs at the model size (8-bit gray), an RGB JPEG at another size, and a folder."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(3):
        pixels = np.zeros((28, 28), np.uint8)
        pixels[4 + i:24, 8 + 3 * i:12 + 3 * i] = 255  # a bar in a different place each time
        pixels = np.maximum(pixels, rng.integers(0, 40, (28, 28), dtype=np.uint8))
        Image.fromarray(pixels).save(folder / f"digit{i}.png")
    Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(folder / "photo.jpg")
    (folder / "notes.txt").write_text("ignored inside a folder: neither an image nor .npy")
    return folder


def reference_probs(artifact, batch):
    """Softmax of the model output computed without our runtime: plain onnxruntime."""
    session = ort.InferenceSession(str(artifact / "model.onnx"), providers=["CPUExecutionProvider"])
    scores = session.run(None, {"data": batch})[0]
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def normalise(artifact, pixels):
    """The manifest's preprocessing, written out independently for 28x28 gray pixels."""
    pre = json.loads((artifact / "manifest.json").read_text())["preprocess"]
    x = pixels.astype(np.float32) * pre["scale"]
    return ((x - pre["mean"][0]) / pre["std"][0])[None].astype(np.float32)


def test_images_and_folder_give_top_k_with_labels(artifact, images, tmp_path):
    result = run_tool("infer", artifact, images, images / "digit0.png", "--top-k", "3", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    names = [p["input"].rsplit("/", 1)[-1] for p in report["predictions"]]
    assert names == ["digit0.png", "digit1.png", "digit2.png", "photo.jpg", "digit0.png"]
    labels = json.loads((artifact / "manifest.json").read_text())["labels"]
    pixels = np.stack([np.asarray(Image.open(images / f"digit{i}.png")) for i in range(3)])
    expected = reference_probs(artifact, np.stack([normalise(artifact, p) for p in pixels]))
    assert np.ptp(expected) > 1e-3  # the inputs give different, non-uniform outputs
    for prediction, probs in zip(report["predictions"][:3], expected):
        top = prediction["top"]
        assert [t["class"] for t in top] == list(np.argsort(-probs, kind="stable")[:3])
        np.testing.assert_allclose([t["prob"] for t in top], np.sort(probs)[::-1][:3], rtol=1e-5, atol=1e-6)
        assert [t["label"] for t in top] == [labels[t["class"]] for t in top]
    assert report["predictions"][4] == report["predictions"][0]
    assert report["providers"] == ["CPUExecutionProvider"] or "CUDAExecutionProvider" in report["providers"]


def test_text_output_and_npy_stack(artifact, tmp_path):
    batch = np.random.default_rng(1).standard_normal((3, 1, 28, 28)).astype(np.float32)
    np.save(tmp_path / "batch.npy", batch)
    result = run_tool("infer", artifact / "model.onnx", tmp_path / "batch.npy", "--top-k", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "batch.npy[" in line]
    assert len(lines) == 3
    labels = json.loads((artifact / "manifest.json").read_text())["labels"]
    for line, probs in zip(lines, reference_probs(artifact, batch)):
        label, prob = line.split()[1:3]
        assert label == labels[int(probs.argmax())] and abs(float(prob) - probs.max()) < 1e-3


def test_bench_reports_percentiles_and_throughput(artifact, tmp_path):
    result = run_tool("infer", artifact, "--bench", "1,4", "--repeats", "5", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["bench"]
    assert [r["batch"] for r in rows] == [1, 4]
    for row in rows:
        assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
        assert row["throughput"] == pytest.approx(row["batch"] * 1e3 / row["p50_ms"])


def test_metadata_is_the_fallback_without_manifest(artifact, images, tmp_path, infer_cli, capsys):
    shutil.copy(artifact / "model.onnx", tmp_path / "model.onnx")
    assert infer_cli.main([str(tmp_path / "model.onnx"), str(images / "digit1.png"), "--json"]) == 0
    without = json.loads(capsys.readouterr().out)["predictions"]
    assert infer_cli.main([str(artifact), str(images / "digit1.png"), "--json"]) == 0
    with_manifest = json.loads(capsys.readouterr().out)["predictions"]
    assert without[0]["top"] == with_manifest[0]["top"]  # same labels, same mean/std from metadata


def write_bad(tmp_path, kind):
    if kind == "channels":
        np.save(tmp_path / "rgb.npy", np.zeros((3, 28, 28), np.float32))
        return tmp_path / "rgb.npy", "3 channels"
    if kind == "shape":
        np.save(tmp_path / "big.npy", np.zeros((2, 1, 32, 32), np.float32))
        return tmp_path / "big.npy", "does not fit"
    if kind == "not-an-image":
        (tmp_path / "fake.png").write_text("this is text, not a PNG")
        return tmp_path / "fake.png", "not an image"
    if kind == "missing":
        return tmp_path / "absent.png", "no such file"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["channels", "shape", "not-an-image", "missing"])
def test_bad_input_is_one_clear_error(artifact, tmp_path, infer_cli, capsys, kind):
    path, expected = write_bad(tmp_path, kind)
    assert infer_cli.main([str(artifact), str(path)]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert path.name in line and expected in line


def test_bad_input_exit_status_from_the_command_line(artifact, tmp_path):
    path, _ = write_bad(tmp_path, "not-an-image")
    result = run_tool("infer", artifact, path, cwd=tmp_path)
    assert result.returncode == 1
    assert len(error_lines(result.stderr)) == 1


def test_unavailable_provider_is_refused(artifact, images, infer_cli, capsys):
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA; the refusal is for builds without it")
    assert infer_cli.main([str(artifact), str(images), "--providers", "cuda"]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "cuda" in line and "onnxruntime-gpu" in line


def test_fixed_batch_model_is_fed_padded_batches(artifact, tmp_path):
    """A model with a batch of 2 baked in gets 5 inputs as 2 + 2 + (1 + zero padding)."""
    import onnx
    from export.deploy.runtime import OnnxModel

    model = onnx.load(str(artifact / "model.onnx"))
    for value in (model.graph.input[0], *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_value = 2
    fixed = tmp_path / "model.onnx"
    onnx.save(model, str(fixed))
    samples = list(np.random.default_rng(3).standard_normal((5, 1, 28, 28)).astype(np.float32))
    fixed_model = OnnxModel(str(fixed))
    assert fixed_model.fixed_batch == 2
    np.testing.assert_allclose(fixed_model.predict(samples, batch_size=32),
                               OnnxModel(str(artifact)).predict(samples), rtol=1e-5, atol=1e-6)


def test_plain_onnxruntime_example_agrees_with_infer(artifact, images, infer_cli, capsys):
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "onnxruntime_minimal.py"
    result = subprocess.run([sys.executable, str(example), str(artifact), str(images / "digit2.png")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert infer_cli.main([str(artifact), str(images / "digit2.png"), "--json"]) == 0
    top = json.loads(capsys.readouterr().out)["predictions"][0]["top"][0]
    assert result.stdout.split() == [str(top["class"]), top["label"]]
