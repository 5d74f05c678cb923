"""The zoo: every registered model builds, trains, hybridizes, saves and exports cleanly."""
import json
import os
import subprocess
import sys
import warnings

import hybridzoo
import mxnet as mx
import numpy as np
import pytest
from hybridzoo import gluon_weights, registry
from hybridzoo.init import HeFanOut
from hybridzoo.layers import Linear
from hybridzoo.stats import model_stats
from hybridzoo.testing import infer_output_shapes, init_model, randomize_batchnorm

from export.memory import release_memory

D2L_MODELS = ("linear_regression", "softmax_regression", "mlp", "mlp_dropout", "lenet", "lenet_bn",
              "alexnet", "vgg11", "nin", "googlenet", "resnet18", "densenet")
IMAGENET_MODELS = ("resnet34", "resnet50", "resnet101", "resnet152", "vgg13", "vgg16", "vgg19",
                   "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
                   "densenet121", "densenet161", "densenet169", "densenet201")
# Issue 11: pre-activation ResNets, Gluon's v1 layout, and the rest of MXNet's vision zoo.
VISION_ZOO_MODELS = tuple(f"resnet{d}_v{v}" for d in (18, 34, 50, 101, 152) for v in (1, 2)) + (
    "squeezenet1_0", "squeezenet1_1", "inception_v3") + tuple(
    f"mobilenet{w}" for w in ("1_0", "0_75", "0_5", "0_25")) + tuple(
    f"mobilenet_v2_{w}{layout}" for w in ("1_0", "0_75", "0_5", "0_25") for layout in ("", "_gluoncv"))
# Issue 11 part 4: D2L's later chapters (inputs beyond one float image, described by the config).
SEQUENCE_MODELS = ("rnn_lm", "gru_lm", "lstm_lm", "transformer_classifier", "bert_small")
DENSE_PREDICTION_MODELS = ("fcn_resnet18", "tiny_ssd")

# Smaller inputs keep the suite fast: the 28x28 models run at their own size; the 224- and
# 96-pixel D2L models and every ImageNet variant run at 32x32 (the ResNets, DenseNets, GoogLeNet
# and VGGs downsample by 32), except AlexNet and NiN at 96 (a stride-4 11x11 conv and three 3/2
# max-pools need >= 67 pixels), Inception v3 at 75 (its smallest) and the tiny SSD at 64 (its five
# scales halve the size six times). Every image model takes input_size=, which also sizes the Dense
# head where it depends on the input (AlexNet, VGG). ImageNet variants keep their 3 channels.
# Sequence models run TEST_SEQ steps (any length works; tests/test_agreement.py varies it).
TEST_INPUT_SIZE = {"alexnet": 96, "nin": 96, "inception_v3": 75, "tiny_ssd": 64}
SMALL_INPUT = 32
TEST_SEQ = 6
BATCH = 2


def input_for(name):
    """The dim sizes a model is tested at (``seq``...) and the kwargs that build it so."""
    config = hybridzoo.get_config(name)
    if not config.is_image:
        return ({"seq": TEST_SEQ} if "seq" in config.dims else {}), {}
    size = min(config.input_shape[1], TEST_INPUT_SIZE.get(name, SMALL_INPUT))
    return {}, {"input_size": size}


def as_list(outputs):
    return [o.asnumpy() for o in outputs] if isinstance(outputs, (list, tuple)) else [outputs.asnumpy()]


def fits(shapes, expected):
    """``shapes`` are the ``expected`` ones, where a dim the config cannot size (``None``:
    the tiny SSD's anchor count) may be anything."""
    return len(shapes) == len(expected) and all(
        len(s) == len(e) and all(d == w for d, w in zip(s, e) if w is not None)
        for s, e in zip(shapes, expected))


def without_gradients(net):
    """``net`` with no gradient buffers (``grad_req`` null frees them): only the backward check
    needs them, and float64 casts would double them (ResNet-152: 240 MB, 480 in float64)."""
    net.collect_params().setattr("grad_req", "null")
    return net


