"""Data: digits split and preprocessing, local Fashion-MNIST IDX reading, synthetic linear data."""
import gzip
import os
import struct

import numpy as np
import pytest
from PIL import Image

import hybridzoo
from hybridzoo import data


@pytest.fixture(scope="module")
def config():
    return hybridzoo.get_config("lenet")


def write_idx(path, array, magic):
    header = struct.pack(">II", magic, len(array)) + (struct.pack(">II", *array.shape[1:]) if array.ndim == 3 else b"")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def fake_fashion_mnist(folder, train=12, test=5):
    """Tiny valid IDX files: the training pair gzipped, the test pair plain (both are accepted)."""
    rng = np.random.default_rng(1)
    arrays = {}
    for is_train, count, suffix in ((True, train, ".gz"), (False, test, "")):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        images_name, labels_name = data.FASHION_MNIST_FILES[is_train]
        write_idx(os.path.join(folder, images_name + suffix), images, data.IDX_IMAGES_MAGIC)
        write_idx(os.path.join(folder, labels_name + suffix), labels, data.IDX_LABELS_MAGIC)
        arrays[is_train] = (images, labels)
    return arrays


def test_digits_split_is_fixed_disjoint_and_scaled():
    (train_x, train_y), (test_x, test_y) = data.digits_split()
    assert train_x.shape == (1437, 8, 8) and test_x.shape == (360, 8, 8)
    assert train_x.min() == 0.0 and train_x.max() == 1.0 and train_x.dtype == np.float32
    assert set(np.unique(test_y)) == set(range(10))
    (again_x, _), _ = data.digits_split()
    np.testing.assert_array_equal(train_x, again_x)
    train_rows = {row.tobytes() for row in train_x}
    assert sum(row.tobytes() in train_rows for row in test_x) < 5  # the dataset has a few duplicate images


def test_digits_samples_are_resized_and_normalised_with_the_config(config):
    train, test = data.image_datasets("digits", config)
    image, label = test[3]
    assert image.shape == config.input_shape and image.dtype == np.float32
    (_, _), (raw_x, raw_y) = data.digits_split()
    assert label == raw_y[3]
    unnormalised = image * np.float32(config.std[0]) + np.float32(config.mean[0])
    resized = np.asarray(Image.fromarray(raw_x[3]).resize((28, 28), Image.Resampling.BILINEAR))
    np.testing.assert_allclose(unnormalised[0], resized, atol=1e-5)
    assert len(train) == 1437 and len(test) == 360


def test_transform_scales_uint8_and_keeps_size(config):
    pixels = np.arange(28 * 28, dtype=np.int64).reshape(28, 28, 1) % 256
    out = data.ImageTransform(config)(pixels.astype(np.uint8))
    expected = (pixels.transpose(2, 0, 1) / 255.0 - config.mean[0]) / config.std[0]
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_png_digits_preprocessed_by_the_manifest_spec_match_training(tmp_path, config):
    """What an inference tool does with the manifest's preprocess block equals training input."""
    from export.deploy.preprocess import Preprocess

    paths = data.write_digits_png(str(tmp_path), count=4)
    assert [os.path.basename(p) for p in paths][0].startswith("digit_000_label")
    _, test = data.image_datasets("digits", config)
    preprocess = Preprocess.from_dict(data.preprocessing_spec(config))
    for index, path in enumerate(paths):
        image, label = test[index]
        assert path.endswith(f"label{label}.png")
        with Image.open(path) as png:
            assert png.size == (28, 28) and png.mode == "L"
            # PNG pixels are 8-bit: half a grey level of error, after dividing by std
            np.testing.assert_allclose(preprocess(png), image, atol=0.5 / 255 / config.std[0] + 1e-6)


def test_fashion_mnist_missing_files_raise_one_clear_error_and_download_nothing(tmp_path, config):
    folder = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte") as err:
        data.image_datasets("fashion_mnist", config, data_dir=str(folder))
    assert str(folder) in str(err.value) and "--data-dir" in str(err.value)
    assert not folder.exists()


def test_fashion_mnist_reads_local_idx_files(tmp_path, config):
    arrays = fake_fashion_mnist(str(tmp_path))
    dataset = data.LocalFashionMNIST(str(tmp_path), train=False)
    images, labels = arrays[False]
    assert len(dataset) == 5
    image, label = dataset[2]
    np.testing.assert_array_equal(image.asnumpy()[..., 0], images[2])
    assert label == labels[2]
    train, test = data.image_datasets("fashion_mnist", config, data_dir=str(tmp_path))
    x, y = train[7]
    expected = (arrays[True][0][7] / 255.0 - config.mean[0]) / config.std[0]
    np.testing.assert_allclose(x[0], expected, atol=1e-5)
    assert y == arrays[True][1][7] and len(test) == 5


def test_corrupt_idx_file_is_named(tmp_path):
    fake_fashion_mnist(str(tmp_path))
    write_idx(str(tmp_path / "t10k-labels-idx1-ubyte"), np.zeros(5), data.IDX_IMAGES_MAGIC)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte is not an IDX label file"):
        data.LocalFashionMNIST(str(tmp_path), train=False)


def test_unknown_dataset_and_channel_mismatch(config):
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        data.image_datasets("mnist", config)
    with pytest.raises(ValueError, match="1 channel but the model expects 3"):
        data.image_datasets("digits", config.with_(in_channels=3))


def test_loaders_shard_disjointly_and_batch_with_workers(config):
    shards = []
    for index in range(2):
        train, _ = data.image_loaders("digits", config, batch_size=64, workers=1, shard=(index, 2))
        batches = [xb.asnumpy() for xb, _ in train]
        assert all(xb.shape == (64,) + config.input_shape for xb in batches)
        shards.append({x.tobytes() for xb in batches for x in xb})
    assert not shards[0] & shards[1]
    # rollover carries each shard's last partial batch into the next epoch
    assert 1437 - 2 * 64 <= len(shards[0]) + len(shards[1]) <= 1437


def test_synthetic_linear_data():
    features, labels = data.synthetic_linear(num_examples=2000)
    assert features.shape == (2000, 2) and labels.shape == (2000,)
    residual = labels - features @ np.array(data.TRUE_W, np.float32) - data.TRUE_B
    assert abs(residual.std() - 0.01) < 0.001 and abs(residual.mean()) < 0.002
