"""Faults lose nothing: the user's files survive a second export into the same folder, an export
never overwrites its own input, two prefixes keep their manifests, and killed exports (SIGKILL,
SIGTERM) leave nothing behind for good. Bad inputs: tests/test_export_bad_inputs.py."""
import json
import os
import signal
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import export
from export.artifacts.package import export_artifact
from export.errors import InvalidInputError, OutputFolderError
from export.files import owner
from export.files.staging import staged_dir
from export.onnx import export_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_net(prefix="tiny_"):
    net = nn.HybridSequential(prefix=prefix)
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, in_channels=1), nn.BatchNorm(in_channels=4), nn.Dense(3, in_units=4 * 6 * 6))
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    return net


def export_tiny(out, net=None, **kwargs):
    return export_artifact(net or tiny_net(), str(out), name="tiny", input_shape=(1, 8, 8), ctx=mx.cpu(), **kwargs)


def hidden(folder):
    return sorted(n for n in os.listdir(folder) if n.startswith("."))


# -- 1. a second export into the same folder keeps the user's files ------------------------------
def test_a_second_export_keeps_the_users_files_and_replaces_its_own(tmp_path):
    folder = tmp_path / "tiny"
    export_tiny(tmp_path)
    (folder / "notes.txt").write_text("my notes")
    (folder / "sub").mkdir()
    (folder / "sub" / "keep.params").write_bytes(b"mine")
    first = (folder / "model.onnx").read_bytes()
    export_tiny(tmp_path, net=tiny_net())  # other random weights: model.onnx changes
    assert (folder / "notes.txt").read_text() == "my notes"
    assert (folder / "sub" / "keep.params").read_bytes() == b"mine"
    assert (folder / "model.onnx").read_bytes() != first
    manifest = json.loads((folder / "manifest.json").read_text())
    assert export.files.io.sha256_file(folder / "model.onnx") == manifest["files"]["model.onnx"]["sha256"]
    assert hidden(tmp_path) == [] and hidden(folder) == []


def test_export_tool_run_twice_keeps_the_notes_and_the_params_it_was_given_from_that_folder(tmp_path):
    def export_tool(*args):
        return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export.py"), "--model", "lenet_bn",
                               "--out", str(tmp_path), "--no-verify", *args], capture_output=True, text=True,
                              env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert export_tool("--untrained").returncode == 0
    folder = tmp_path / "lenet_bn"
    (folder / "notes.txt").write_text("my notes")
    (folder / "mine.params").write_bytes((folder / "lenet_bn-0000.params").read_bytes())
    second = export_tool("--params", str(folder / "mine.params"))
    assert second.returncode == 0, second.stderr
    assert (folder / "notes.txt").read_text() == "my notes" and (folder / "mine.params").is_file()
    assert "mine.params" in json.loads((folder / "manifest.json").read_text())["weights"]["source"]


def test_our_files_that_the_new_export_does_not_make_are_removed_the_users_kept(tmp_path):
    export_tiny(tmp_path)
    (tmp_path / "tiny" / "notes.txt").write_text("my notes")
    export_tiny(tmp_path, formats=("onnx",))
    assert sorted(os.listdir(tmp_path / "tiny")) == ["manifest.json", "model.onnx", "notes.txt", "report.json"]


def test_a_users_file_where_the_export_writes_is_refused_and_kept(tmp_path):
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "model.onnx").write_bytes(b"the user's own model")
    with pytest.raises(OutputFolderError, match=r"did not write.*model\.onnx.*another --out") as err:
        export_tiny(tmp_path)
    assert "\n" not in str(err.value)
    assert os.listdir(tmp_path / "tiny") == ["model.onnx"]
    assert (tmp_path / "tiny" / "model.onnx").read_bytes() == b"the user's own model"
    assert hidden(tmp_path) == []


def test_a_file_of_ours_the_user_changed_is_theirs(tmp_path):
    export_tiny(tmp_path)
    (tmp_path / "tiny" / "report.json").write_text("my edited report")
    with pytest.raises(OutputFolderError, match="report.json"):
        export_tiny(tmp_path)
    assert (tmp_path / "tiny" / "report.json").read_text() == "my edited report"


def test_an_output_folder_that_is_a_link_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "tiny")
    export_tiny(tmp_path)
    export_tiny(tmp_path)
    assert os.path.islink(tmp_path / "tiny") and "model.onnx" in os.listdir(tmp_path / "real")