class Case:
    """One initialized model (BatchNorm/LayerNorm randomized), its inputs and imperative outputs.
    The net keeps no gradients; ``trainable`` names the parameters that take them in training."""

    def __init__(self, name):
        self.dims, self.kwargs = input_for(name)
        self.name = name
        self.net = init_model(hybridzoo.get_model(name, **self.kwargs))
        self.trainable = {p.name for p in self.net.collect_params().values() if p.grad_req != "null"}
        without_gradients(self.net)
        arrays = self.net.zoo_config.sample_inputs(BATCH, seed=1, **self.dims)
        self.inputs = [mx.nd.array(x, dtype=x.dtype) for x in arrays]
        self.expected = self.run(self.net)  # inference mode: running statistics
        self._expected64 = None

    def run(self, net, inputs=None):
        return as_list(net(*(inputs or self.inputs)))

    def inputs64(self):
        """The inputs with float ones in float64 (token ids and lengths keep their dtype)."""
        return [x.astype("float64") if x.dtype == np.float32 else x for x in self.inputs]

    def float64_reference(self):
        """The imperative outputs in float64 (computed once): the net run op by op
        (``hybridize(active=False)``), then put back in float32 and its hybridization."""
        if self._expected64 is None:
            active = self.net._active
            self.net.hybridize(active=False)
            self.net.cast("float64")
            try:
                self._expected64 = self.run(self.net, self.inputs64())
            finally:
                self.net.cast("float32")
                self.net.hybridize(active=active)
        return self._expected64

    def fresh(self):
        """Another, uninitialized instance built after other nets (global counters moved on)."""
        hybridzoo.get_model("mlp")
        return without_gradients(hybridzoo.get_model(self.name, **self.kwargs))


# Built once per model (building and initializing ResNet-152 dominates its checks); pytest
# groups the tests by model. When it moves on, the Case drops its net and the memory is given
# back before the next is built: pytest still holds the finished Case itself, and a collection
# that waits for conftest's threshold would stack one model's garbage under the next's peak.
@pytest.fixture(scope="module", params=hybridzoo.list_models())
def case(request):
    built = Case(request.param)
    yield built
    built.__dict__.clear()
    release_memory()


def test_every_issue_model_is_registered():
    assert set(D2L_MODELS + IMAGENET_MODELS + VISION_ZOO_MODELS + SEQUENCE_MODELS
               + DENSE_PREDICTION_MODELS) <= set(hybridzoo.list_models())


def test_forward_shape_and_finite(case):
    config = case.net.zoo_config
    assert fits([o.shape for o in case.expected], config.output_shapes(BATCH, **case.dims))
    assert all(np.isfinite(o).all() for o in case.expected)


def test_backward_reaches_every_parameter(case):
    params = case.net.collect_params().values()
    running = {p.name: p.data().copy() for p in params if p.name not in case.trainable}
    for p in params:
        if p.name in case.trainable:
            p.grad_req = "write"
    rng = np.random.RandomState(2)
    # a detector's NMS has no gradient: its losses read the outputs before it
    trained = getattr(case.net, "training_block", case.net)
    with mx.autograd.record():  # training mode: batch statistics, dropout active
        outputs = trained(*case.inputs)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        loss = mx.nd.add_n(*[(y * mx.nd.array(rng.normal(size=y.shape))).sum() for y in outputs])
    loss.backward()
    dead = [p.name for p in params if p.name in case.trainable and not p.grad().abs().sum().asscalar() > 0]
    for p in params:  # training updated the BatchNorm running statistics; put them back
        if p.name in running:
            p.set_data(running[p.name])
    without_gradients(case.net)
    assert not dead, f"no gradient reaches {dead}"


