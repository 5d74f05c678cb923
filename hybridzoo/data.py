"""Training data: Fashion-MNIST from local IDX files, scikit-learn's digits, synthetic linear data.

Every image goes through one preprocessing, the one training manifests record
(:func:`preprocessing_spec`): scale to [0, 1], bilinear resize to the model's input size,
``(x - mean) / std``, NCHW. It runs on the CPU (in the loader's workers); the training loop
moves each batch to its context afterwards.
"""
import gzip
import os
import struct

import numpy as np
from mxnet import base, gluon, nd
from PIL import Image

from .guards import check_batch_size

DATASETS = ("digits", "fashion_mnist")
DEFAULT_FASHION_MNIST_DIR = os.path.join(base.data_dir(), "datasets", "fashion-mnist")
FASHION_MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC = 2051, 2049
# The digits train/test split is fixed (independent of the training seed) so test
# accuracies of different runs are measured on the same 20% of the 1,797 images.
DIGITS_SPLIT_SEED, DIGITS_TEST_FRACTION = 0, 0.2
TRUE_W, TRUE_B = (2.0, -3.4), 4.2


# --------------------------------------------------------------------------- preprocessing
def preprocessing_spec(config):
    """The preprocessing as data, in the schema of the export manifest's ``preprocess`` block
    (what :class:`ImageTransform` does: uint8 * scale -> [0, 1], bilinear resize straight to
    ``input_size``, ``(x - mean) / std``, NCHW)."""
    channels, height, width = config.input_shape
    return {"channels": channels, "color": "L" if channels == 1 else "RGB", "input_size": [height, width],
            "resize": None, "scale": 1.0 / 255, "mean": _list_or_none(config.mean),
            "std": _list_or_none(config.std), "layout": "NCHW"}


def _list_or_none(values):
    return None if values is None else list(values)


class ImageTransform:
    """One image (HW or HWC; uint8 0..255 or float in [0, 1]) -> normalised float32 CHW array."""

    def __init__(self, config):
        channels, self.height, self.width = config.input_shape
        self.mean = np.asarray(config.mean or [0.0] * channels, np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(config.std or [1.0] * channels, np.float32).reshape(-1, 1, 1)

    def __call__(self, image):
        image = image.asnumpy() if isinstance(image, nd.NDArray) else np.asarray(image)
        scaled = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
        chw = resize_chw(scaled[..., None] if scaled.ndim == 2 else scaled, self.height, self.width)
        return (chw - self.mean) / self.std


def resize_chw(hwc, height, width):
    """Bilinear resize of a float HWC image (Pillow's float mode, per channel) -> CHW."""
    if hwc.shape[:2] == (height, width):
        return np.ascontiguousarray(hwc.transpose(2, 0, 1))
    planes = [np.asarray(Image.fromarray(np.ascontiguousarray(hwc[..., c]))
                         .resize((width, height), Image.Resampling.BILINEAR)) for c in range(hwc.shape[2])]
    return np.stack(planes).astype(np.float32)


# --------------------------------------------------------------------------- Fashion-MNIST
def _idx_path(root, name):
    """The IDX file ``name`` in ``root``, plain or gzipped; None when neither exists."""
    for candidate in (os.path.join(root, name), os.path.join(root, name + ".gz")):
        if os.path.isfile(candidate):
            return candidate
    return None


def read_idx(path, magic):
    """The array in an IDX file (uint8 payload), checking its magic number and size."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        found, count = struct.unpack(">II", f.read(8))
        dims = struct.unpack(">II", f.read(8)) if magic == IDX_IMAGES_MAGIC else ()
        payload = np.frombuffer(f.read(), dtype=np.uint8)
    if found != magic:
        raise ValueError(f"{path} is not an IDX {'image' if magic == IDX_IMAGES_MAGIC else 'label'} "
                         f"file (magic {found}, expected {magic}); re-download the Fashion-MNIST files")
    shape = (count,) + dims
    if payload.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {payload.size} bytes; "
                         "re-download the Fashion-MNIST files")
    return payload.reshape(shape)


class LocalFashionMNIST(gluon.data.vision.FashionMNIST):
    """Gluon's FashionMNIST read from the four standard IDX files in ``root`` (plain or .gz).

    Gluon's own class downloads missing or differing files; this one never touches the network
    and raises one FileNotFoundError naming the folder and the files when any is absent.
    """

    def __init__(self, root=DEFAULT_FASHION_MNIST_DIR, train=True, transform=None):
        root = os.path.expanduser(root)
        missing = [name for names in FASHION_MNIST_FILES.values() for name in names
                   if _idx_path(root, name) is None]
        if missing:
            raise FileNotFoundError(
                f"Fashion-MNIST not found in {root}: missing {', '.join(missing)} (plain or .gz). "
                "Download the four files from https://github.com/zalandoresearch/fashion-mnist "
                f"(data/fashion) into that folder, or pass --data-dir; or use --dataset digits, "
                "which needs no download.")
        super().__init__(root=root, train=train, transform=transform)

    def _get_data(self):
        images_name, labels_name = FASHION_MNIST_FILES[self._train]
        images = read_idx(_idx_path(self._root, images_name), IDX_IMAGES_MAGIC)
        labels = read_idx(_idx_path(self._root, labels_name), IDX_LABELS_MAGIC)
        if len(images) != len(labels):
            raise ValueError(f"{self._root}: {len(images)} images but {len(labels)} labels")
        self._data = nd.array(images[..., None], dtype=np.uint8)  # N x 28 x 28 x 1, as Gluon's
        self._label = labels.astype(np.int32)


# --------------------------------------------------------------------------- digits
def digits_split():
    """scikit-learn's 8x8 digits as float images in [0, 1]: ``(train_x, train_y), (test_x, test_y)``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # pixel values are 0..16
    labels = digits.target.astype(np.int32)
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_SPLIT_SEED, stratify=labels)
    return (train_x, train_y), (test_x, test_y)


