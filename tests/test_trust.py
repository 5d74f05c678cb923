"""Issue 21 (trust), the train side: a run loads only files its manifest names inside its folder
and whose sha256 it recorded, never unpickles an unrecorded file, and bad input is one line."""
import json
import os
import pickle
import re
import shutil
import struct
import zlib

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

import hybridzoo
from _tools import TOOLS, error_lines, load_tool, run_code
from hybridzoo_tools import _cli
from hybridzoo import data, train, weights
from hybridzoo import guards
from hybridzoo.guards import DivergedError
from hybridzoo.trusted import UntrustedFileError

QUICK = dict(epochs=1, batch_size=64, momentum=0.5, progress=False)  # momentum: states to save


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One quick softmax_regression run on digits (read-only: tests copy it)."""
    return train.train("softmax_regression", out=str(tmp_path_factory.mktemp("run")), **QUICK)


@pytest.fixture
def folder(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run.run_dir, copy)
    return copy


class CreatesFile:
    """Unpickling this creates ``path``: what a crafted states file could do instead."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def edit_json(path, **changes):
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    for key, value in changes.items():
        if value is None:
            del manifest[key]
    path.write_text(json.dumps(manifest))


def test_the_run_records_the_sha256_of_its_optimizer_states(run):
    last = json.loads(open(os.path.join(run.run_dir, "last.json")).read())
    assert last["states"] == "last.states"
    assert last["states_sha256"] == hybridzoo.checkpoint.sha256_file(os.path.join(run.run_dir, "last.states"))


@pytest.mark.parametrize("recorded", [True, False], ids=["hash-recorded", "no-hash-recorded"])
def test_resume_never_unpickles_a_states_file_the_run_did_not_record(folder, tmp_path, recorded):
    marker = tmp_path / "pwned"
    (folder / "last.states").write_bytes(pickle.dumps(CreatesFile(str(marker))))
    if not recorded:  # a last.json that records no hash (or was edited to drop it)
        edit_json(folder / "last.json", states_sha256=None)
    with pytest.raises(UntrustedFileError, match="sha256 mismatch|records no sha256"):
        train.train("softmax_regression", resume=str(folder), epochs=2, progress=False)
    assert not marker.exists()


def test_a_truncated_states_file_is_one_error(folder):
    states = folder / "last.states"
    states.write_bytes(states.read_bytes()[:20])
    with pytest.raises(UntrustedFileError, match="sha256 mismatch for .*last.states"):
        train.train("softmax_regression", resume=str(folder), epochs=2, progress=False)


@pytest.mark.parametrize("field, value, message", [
    ("recipe", None, "has no recipe"), ("history", 5, "has no history"), ("model", None, "has no model"),
    ("recipe", {"lr": 0.1, "unknown": 1}, "its recipe does not fit this version"),
])
def test_resume_from_a_last_json_train_did_not_write_is_one_error(folder, field, value, message):
    edit_json(folder / "last.json", **{field: value})
    with pytest.raises(ValueError, match=message):
        train.train("softmax_regression", resume=str(folder), epochs=2, progress=False)


def test_resume_with_recorded_states_continues(folder):
    resumed = train.train("softmax_regression", resume=str(folder), epochs=2, progress=False)
    assert [r["epoch"] for r in resumed.history] == [1, 2]


@pytest.mark.parametrize("name", ["../../../../etc/passwd", "/etc/passwd"])
def test_a_manifest_naming_a_file_outside_its_folder_is_refused(folder, name):
    edit_json(folder / "best.json", params=name)
    with pytest.raises(UntrustedFileError, match="outside its folder"):
        hybridzoo.get_model("softmax_regression", pretrained=str(folder / "best.json"))
    edit_json(folder / "last.json", params=name)
    with pytest.raises(UntrustedFileError, match="outside its folder"):
        train.train("softmax_regression", resume=str(folder), epochs=2, progress=False)


