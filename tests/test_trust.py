"""Issue 21 (trust), the train side: a run loads only files its manifest names inside its folder
and whose sha256 it recorded, never unpickles an unrecorded file, and bad input is one line."""
import json
import os
import pickle
import shutil

import mxnet as mx
import pytest

import hybridzoo
from hybridzoo import train, weights
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