# Graph and imperative runs are compared in float64. In float32, MXNet's MKLDNN backend keeps
# other memory layouts between ops in a graph than op by op, so it may pick other conv kernels:
# the two results then differ by rounding that depth amplifies (pre-activation ResNets, whose
# branches end in a conv added to the shortcut: 5e-6 at ResNet-101 v2, both equally far from
# the float64 result, identical with MXNET_MKLDNN_ENABLED=0; MobileNet v2 now and then by 3e-6,
# depending on what ran before in the process). MKLDNN does not run float64, so there the modes
# agree to rounding and a 1e-5 difference is a real one. The float32 graph is checked against
# the imperative net by the agreement layer (tests/test_agreement.py).
# MultiBoxPrior and MultiBoxDetection have float32 kernels only: the tiny SSD is compared in
# float32 (its graph and imperative runs agree to the bit: no kernel choice differs).
FLOAT32_ONLY = ("tiny_ssd",)


def assert_graph_matches_imperative(case, graph):
    """``graph`` (the hybridized net or its SymbolBlock reload) gives the imperative result."""
    if case.name in FLOAT32_ONLY:
        expected, actual = case.expected, case.run(graph)
    else:
        expected = case.float64_reference()
        graph.cast("float64")
        try:
            actual = case.run(graph, case.inputs64())
        finally:
            graph.cast("float32")
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)


def test_hybridized_matches_imperative(case):
    case.net.hybridize()
    assert_graph_matches_imperative(case, case.net)


def assert_same_outputs(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a, e)


def test_save_load_roundtrip(case, tmp_path):
    case.net.save_parameters(str(tmp_path / "model.params"))
    fresh = case.fresh()
    fresh.load_parameters(str(tmp_path / "model.params"), ctx=case.inputs[0].context)
    assert_same_outputs(case.run(fresh), case.expected)


def test_export_is_legacy_symbol_and_reloads_by_name(case, tmp_path):
    case.net.hybridize()
    case.net(*case.inputs)
    case.net.export(str(tmp_path / "model"))
    graph = json.loads((tmp_path / "model-symbol.json").read_text())
    numpy_ops = sorted({n["op"] for n in graph["nodes"] if n["op"].startswith("_np")})
    assert not numpy_ops, f"numpy-interface ops in the symbol: {numpy_ops}"
    # Exported params are keyed by full parameter names ("arg:lenet_features_conv0_weight");
    # another instance, built after other nets, must accept them: names may not use counters.
    fresh = case.fresh()
    fresh.collect_params().load(str(tmp_path / "model-0000.params"), ctx=case.inputs[0].context)
    assert_same_outputs(case.run(fresh), case.expected)
    del fresh  # one extra copy of the weights at a time (ResNet-152: 240 MB each, 480 in float64)
    imported = mx.gluon.SymbolBlock.imports(str(tmp_path / "model-symbol.json"),
                                            case.net.zoo_config.input_names(),
                                            str(tmp_path / "model-0000.params"), ctx=case.inputs[0].context)
    assert_graph_matches_imperative(case, without_gradients(imported))


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_classes_changes_head(name):
    dims, kwargs = input_for(name)
    net = hybridzoo.get_model(name, classes=7, **kwargs)
    assert net.zoo_config.classes == 7
    shapes = infer_output_shapes(net, BATCH, **dims)
    assert fits(shapes, net.zoo_config.output_shapes(BATCH, **dims))
    default = hybridzoo.get_model(name, **kwargs)
    assert shapes != infer_output_shapes(default, BATCH, **dims) or \
        trainable_count(net) != trainable_count(default)  # (a detector's outputs keep their shape)


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_parameter_names_are_stable(name):
    first = hybridzoo.get_model(name)
    hybridzoo.get_model("lenet")  # advances MXNet's global name counters
    second = hybridzoo.get_model(name)
    assert list(first.collect_params().keys()) == list(second.collect_params().keys())


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_default_build_matches_config(name):
    """The entry point with no arguments builds the net its config describes (shapes only)."""
    config = hybridzoo.get_config(name)
    net = hybridzoo.get_model(name)
    assert fits(infer_output_shapes(net), config.output_shapes(1))
    assert net.zoo_config == config and net.zoo_name == name