def write_digits_png(out_dir, count=10, size=28):
    """Write the first ``count`` test-split digits as ``size``x``size`` grayscale PNGs; return the paths.

    Images are resized exactly as in training (before normalisation), so an inference tool
    reading them sees what the model was tested on. Names carry the true label.
    """
    _, (images, labels) = digits_split()
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for index, (image, label) in enumerate(zip(images[:count], labels[:count])):
        pixels = resize_chw(image[..., None], size, size)[0]
        path = os.path.join(out_dir, f"digit_{index:03d}_label{label}.png")
        Image.fromarray(np.clip(pixels * 255.0 + 0.5, 0, 255).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- loaders
def image_datasets(dataset, config, data_dir=None):
    """Train and test Gluon datasets yielding ``(normalised CHW float32, int label)``."""
    if dataset in DATASETS and config.in_channels != 1:
        raise ValueError(f"{dataset} images have 1 channel but the model expects {config.in_channels}; "
                         "build it with in_channels=1")
    transform = ImageTransform(config)
    if dataset == "digits":
        (train_x, train_y), (test_x, test_y) = digits_split()
        train, test = gluon.data.ArrayDataset(train_x, train_y), gluon.data.ArrayDataset(test_x, test_y)
    elif dataset == "fashion_mnist":
        root = data_dir or DEFAULT_FASHION_MNIST_DIR
        train, test = LocalFashionMNIST(root, train=True), LocalFashionMNIST(root, train=False)
    else:
        raise ValueError(f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)}")
    return train.transform_first(transform), test.transform_first(transform)


def split_arrays(dataset, config, train, data_dir=None):
    """One split as numpy arrays ``(images (N, C, H, W) float32, labels (N,) int32)``, preprocessed
    exactly as in training (for calibrating and evaluating exported models outside MXNet)."""
    split = image_datasets(dataset, config, data_dir)[0 if train else 1]
    samples = [split[i] for i in range(len(split))]
    return (np.stack([x for x, _ in samples]).astype(np.float32),
            np.asarray([y for _, y in samples], dtype=np.int32))


def image_loaders(dataset, config, batch_size, workers=0, data_dir=None, shard=(0, 1)):
    """Shuffled train and sequential test DataLoaders; ``shard=(index, count)`` splits the
    training set into disjoint parts for distributed workers (before shuffling)."""
    train, test = image_datasets(dataset, config, data_dir)
    index, count = shard
    if count > 1:
        train = train.shard(count, index)
    check_batch_size(batch_size, len(train), dataset, count > 1)  # else no batch at all: nothing to learn from
    return (gluon.data.DataLoader(train, batch_size, shuffle=True, last_batch="rollover",
                                  num_workers=workers),
            gluon.data.DataLoader(test, batch_size, shuffle=False, num_workers=workers))


# --------------------------------------------------------------------------- linear regression
def synthetic_linear(w=TRUE_W, b=TRUE_B, num_examples=1000, noise=0.01, seed=0):
    """The seed's regression data: ``y = Xw + b + N(0, noise^2)``, X ~ N(0, 1). float32 numpy."""
    rng = np.random.default_rng(seed)
    features = rng.normal(0.0, 1.0, (num_examples, len(w))).astype(np.float32)
    labels = features @ np.asarray(w, np.float32) + np.float32(b)
    labels += rng.normal(0.0, noise, labels.shape).astype(np.float32)
    return features, labels.astype(np.float32)


# --------------------------------------------------------------------------- exported models
def reference_dataset(net):
    """The dataset whose training split calibrates an exported ``net`` and whose test split
    measures it: the one its weights were trained on; for untrained 1-channel D2L nets, digits
    (Fashion-MNIST cannot be downloaded here, and digits is the data they are trained on);
    None when no such data is available offline (e.g. ImageNet)."""
    trained_on = (getattr(net, "zoo_manifest", None) or {}).get("dataset")
    if trained_on:
        return trained_on
    config = getattr(net, "zoo_config", None)
    if config is not None and config.dataset in DATASETS and config.in_channels == 1:
        return "digits"
    return None


def write_photo_crops(out_dir, count=64, seed=0):
    """Write ``count`` seeded random crops of the two photographs bundled with scikit-learn
    (``load_sample_images``: a temple, a flower) as PNG files; return the paths. Real RGB
    images, offline, for calibrating ImageNet-style models when no training images are at hand."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for index in range(count):
        photo = photos[index % len(photos)]
        side = int(rng.integers(min(photo.shape[:2]) // 3, min(photo.shape[:2]) + 1))
        top, left = (int(rng.integers(0, photo.shape[a] - side + 1)) for a in (0, 1))
        path = os.path.join(out_dir, f"photo_{index:03d}.png")
        Image.fromarray(photo[top:top + side, left:left + side]).save(path)
        paths.append(path)
    return paths