# -- 4. an export never overwrites its input ------------------------------------------------------
@pytest.mark.parametrize("role", ["symbol", "params"])
def test_export_model_refuses_to_write_over_its_own_input(tmp_path, role):
    paths = export.export_symbol(tiny_net(), str(tmp_path / "net"), input_shape=(1, 1, 8, 8))
    before = {k: open(paths[k], "rb").read() for k in ("symbol", "params")}
    alias = os.path.join(str(tmp_path), ".", os.path.basename(paths[role]))  # the same file, spelt otherwise
    with pytest.raises(InvalidInputError, match=f"is the {role} file being exported"):
        export_model(paths["symbol"], paths["params"], [(1, 1, 8, 8)], np.float32, alias)
    assert {k: open(paths[k], "rb").read() for k in ("symbol", "params")} == before


# -- 5. two prefixes in one folder keep their own manifests ------------------------------------
def test_two_prefixes_in_one_folder_keep_their_manifests(tmp_path):
    first = export.export_symbol(tiny_net("a_"), str(tmp_path / "a"), input_shape=(1, 1, 8, 8))
    second = export.export_symbol(tiny_net("b_"), str(tmp_path / "b"), input_shape=(2, 1, 8, 8))
    a, b = (export.files.manifest.read(p["manifest"]) for p in (first, second))
    assert set(a["files"]) == {"a-symbol.json", "a-0000.params"} and a["inputs"][0]["shape"][0] == 1
    assert set(b["files"]) == {"b-symbol.json", "b-0000.params"} and b["inputs"][0]["shape"][0] == 2
    # the reader finds each prefix's own manifest: no input_shape needed, batch from it
    export.export_onnx(str(tmp_path / "a"), tmp_path / "a.onnx", dynamic_batch=False)
    export.export_onnx(str(tmp_path / "b"), tmp_path / "b.onnx", dynamic_batch=False)
    import onnx
    batch = [onnx.load(str(tmp_path / f"{n}.onnx")).graph.input[0].type.tensor_type.shape.dim[0].dim_value
             for n in "ab"]
    assert batch == [1, 2]


# -- 7. killed exports leave nothing for good ------------------------------------------------
KILLED_IN_STAGING = """
import os, signal, sys
from export.files.staging import staged_dir
with staged_dir(sys.argv[1]) as staging:
    open(os.path.join(staging, "model.onnx"), "wb").write(b"x" * 1000)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_staging_folder_left_by_a_killed_export_is_removed_by_the_next(tmp_path):
    result = subprocess.run([sys.executable, "-c", KILLED_IN_STAGING, str(tmp_path / "m")], cwd=ROOT)
    assert result.returncode == -signal.SIGKILL
    assert len(hidden(tmp_path)) == 1  # what SIGKILL leaves
    (tmp_path / ".not-ours").mkdir()  # a hidden folder without our owner record: never touched
    with staged_dir(str(tmp_path / "m")) as staging:
        assert hidden(tmp_path) == sorted([".not-ours", os.path.basename(os.path.dirname(staging))])
        open(os.path.join(staging, "model.onnx"), "w").write("new")
    assert hidden(tmp_path) == [".not-ours"] and os.listdir(tmp_path / "m") == ["model.onnx"]


def test_a_kill_between_moving_the_old_folder_out_and_the_new_in_puts_the_old_back(tmp_path):
    work = owner.make_work_dir(str(tmp_path), ".m-", str(tmp_path / "m"))
    os.makedirs(os.path.join(work, "old"))
    open(os.path.join(work, "old", "model.onnx"), "w").write("previous")
    record = json.load(open(os.path.join(work, owner.OWNER_FILE)))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    record["pid"] = int(dead.stdout)
    json.dump(record, open(os.path.join(work, owner.OWNER_FILE), "w"))
    live = owner.make_work_dir(str(tmp_path), ".other-")  # this process's: alive, kept
    assert owner.clean_stale(str(tmp_path)) == [os.path.basename(work)]
    assert (tmp_path / "m" / "model.onnx").read_text() == "previous"
    assert hidden(tmp_path) == [os.path.basename(live)]


def test_a_killed_atomic_writes_temporary_file_is_removed_by_the_next_write_there(tmp_path):
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    left = tmp_path / f".model.onnx.{dead}.0123abcd.tmp"
    live = tmp_path / f".model.onnx.{os.getpid()}.4567cdef.tmp"  # a writer still at work: kept
    odd = tmp_path / f".model.onnx.{10 ** 20}.89abcdef.tmp"  # no pid can write this name: not ours, kept
    left.write_bytes(b"x" * 1000)
    live.write_bytes(b"y")
    odd.write_bytes(b"z")
    export.files.io.atomic_write_text(tmp_path / "other.txt", "new")
    assert hidden(tmp_path) == sorted([live.name, odd.name])


def test_sigterm_during_an_export_leaves_as_ctrl_c_with_nothing_half_written(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", "export.py"), "--model", "lenet_bn",
                                "--untrained", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and not (out.is_dir() and hidden(out)):
        time.sleep(0.05)
    assert hidden(out), "the export never started staging"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists() or os.listdir(out) == []