def test_an_absolute_params_path_elsewhere_is_not_loaded_unchecked(folder, tmp_path):
    """Before: the file a manifest named elsewhere had no manifest beside it, so it was loaded
    unchecked (and its recorded sha256 ignored)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(folder / "best.params", elsewhere / "other.params")
    edit_json(folder / "best.json", params=str(elsewhere / "other.params"))
    net = hybridzoo.get_model("softmax_regression")
    with pytest.raises(UntrustedFileError, match="outside its folder"):
        weights.load_weights(net, "softmax_regression", str(folder / "best.json"))


def test_a_manifest_inside_naming_an_unrecorded_file_is_checked(folder):
    shutil.copy(folder / "best.params", folder / "copy.params")
    edit_json(folder / "best.json", params="copy.params")  # copy.params has no manifest of its own
    net = hybridzoo.get_model("softmax_regression")
    with pytest.raises(FileNotFoundError, match="has no manifest"):
        weights.load_weights(net, "softmax_regression", str(folder / "best.json"))


def test_a_symlink_out_of_the_folder_is_refused(folder, tmp_path):
    outside = tmp_path / "outside.params"
    shutil.move(folder / "best.params", outside)
    os.symlink(outside, folder / "best.params")
    with pytest.raises(UntrustedFileError, match="outside its folder"):
        hybridzoo.get_model("softmax_regression", pretrained=str(folder))


def test_resume_loads_the_params_file_it_verified(folder):
    """Before: last.json's params file was verified, then last.params was loaded whatever it held."""
    shutil.copy(folder / "last.params", folder / "kept.params")
    edit_json(folder / "last.json", params="kept.params")
    kept = mx.nd.load(str(folder / "kept.params"))
    mx.nd.save(str(folder / "last.params"), {k: v * 0 for k, v in kept.items()})
    # adam starts a fresh optimizer state; lr 0 leaves the loaded weights as they are
    train.train("softmax_regression", resume=str(folder), epochs=2, lr=0.0, optimizer="adam", progress=False)
    for name, value in mx.nd.load(str(folder / "last.params")).items():
        assert (value == kept[name]).asnumpy().all(), name


def test_a_diverged_run_stops_and_keeps_its_last_finite_epoch(tmp_path):
    """--momentum 5: the loss reaches 7e27 in epoch 2 and NaN in epoch 3. Before, the run ended
    normally and a NaN epoch could be saved; now it stops naming the epoch and the fix."""
    out = tmp_path / "diverged"
    with pytest.raises(DivergedError, match=r"diverged in epoch 3 .*lower --lr \(now 0.1\) or --momentum; "
                                            r".* keeps epoch 2, the last finite one"):
        train.train("softmax_regression", out=str(out), lr=0.1, epochs=3, batch_size=64, momentum=5,
                    progress=False)
    assert json.loads((out / "last.json").read_text())["epochs"] == 2
    assert [json.loads(line)["epoch"] for line in open(out / "log.jsonl")] == [1, 2]
    for value in mx.nd.load(str(out / "best.params")).values():
        assert np.isfinite(value.asnumpy()).all()


