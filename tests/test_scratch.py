"""The from-scratch exercises against Gluon's built-in equivalents.

Training comparisons run in float64 from the same weights and minibatches: the two versions
then differ only because MXNet's optimizer ops take ``lr`` as a float32 attribute (0.1 becomes
0.10000000149), about 1e-8 relative per step, hence rtol 1e-6.
"""
import numpy as np
import pytest
from mxnet import autograd, gluon, nd
from mxnet.gluon import nn

from hybridzoo.scratch import classify, conv, regularization

F64 = dict(rtol=1e-6, atol=1e-8)


@pytest.fixture(scope="module")
def digits64():
    (train_x, train_y), (test_x, test_y) = classify.digits_data()
    return (train_x.astype(np.float64), train_y), (test_x.astype(np.float64), test_y)


def test_softmax_and_cross_entropy_equal_mxnet():
    logits = nd.array(np.random.RandomState(0).normal(0, 3, (6, 10)))
    labels = nd.array([0, 3, 9, 2, 2, 7])
    probabilities = classify.softmax(logits)
    np.testing.assert_allclose(probabilities.asnumpy(), nd.softmax(logits).asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1).asnumpy(), 1, rtol=1e-6)
    expected = gluon.loss.SoftmaxCrossEntropyLoss()(logits, labels).asnumpy()
    np.testing.assert_allclose(classify.cross_entropy(probabilities, labels).asnumpy(), expected, rtol=1e-5)
    # the max is subtracted first: large logits give probabilities, not nan
    assert np.isfinite(classify.softmax(nd.array([[1000.0, 0.0]])).asnumpy()).all()


def test_accuracy_counts_argmax_hits():
    y_hat = nd.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert classify.accuracy(y_hat, nd.array([1, 0, 0, 0])) == 0.75


@pytest.mark.parametrize("hidden", [(), (256,)], ids=["softmax_regression", "mlp"])
def test_scratch_training_equals_gluon(hidden, digits64):
    scratch, scratch_history = classify.train_scratch(hidden, epochs=3, data=digits64)
    built_in, gluon_history = classify.train_gluon(hidden, epochs=3, data=digits64)
    for (w_s, b_s), (w_g, b_g), (w_0, _) in zip(scratch, built_in, classify.init_params(64, hidden, 10)):
        np.testing.assert_allclose(w_s, w_g, **F64)
        np.testing.assert_allclose(b_s, b_g, **F64)
        assert np.abs(w_s - w_0).max() > 1e-2  # training moved the weights
    assert scratch_history[-1]["test_accuracy"] == gluon_history[-1]["test_accuracy"]
    assert scratch_history[-1]["loss"] < scratch_history[0]["loss"]


def test_softmax_regression_learns_digits():
    _, history = classify.train_scratch((), epochs=5)
    assert history[-1]["test_accuracy"] > 0.9


def test_dropout_keeps_the_expectation_and_acts_only_in_training():
    X = nd.ones((2000, 50))
    assert regularization.dropout(X, 0.5) is X  # predict mode: untouched
    for p in (0.2, 0.5, 0.8):
        with autograd.record():  # training mode
            ours = regularization.dropout(X, p).asnumpy()
            theirs = nn.Dropout(p)(X).asnumpy()
        for out in (ours, theirs):  # the same distribution as Gluon's Dropout
            np.testing.assert_allclose(np.unique(out), [0, 1 / (1 - p)], rtol=1e-6)
            zeros = (out == 0).mean()  # 100,000 draws: 3 sigma is < 0.005
            assert abs(zeros - p) < 0.005, (p, zeros)
            assert abs(out.mean() - 1) < 0.02
    with autograd.record():
        assert (regularization.dropout(X, 0).asnumpy() == 1).all()
        assert (regularization.dropout(X, 1).asnumpy() == 0).all()
    with pytest.raises(ValueError, match="drop_prob must be in"):
        regularization.dropout(X, 1.5)


def test_mlp_with_dropout_learns_and_predicts_deterministically():
    params, history = classify.train_scratch((256, 256), (0.2, 0.5), lr=0.5, epochs=10)
    assert history[-1]["test_accuracy"] > 0.9
    params = [(nd.array(w), nd.array(b)) for w, b in params]
    X = nd.array(classify.digits_data()[1][0][:20])
    first, second = (classify.net(X, params, (0.2, 0.5)).asnumpy() for _ in range(2))
    np.testing.assert_array_equal(first, second)


def test_l2_penalty_equals_trainer_weight_decay():
    data = regularization.high_dim_data()
    data64 = tuple((x.astype(np.float64), y.astype(np.float64)) for x, y in data)
    w_s, b_s, _ = regularization.train_scratch(3, epochs=5, data=data64)
    w_g, b_g, _ = regularization.train_gluon(3, epochs=5, data=data64)
    np.testing.assert_allclose(w_s, w_g, **F64)
    np.testing.assert_allclose(b_s, b_g, **F64)
    assert regularization.l2_penalty(nd.array([3.0, 4.0])).asscalar() == 12.5


def test_weight_decay_reduces_overfitting():
    """D2L's observation: 20 examples, 200 features; decay shrinks w and the test loss."""
    w_0, _, (train_0, test_0) = regularization.train_scratch(0, epochs=30)
    w_3, _, (train_3, test_3) = regularization.train_scratch(3, epochs=30)
    assert train_0 < 1e-6 < train_3  # without decay the training set is fit exactly
    assert test_3 < test_0 / 2 and np.linalg.norm(w_3) < np.linalg.norm(w_0) / 2


@pytest.fixture
def images():
    rng = np.random.RandomState(0)
    return nd.array(rng.normal(size=(3, 6, 7))), nd.array(rng.normal(size=(2, 3, 3, 2)))


def test_corr2d_is_convolution_without_flipping():
    X, K = nd.arange(9).reshape((3, 3)), nd.arange(4).reshape((2, 2))
    np.testing.assert_array_equal(conv.corr2d(X, K).asnumpy(), [[19, 25], [37, 43]])  # D2L's values


def test_multi_channel_correlation_equals_mxnet_convolution(images):
    X, K = images
    expected = nd.Convolution(X.expand_dims(0), K, kernel=K.shape[2:], num_filter=K.shape[0],
                              no_bias=True)[0].asnumpy()
    np.testing.assert_allclose(conv.corr2d_multi_in_out(X, K).asnumpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(conv.corr2d_multi_in(X, K[0]).asnumpy(), expected[0], rtol=1e-5, atol=1e-6)


def test_1x1_convolution_is_a_dense_layer_over_channels(images):
    X, _ = images
    K = nd.array(np.random.RandomState(1).normal(size=(4, 3, 1, 1)))
    by_matmul = conv.corr2d_multi_in_out_1x1(X, K).asnumpy()
    np.testing.assert_allclose(by_matmul, conv.corr2d_multi_in_out(X, K).asnumpy(), rtol=1e-5, atol=1e-6)
    layer = nn.Conv2D(4, 1, in_channels=3, use_bias=False)
    layer.initialize()
    layer.weight.set_data(K)
    np.testing.assert_allclose(by_matmul, layer(X.expand_dims(0))[0].asnumpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_equals_mxnet_pooling(images, mode):
    X = images[0][0]
    expected = nd.Pooling(X.reshape((1, 1) + X.shape), kernel=(2, 3), pool_type=mode)[0, 0].asnumpy()
    np.testing.assert_allclose(conv.pool2d(X, (2, 3), mode).asnumpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="mode must be"):
        conv.pool2d(X, (2, 2), "min")
