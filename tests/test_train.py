"""Training: one short epoch learns, checkpoints verify, resume continues, wd and dropout as D2L says."""
import importlib.util
import json
import os
import shutil

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

import hybridzoo
from hybridzoo import checkpoint, data, train
from hybridzoo.scratch import linreg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = dict(epochs=1, batch_size=32, progress=False)  # 45 steps on the digits training split


def mean_loss(net, loader):
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    losses = [loss_fn(net(x), y).asnumpy() for x, y in loader]
    return float(np.concatenate(losses).mean())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One quick lenet_bn run on digits, shared by the checkpoint tests (read-only)."""
    return train.train("lenet_bn", out=str(tmp_path_factory.mktemp("run")), lr=1.0, **QUICK)


def test_one_short_epoch_lowers_the_loss_and_beats_chance(config_loaders):
    net, (train_loader, test_loader) = config_loaders
    before = mean_loss(net, test_loader)
    trainer = train.make_trainer(net, train.Recipe(lr=1.0, batch_size=32, epochs=1), "device")
    history = train.fit(net, trainer, train_loader, test_loader, mx.cpu(), epochs=1, progress=False)
    after = mean_loss(net, test_loader)
    assert after < 0.5 * before, (before, after)
    assert history[0]["test_accuracy"] > 0.6  # chance is 0.1
    assert history[0]["test_accuracy"] == train.evaluate(net, test_loader, mx.cpu())


@pytest.fixture
def config_loaders():
    net = train.build_net("lenet_bn", ctx=mx.cpu())
    return net, data.image_loaders("digits", net.zoo_config, batch_size=32)


def test_run_writes_verified_best_checkpoint_log_and_curves(run):
    files = sorted(os.listdir(run.run_dir))
    assert files == ["best.json", "best.params", "curves.png", "last.json", "last.params",
                     "last.states", "log.jsonl"], files  # and no temporary leftovers
    manifest = json.loads(open(os.path.join(run.run_dir, "best.json")).read())
    assert manifest["sha256"] == checkpoint.sha256_file(run.best_params)
    assert manifest["model"] == "lenet_bn" and manifest["dataset"] == "digits"
    assert manifest["labels"] == [str(d) for d in range(10)] and manifest["classes"] == 10
    assert manifest["input_shape"] == [1, 28, 28] and manifest["recipe"]["lr"] == 1.0
    assert manifest["final"]["test_accuracy"] == run.history[-1]["test_accuracy"]
    assert manifest["preprocess"]["input_size"] == [28, 28]
    log = [json.loads(line) for line in open(os.path.join(run.run_dir, "log.jsonl"))]
    assert [r["epoch"] for r in log] == [1]
    with open(os.path.join(run.run_dir, "curves.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_pretrained_loads_the_best_parameters(run):
    net = hybridzoo.get_model("lenet_bn", pretrained=run.run_dir)
    assert net.zoo_config.dataset == "digits" and net.zoo_config.labels[3] == "3"
    _, test_loader = data.image_loaders("digits", net.zoo_config, batch_size=64)
    assert train.evaluate(net, test_loader, mx.cpu()) == run.manifest["test_accuracy"]
    same = hybridzoo.get_model("lenet_bn", pretrained=os.path.join(run.run_dir, "best.json"))
    for a, b in zip(net.collect_params().values(), same.collect_params().values()):
        np.testing.assert_array_equal(a.data().asnumpy(), b.data().asnumpy())


def copy_run(run, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(run.run_dir, folder)
    return folder


def test_pretrained_rejects_altered_parameters(run, tmp_path):
    folder = copy_run(run, tmp_path)
    params = folder / "best.params"
    raw = bytearray(params.read_bytes())
    raw[-1] ^= 0xFF
    params.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="sha256 mismatch"):
        hybridzoo.get_model("lenet_bn", pretrained=str(params))


def test_pretrained_rejects_other_architectures_and_heads(run, tmp_path):
    with pytest.raises(ValueError, match="parameters of 'lenet_bn', not 'lenet'"):
        hybridzoo.get_model("lenet", pretrained=run.run_dir)
    with pytest.raises(ValueError, match="trained with 10 classes but the net has 7"):
        hybridzoo.get_model("lenet_bn", classes=7, pretrained=run.run_dir)
    folder = copy_run(run, tmp_path)  # a manifest claiming the wrong model still cannot load
    manifest = json.loads((folder / "best.json").read_text())
    (folder / "best.json").write_text(json.dumps(dict(manifest, model="lenet")))
    with pytest.raises(ValueError, match="does not fit this lenet net"):
        hybridzoo.get_model("lenet", pretrained=str(folder))


def test_pretrained_needs_the_manifest(run, tmp_path):
    folder = copy_run(run, tmp_path)
    os.remove(folder / "best.json")
    with pytest.raises(FileNotFoundError, match="has no manifest"):
        hybridzoo.get_model("lenet_bn", pretrained=str(folder / "best.params"))
    with pytest.raises(FileNotFoundError, match="no parameters for 'lenet_bn'"):
        hybridzoo.get_model("lenet_bn", pretrained=str(tmp_path / "missing.params"))


def test_resume_continues_from_the_checkpoint(run, tmp_path):
    """Resuming with lr=0 keeps the checkpoint's weights (nothing is re-initialized) and
    numbers the new epoch after the saved ones; the recipe override (lr) applies."""
    folder = copy_run(run, tmp_path)
    resumed = train.train("lenet_bn", resume=str(folder), epochs=2, lr=0.0, progress=False)
    assert resumed.run_dir == str(folder) and resumed.manifest["recipe"]["lr"] == 0.0
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    assert resumed.history[0] == run.history[0]  # epoch 1 is kept, not retrained
    assert [json.loads(line)["epoch"] for line in open(folder / "log.jsonl")] == [1, 2]
    before = mx.nd.load(os.path.join(run.run_dir, "last.params"))
    after = mx.nd.load(str(folder / "last.params"))
    for name, value in before.items():
        if "running" not in name:  # BatchNorm statistics still update in training mode
            np.testing.assert_array_equal(after[name].asnumpy(), value.asnumpy(), err_msg=name)
    with pytest.raises(ValueError, match="is a lenet_bn run on digits, not lenet"):
        train.train("lenet", resume=str(folder), progress=False)


def weight_norm(wd):
    net = train.build_net("softmax_regression", ctx=mx.cpu())
    train_loader, test_loader = data.image_loaders("digits", net.zoo_config, batch_size=32)
    trainer = train.make_trainer(net, train.Recipe(lr=0.1, batch_size=32, epochs=1, wd=wd), "device")
    train.fit(net, trainer, train_loader, test_loader, mx.cpu(), epochs=1, progress=False)
    return float(np.linalg.norm(net.output.weight.data().asnumpy()))


def test_weight_decay_shrinks_the_weight_norm():
    # 45 steps at lr 0.1: decay alone would scale the weights by (1 - 0.1 * 0.1) ** 45 = 0.64
    assert weight_norm(wd=0.1) < 0.85 * weight_norm(wd=0.0)


def test_dropout_is_active_only_in_training_mode():
    net = hybridzoo.get_model("mlp_dropout")
    net.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(shape=(8, 1, 28, 28))
    predict = net(x).asnumpy()
    np.testing.assert_array_equal(net(x).asnumpy(), predict)
    with autograd.record(train_mode=False):
        np.testing.assert_array_equal(net(x).asnumpy(), predict)
    with autograd.record(train_mode=True):
        first, second = net(x).asnumpy(), net(x).asnumpy()
    assert not np.allclose(first, predict) and not np.allclose(first, second)
    hidden = net.features[:2]  # Dense(256, relu), Dropout(0.2)
    with autograd.record(train_mode=True):
        dropped = hidden(x).asnumpy()
    active = net.features[0](x).asnumpy()
    alive = active != 0
    assert 0.15 < (dropped[alive] == 0).mean() < 0.25  # Dropout(0.2) zeroes a fifth ...
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], active[kept] / 0.8, rtol=1e-5)  # ... and rescales the rest


@pytest.fixture(scope="module")
def linear_data():
    return data.synthetic_linear()


@pytest.mark.parametrize("fit", [linreg.train_scratch, linreg.train_gluon])
def test_linear_regression_recovers_w_and_b(fit, linear_data):
    w, b, losses = fit(*linear_data)
    np.testing.assert_allclose(w, data.TRUE_W, atol=0.01)
    assert abs(b - data.TRUE_B) < 0.01
    assert losses[-1] < 1e-4 < losses[0]  # noise 0.01 -> half squared error 5e-5


def test_linear_regression_with_the_zoo_model(linear_data):
    w, b, _ = linreg.train_gluon(*linear_data, net=hybridzoo.get_model("linear_regression"))
    np.testing.assert_allclose(w, data.TRUE_W, atol=0.01)
    assert abs(b - data.TRUE_B) < 0.01


def test_recipe_and_context_errors():
    config = hybridzoo.get_config("lenet")
    recipe = train.Recipe.from_config(config, lr=None, epochs=3)
    assert (recipe.lr, recipe.epochs, recipe.batch_size) == (config.lr, 3, config.batch_size)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        train.Recipe.from_config(config, optimizer="rmsprop")
    with pytest.raises(ValueError, match="unknown kvstore"):
        train.Recipe.from_config(config, kvstore="nccl2")
    assert train.resolve_context("auto") == (mx.gpu(0) if mx.context.num_gpus() else mx.cpu())
    with pytest.raises(ValueError, match="unknown context"):
        train.resolve_context("tpu")


def load_cli():
    spec = importlib.util.spec_from_file_location("train_cli", os.path.join(ROOT, "tools", "train.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_trains_and_reports(tmp_path, capsys):
    cli = load_cli()
    out = tmp_path / "cli"
    code = cli.main(["--model", "softmax_regression", "--epochs", "1", "--batch-size", "64",
                     "--optimizer", "adam", "--lr", "0.01", "--kvstore", "local", "--out", str(out), "--quiet"])
    assert code == 0
    assert "best test accuracy" in capsys.readouterr().out
    manifest = json.loads((out / "best.json").read_text())
    assert manifest["recipe"]["optimizer"] == "adam" and manifest["recipe"]["kvstore"] == "local"
    assert manifest["test_accuracy"] > 0.5


def test_cli_reports_missing_fashion_mnist(tmp_path, capsys):
    code = load_cli().main(["--model", "lenet", "--dataset", "fashion_mnist",
                            "--data-dir", str(tmp_path), "--out", str(tmp_path / "x"), "--quiet"])
    assert code == 1
    assert f"Fashion-MNIST not found in {tmp_path}" in capsys.readouterr().err


def test_new_run_into_a_run_folder_is_refused_and_changes_nothing(run, tmp_path, capsys):
    """Without --resume a second run would replace best.params even when worse and append to
    the first run's log; it must refuse, naming the way out, and touch no file."""
    folder = copy_run(run, tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(train.RunExistsError, match="already holds a run"):
        train.train("lenet_bn", out=str(folder), **QUICK)
    code = load_cli().main(["--model", "lenet_bn", "--epochs", "1", "--out", str(folder), "--quiet"])
    assert code == 1
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line]
    assert line.startswith(f"error: {folder} already holds a run (lenet_bn on digits, best test accuracy")
    assert f"--resume {folder}" in line and "--out" in line and "--overwrite" in line
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_overwrite_replaces_the_run_whole_and_keeps_other_files(run, tmp_path):
    folder = copy_run(run, tmp_path)
    (folder / "notes.txt").write_text("the user's own file")
    result = train.train("lenet_bn", out=str(folder), overwrite=True, lr=0.5, **QUICK)
    log = [json.loads(line) for line in open(folder / "log.jsonl")]
    assert [r["epoch"] for r in log] == [1] and log[0]["test_accuracy"] == result.history[0]["test_accuracy"]
    assert json.loads((folder / "best.json").read_text())["recipe"]["lr"] == 0.5
    assert (folder / "notes.txt").read_text() == "the user's own file"


def test_a_folder_without_a_run_is_used_as_it_is(tmp_path):
    (tmp_path / "notes.txt").write_text("the user's own file")
    result = train.train("softmax_regression", out=str(tmp_path), **QUICK)
    assert os.path.isfile(result.best_params) and (tmp_path / "notes.txt").exists()


def test_ctrl_c_waits_until_a_checkpoint_pair_is_written(tmp_path):
    """SIGINT inside checkpoint.uninterrupted() is held until the block ends, then raised."""
    import signal

    finished = []
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (not pytest &)
    try:
        with pytest.raises(KeyboardInterrupt):
            with checkpoint.uninterrupted():
                os.kill(os.getpid(), signal.SIGINT)
                checkpoint.write_json(str(tmp_path / "pair.json"), {"written": True})
                finished.append(True)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
    assert finished and json.loads((tmp_path / "pair.json").read_text()) == {"written": True}