def test_weights_that_are_no_longer_finite_are_never_kept():
    net = train.build_net("softmax_regression")
    guards.check_weights(net, 1, 0.1)  # finite: nothing to say
    name, weight = next(iter(net.collect_params().items()))
    values = weight.data().asnumpy()
    values[0, 0] = np.inf
    weight.set_data(mx.nd.array(values))
    with pytest.raises(DivergedError, match=rf"diverged in epoch 4 \({name} is no longer finite\)"):
        guards.check_weights(net, 4, 0.1)


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_overwrite_keeps_the_earlier_run_until_the_new_one_has_a_checkpoint(folder, monkeypatch):
    before = snapshot(folder)
    with pytest.raises(ValueError, match=r"--resize 4 is too small for lenet: use --resize (\d+) or more") as error:
        train.train("lenet", out=str(folder), overwrite=True, resize=4, **QUICK)
    assert snapshot(folder) == before
    smallest = int(re.search(r"--resize (\d+) or more", str(error.value)).group(1))
    net = train.build_net("lenet", resize=smallest)  # the size named fits, one less does not
    assert net(mx.nd.zeros((1, 1, smallest, smallest))).shape == (1, 10)
    with pytest.raises(ValueError, match=f"--resize {smallest - 1} is too small"):
        train.build_net("lenet", resize=smallest - 1)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(train, "fit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train.train("softmax_regression", out=str(folder), overwrite=True, **QUICK)
    assert snapshot(folder) == before


def test_ctrl_c_before_the_first_checkpoint_of_an_overwrite_names_the_kept_run(folder, monkeypatch, capsys):
    before = snapshot(folder)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(train, "fit", interrupted)
    status = load_tool("train").main(["--model", "softmax_regression", "--out", str(folder), "--overwrite", "--quiet"])
    assert status == 130 and snapshot(folder) == before
    assert capsys.readouterr().err.strip() == (f"interrupted before the first epoch finished; {folder} keeps "
                                               "the run it held")


@pytest.mark.parametrize("override, message", [
    (dict(lr=float("nan")), "--lr nan is not a finite number"),
    (dict(lr=float("inf")), "--lr inf is not a finite number"),
    (dict(wd=float("nan")), "--wd nan is not a finite number"),
    (dict(batch_size=5000), "--batch-size 5000 is more than the 1437 training examples of digits"),
], ids=["lr-nan", "lr-inf", "wd-nan", "batch-size"])
def test_recipe_numbers_that_cannot_train_are_one_error(tmp_path, override, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        train.train("softmax_regression", out=str(tmp_path / "x"), **dict(QUICK, **override))
    assert not (tmp_path / "x").exists() or not os.listdir(tmp_path / "x")


INTERRUPT_IMPORT = """
import runpy, sys
class CtrlC:  # Ctrl-C arriving while {module} loads, before the tool's main() runs
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            raise KeyboardInterrupt
sys.meta_path.insert(0, CtrlC())
sys.argv = [{tool!r}] + {args!r}
runpy.run_path({tool!r}, run_name="__main__")
"""


@pytest.mark.parametrize("tool, module, args", [
    ("train", "mxnet", ["--model", "lenet", "--out", "run"]),
    ("infer", "onnxruntime", ["model.onnx", "digit.png"]),
])
def test_ctrl_c_while_a_tool_imports_is_one_line_and_exit_130(tmp_path, tool, module, args):
    code = INTERRUPT_IMPORT.format(module=module, tool=str(TOOLS / f"{tool}.py"), args=args)
    result = run_code(code, cwd=tmp_path, timeout=120)
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip().splitlines() == ["interrupted"]


def test_train_cli_refuses_non_finite_numbers_and_bounds_workers(tmp_path, capsys):
    cli = load_tool("train")
    for flag in ("--lr", "--wd", "--momentum"):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["--model", "lenet", "--out", str(tmp_path / "x"), flag, "nan"])
        assert exit_info.value.code == 2
        assert f"{flag} must be a finite number, got nan" in capsys.readouterr().err
    args = cli.parse_args(["--model", "lenet", "--workers", "100000"])
    assert args.workers == _cli.available_cores() < 100000
    assert capsys.readouterr().err.strip() == (f"warning: --workers 100000 is more than the {args.workers} cores "
                                               f"here; using {args.workers} DataLoader worker processes")


# --------------------------------------------------------------------------- infer
@pytest.fixture(scope="module")
def artifact(run, tmp_path_factory):
    """The trained run exported to ONNX (no agreement check: not what these tests are about)."""
    out = tmp_path_factory.mktemp("artifacts")
    assert load_tool("export").main(["--model", "softmax_regression", "--params", run.run_dir, "--out", str(out),
                                     "--format", "onnx", "--no-verify"]) == 0
    return out / "softmax_regression"


def classify(infer_cli, capsys, *args):
    assert infer_cli.main([*map(str, args), "--json", "--top-k", "1"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)["predictions"]


def test_sixteen_bit_pngs_are_scaled_by_their_depth(artifact, infer_cli, capsys, tmp_path):
    """The 360 test digits as 8-bit PNGs and as the same pixels in 16 bits (v * 257): before,
    the 16-bit ones were clipped to 0/255 and most were misread."""
    eight = data.write_digits_png(str(tmp_path / "8bit"), count=360)
    (tmp_path / "16bit").mkdir()
    for path in eight:
        pixels = np.asarray(Image.open(path), dtype=np.uint16) * 257
        wide = Image.fromarray(pixels)
        assert wide.mode == "I;16"
        wide.save(tmp_path / "16bit" / os.path.basename(path))
    assert Image.open(tmp_path / "16bit" / os.path.basename(eight[0])).mode == "I;16"
    narrow, deep = (classify(infer_cli, capsys, artifact, tmp_path / d) for d in ("8bit", "16bit"))

    def right(predictions):
        return sum(p["top"][0]["label"] == p["input"].rsplit("label", 1)[1][:-4] for p in predictions)
    assert right(deep) == right(narrow) > 360 * 0.5  # 0.5: far above chance (0.1), whatever the run
    for a, b in zip(narrow, deep):
        assert a["top"][0]["class"] == b["top"][0]["class"]
        assert b["top"][0]["prob"] == pytest.approx(a["top"][0]["prob"], abs=1e-5)


def png_claiming(path, width, height):
    """A 1x1 PNG whose header claims ``width`` x ``height`` (what a decompression bomb looks like)."""
    Image.new("L", (1, 1)).save(path)
    raw = bytearray(path.read_bytes())
    start = raw.index(b"IHDR")
    raw[start + 4:start + 12] = struct.pack(">II", width, height)
    raw[start + 17:start + 21] = struct.pack(">I", zlib.crc32(bytes(raw[start:start + 17])))
    path.write_bytes(bytes(raw))
    return path


def bad_artifact(artifact, tmp_path, kind):
    """A copy of the artifact made bad in one way, and an input; returns (args, expected text)."""
    folder = tmp_path / "artifact"
    shutil.copytree(artifact, folder)
    manifest = folder / "manifest.json"
    digit = data.write_digits_png(str(tmp_path / "digits"), count=1)[0]
    edits = {"std-zero": dict(preprocess=dict(json.loads(manifest.read_text())["preprocess"], std=[0])),
             "list-preprocess": dict(preprocess=[1, 28, 28]), "string-labels": dict(labels="0123456789"),
             "file-outside": dict(files={"../../../../etc/passwd": {"sha256": "0"}}),
             "huge-resize": dict(preprocess=dict(json.loads(manifest.read_text())["preprocess"], resize=10 ** 9))}
    if kind in edits:
        edit_json(manifest, **edits[kind])
    elif kind == "list-manifest":
        manifest.write_text("[1, 2]")
    elif kind == "changed-model":
        with open(folder / "model.onnx", "ab") as f:
            f.write(b"\0")
    elif kind == "nan-array":
        np.save(tmp_path / "nan.npy", np.full((1, 28, 28), np.nan, np.float32))
        digit = tmp_path / "nan.npy"
    elif kind in ("bomb", "huge"):
        side = 20000 if kind == "bomb" else 10000  # Pillow refuses the first, warns about the second
        digit = png_claiming(tmp_path / f"{kind}.png", side, side)
    return [folder, digit], {
        "std-zero": "std [0.0] has a zero", "list-preprocess": "preprocess is a list, not a JSON object",
        "string-labels": "labels are a str, not a list", "file-outside": "'../../../../etc/passwd', which is not inside",
        "list-manifest": "holds a JSON list, not an object", "changed-model": "sha256 differs",
        "nan-array": "nan.npy: array holds NaN", "bomb": "bomb.png: image is far larger than",
        "huge": "huge.png: image is 10000x10000 pixels, more than",
        "huge-resize": "resize 1000000000 scales the image to 1000000000x1000000000 pixels"}[kind]


BAD = ["std-zero", "list-preprocess", "string-labels", "file-outside", "list-manifest", "changed-model",
       "nan-array", "bomb", "huge", "huge-resize"]


@pytest.mark.parametrize("kind", BAD)
def test_infer_refuses_a_bad_manifest_or_input_with_one_line(artifact, infer_cli, capsys, tmp_path, kind):
    args, expected = bad_artifact(artifact, tmp_path, kind)
    assert infer_cli.main([str(a) for a in args]) == 1
    err = capsys.readouterr().err
    (line,) = error_lines(err)
    assert expected in line and "Warning" not in err


def test_a_calibration_folder_with_a_decompression_bomb_is_one_error(tmp_path):
    """export.py --calib reads folders with infer's loader: the same refusal, before decoding."""
    from export.deploy.preprocess import InputError
    from export.precision import calibrate
    png_claiming(tmp_path / "bomb.png", 20000, 20000)
    preprocess = {"color": "L", "input_size": [28, 28], "scale": 1 / 255}
    with pytest.raises(InputError, match="bomb.png: image is far larger than"):
        calibrate.from_folder(str(tmp_path), (1, 28, 28), preprocess)


def test_a_bench_batch_beyond_memory_is_one_line(artifact, infer_cli, capsys):
    """Before: numpy's MemoryError (a traceback), or (--bench 10000000, 63 GB) swapping until
    killed. 10**12 makes the old code fail at once rather than fill the machine's memory."""
    batch = 10 ** 12
    assert infer_cli.main([str(artifact), "--bench", str(batch), "--repeats", "1"]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert re.search(rf"batch {batch} needs at least [\d.]+ GB .* use batches under \d+$", line), line


def test_threads_beyond_the_cores_are_bounded_with_a_warning(artifact, infer_cli, capsys):
    cores = _cli.available_cores()
    assert infer_cli.main([str(artifact), "--bench", "1", "--repeats", "1", "--threads", "100000"]) == 0
    err = capsys.readouterr().err
    assert err.strip() == f"warning: --threads 100000 is more than the {cores} cores here; using {cores} onnxruntime threads"