# MXNet's Gluon vision zoo: our nets have its parameter counts (trainable scalars, as
# ``count_parameters``), except that its ResNet-50+ v1 and VGG-BN convs that feed a BatchNorm
# carry a bias (ours do not; hybridzoo.gluon_weights folds those into the BatchNorm).
VISION_ZOO_NAMES = [name for name, (library, _) in sorted(gluon_weights.GLUON_SOURCES.items())
                    if library == "mxnet" and name.startswith(("squeezenet", "mobilenet", "inception", "resnet"))]


def trainable_count(net, input_shape=None):
    """Trainable scalars of a (possibly deferred-shape) net, from symbolic shape inference
    (``input_shape`` without batch; default: the zoo config's inputs)."""
    if input_shape is None:
        config = net.zoo_config
        names, shapes = config.input_names(), config.input_shapes(1)
    else:
        names, shapes = ["data"], [(1,) + input_shape]
    symbol = net(*[mx.sym.var(n) for n in names])
    symbol = mx.sym.Group(list(symbol)) if isinstance(symbol, (list, tuple)) else symbol
    arg_shapes = dict(zip(symbol.list_arguments(), symbol.infer_shape(**dict(zip(names, shapes)))[0]))
    return sum(int(np.prod(arg_shapes[p.name])) for p in net.collect_params().values() if p.grad_req != "null")


def redundant_biases(net):
    """Scalars in biases of convs directly followed by a BatchNorm, in creation order."""
    params = list(net.collect_params().values())
    return sum(int(np.prod(b.shape)) for b, nxt in zip(params, params[1:])
               if b.name.endswith("_bias") and nxt.name.endswith("_gamma") and "conv" in b.name)


@pytest.mark.parametrize("name", VISION_ZOO_NAMES)
def test_parameter_counts_equal_mxnet_vision_zoo(name):
    from mxnet.gluon.model_zoo import vision
    config = hybridzoo.get_config(name)
    theirs = vision.get_model(gluon_weights.GLUON_SOURCES[name][1])
    expected = trainable_count(theirs, config.input_shape)
    ours = trainable_count(hybridzoo.get_model(name), config.input_shape)
    if name.endswith("_v1") and int(name[len("resnet"):-3]) >= 50:
        assert redundant_biases(theirs) > 0
        expected -= redundant_biases(theirs)
    assert ours == expected


def test_classes_built_directly_have_stable_names_too():
    from hybridzoo.models.resnet import ResNet
    first = ResNet("basic", (1, 1, 1, 1))
    second = ResNet("basic", (1, 1, 1, 1))
    assert first.prefix == "resnet_"
    assert list(first.collect_params().keys()) == list(second.collect_params().keys())


@pytest.mark.parametrize("name", hybridzoo.list_models())
def test_shapes_are_declared(name):
    """Every parameter's shape is known before the first forward pass (no deferred init)."""
    deferred = [p.name for p in hybridzoo.get_model(name).collect_params().values() if 0 in p.shape]
    assert not deferred, f"shapes left to the first forward pass: {deferred}"


def test_init_model_is_deterministic_with_nontrivial_batchnorm():
    first, second = (init_model(hybridzoo.get_model("lenet_bn"), seed=3) for _ in range(2))
    for (key, a), b in zip(first.collect_params().items(), second.collect_params().values()):
        np.testing.assert_array_equal(a.data().asnumpy(), b.data().asnumpy(), err_msg=key)
    bn = first.features[1]
    assert (bn.running_var.data().asnumpy() > 0).all()
    for param, default in ((bn.running_mean, 0), (bn.running_var, 1), (bn.gamma, 1), (bn.beta, 0)):
        assert np.abs(param.data().asnumpy() - default).min() > 0, param.name
    other_seed = init_model(hybridzoo.get_model("lenet_bn"), seed=4).features[1].gamma.data()
    assert not np.array_equal(other_seed.asnumpy(), bn.gamma.data().asnumpy())


def test_randomize_batchnorm_needs_known_shapes():
    net = mx.gluon.nn.BatchNorm()  # in_channels not declared: shape deferred
    net.initialize()
    with pytest.raises(RuntimeError, match="run one forward pass first"):
        randomize_batchnorm(net)


def test_get_config_fields():
    lenet = hybridzoo.get_config("lenet")
    assert (lenet.input_shape, lenet.classes, lenet.dataset) == ((1, 28, 28), 10, "fashion_mnist")
    assert (lenet.lr, lenet.batch_size, lenet.epochs) == (0.9, 256, 10)
    assert len(lenet.mean) == len(lenet.std) == 1
    resnet50 = hybridzoo.get_config("resnet50")
    assert (resnet50.input_shape, resnet50.classes) == ((3, 224, 224), 1000)
    assert resnet50.mean == (0.485, 0.456, 0.406) and resnet50.std == (0.229, 0.224, 0.225)
    linear = hybridzoo.get_config("linear_regression")
    assert (linear.input_shape, linear.classes, linear.task) == ((2,), 1, "regression")
    assert (linear.lr, linear.batch_size, linear.epochs) == (0.03, 10, 3)
    assert hybridzoo.get_config("googlenet").input_shape == (1, 96, 96)
    with pytest.raises(ValueError, match="lenet"):
        hybridzoo.get_config("lenett")


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match="resnet18"):
        hybridzoo.get_model("resnt18")


def test_list_models_pattern():
    assert hybridzoo.list_models("resnet??") == ["resnet18", "resnet34", "resnet50"]
    assert hybridzoo.list_models("resnet*_v2") == ["resnet101_v2", "resnet152_v2", "resnet18_v2",
                                                   "resnet34_v2", "resnet50_v2"]
    assert hybridzoo.list_models("vgg1?_bn") == ["vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]
    assert hybridzoo.list_models("nothing*") == []


def test_register_model_warns_on_duplicate(monkeypatch):
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    monkeypatch.setattr(registry, "_CONFIGS", dict(registry._CONFIGS))

    def my_lenet(**kwargs):
        return hybridzoo.get_model("lenet_bn", **kwargs)

    with pytest.warns(UserWarning, match="already registered"):
        hybridzoo.register_model(name="lenet")(my_lenet)
    assert hybridzoo.get_model("lenet").prefix == "lenet_bn_"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hybridzoo.register_model(my_lenet)  # a new name: no warning
    assert "my_lenet" in hybridzoo.list_models()


def test_vgg_width_divides_conv_channels():
    net = hybridzoo.get_model("vgg11", width=4)
    assert net.features[0][0].weight.shape == (16, 1, 3, 3)
    assert net.features[5][0].weight.shape == (4096, 128 * 7 * 7)  # the head keeps 4096 units


def test_too_small_input_is_rejected_clearly():
    with pytest.raises(ValueError, match="input_size must be >= 32"):
        hybridzoo.get_model("vgg16", input_size=16)
    with pytest.raises(ValueError, match="AlexNet needs input_size >= 67"):
        hybridzoo.get_model("alexnet", input_size=64)


def test_linear_layer_parameters_by_name():
    """D2L's check: set the regression's weight and bias by name, get x w^T + b."""
    net = init_model(hybridzoo.get_model("linear_regression"))
    params = net.collect_params()
    assert params["linear_regression_output_weight"] is net.output.weight
    assert net.output.params.get("bias") is net.output.bias
    params["linear_regression_output_weight"].set_data(mx.nd.array([[2.0, -3.4]]))
    params["linear_regression_output_bias"].set_data(mx.nd.array([4.2]))
    x = np.random.RandomState(0).normal(size=(5, 2)).astype(np.float32)
    np.testing.assert_allclose(net(mx.nd.array(x)).asnumpy()[:, 0], x @ [2.0, -3.4] + 4.2, rtol=1e-5)


def test_linear_layer_defers_input_units():
    layer = Linear(3, prefix="probe_")
    layer.initialize()
    assert layer(mx.nd.ones((4, 2, 5))).shape == (4, 3)  # flattens (2, 5) -> 10 inputs
    assert layer.weight.shape == (3, 10) and layer.bias.shape == (3,)


def test_he_fan_out_statistics():
    init = HeFanOut()
    conv = mx.nd.zeros((256, 64, 3, 3))
    init(mx.init.InitDesc("conv_weight"), conv)
    conv = conv.asnumpy()
    expected_std = np.sqrt(2.0 / (256 * 3 * 3))  # fan-out, not fan-in (64 * 3 * 3)
    assert abs(conv.std() / expected_std - 1) < 0.02
    assert abs(conv.mean()) < 4 * expected_std / np.sqrt(conv.size)
    dense = mx.nd.zeros((1000, 512))
    init(mx.init.InitDesc("dense_weight"), dense)
    dense, bound = dense.asnumpy(), 1 / np.sqrt(512)
    assert np.abs(dense).max() <= bound and np.abs(dense).max() > 0.99 * bound
    assert abs(dense.std() / (bound / np.sqrt(3)) - 1) < 0.02
    with pytest.raises(ValueError, match="2-D or 4-D"):
        init(mx.init.InitDesc("odd_weight"), mx.nd.zeros((8,)))


def test_resnet_uses_he_fan_out():
    net = init_model(hybridzoo.get_model("resnet18"))
    weight = net.features[1][0].body[0].weight  # stage 1, block 0, first 3x3 conv (64 -> 64)
    assert weight.shape == (64, 64, 3, 3)
    assert abs(weight.data().asnumpy().std() / np.sqrt(2.0 / (64 * 9)) - 1) < 0.03


def _thread_count_in_subprocess(**env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "HYBRIDZOO_NO_THREADS")}
    env.update(env_changes)
    code = "import hybridzoo, os; print(os.environ.get('OMP_NUM_THREADS'))"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            check=True)
    return result.stdout.strip()


def test_import_gives_mxnet_every_core():
    assert _thread_count_in_subprocess() == str(len(os.sched_getaffinity(0)))


def test_import_keeps_the_users_thread_count():
    assert _thread_count_in_subprocess(OMP_NUM_THREADS="1") == "1"


def test_import_defers_scikit_learn_until_used():
    code = ("import sys, hybridzoo, mxnet as mx; loaded = 'sklearn' in sys.modules; "
            "from hybridzoo.data import digits_split; digits_split(); "
            "print(loaded, 'sklearn' in sys.modules, mx.nd.ones((2, 3)).sum().asscalar())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True", "6.0"], result.stderr


def test_stats_count_parameters_and_share_weights():
    # LeNet: conv 1->6 (5x5), conv 6->16 (5x5), Dense 400->120->84->10, all with biases
    expected = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    stats = model_stats("lenet", batch=4, repeats=1)
    assert stats["params"] == expected
    assert stats["imperative"] > 0 and stats["hybridized"] > 0


def test_zoo_stats_tool_prints_a_markdown_row(capsys):
    from hybridzoo_tools import zoo_stats
    zoo_stats.main(["--models", "linear_regression", "mlp_dropout", "--repeats", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert "| model | params | batch | imperative (ms) | hybridized (ms) | speed-up |" in lines
    assert any(line.startswith("| linear_regression | 3 | 256 |") for line in lines)
    assert any(line.startswith("| mlp_dropout | 269,322 | 256 |") for line in lines)
