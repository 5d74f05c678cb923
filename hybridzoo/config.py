"""Per-model configuration: input, normalisation, dataset and the training recipe."""
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Optional, Tuple

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Fashion-MNIST training-set statistics (D2L trains on ToTensor() only; these are offered
# for users who normalise, and are what the manifest records for 1-channel models).
FASHION_MNIST_MEAN = (0.2860,)
FASHION_MNIST_STD = (0.3530,)

# Class names by dataset, recorded in manifests so inference can print labels.
DATASET_LABELS = {
    "fashion_mnist": ("t-shirt", "trouser", "pullover", "dress", "coat",
                      "sandal", "shirt", "sneaker", "bag", "ankle boot"),
    "digits": tuple(str(d) for d in range(10)),
}


@dataclass(frozen=True)
class ModelConfig:
    """What exporters, tests and tools read instead of hard-coding shapes.

    ``input_shape`` excludes the batch axis: ``(C, H, W)`` for images, ``(features,)`` otherwise.
    ``mean``/``std`` apply to inputs scaled to [0, 1]; ``None`` means no normalisation.
    ``lr``/``batch_size``/``epochs``/``resize`` are the D2L recipe; ``accuracy`` maps a
    dataset name to the final-epoch test accuracy we reproduced with that dataset's recipe
    (``python tools/accuracy_table.py``; digits recipes in ``hybridzoo.train.DATASET_RECIPES``).
    Fashion-MNIST cannot be downloaded here, so only digits figures are recorded.
    """

    input_shape: Tuple[int, ...]
    classes: int
    dataset: str
    mean: Optional[Tuple[float, ...]] = None
    std: Optional[Tuple[float, ...]] = None
    task: str = "classification"
    lr: float = 0.1
    batch_size: int = 256
    epochs: int = 10
    resize: Optional[int] = None
    accuracy: dict = field(default_factory=dict)

    @property
    def in_channels(self):
        return self.input_shape[0] if len(self.input_shape) == 3 else None

    @property
    def is_image(self):
        return len(self.input_shape) == 3

    @property
    def labels(self):
        """Class names when the dataset has them and the head size matches, else None."""
        names = DATASET_LABELS.get(self.dataset)
        return names if names is not None and len(names) == self.classes else None

    def with_(self, **changes):
        """A copy with some fields changed (``input_size`` sets H and W, ``in_channels`` sets C)."""
        shape = list(self.input_shape)
        if "input_size" in changes:
            size = changes.pop("input_size")
            shape[1:] = [size, size]
        if "in_channels" in changes:
            shape[0] = changes.pop("in_channels")
        changes.setdefault("input_shape", tuple(shape))
        return replace(self, **changes)

    def to_dict(self):
        return asdict(self)


def fashion_mnist(size=28, **recipe):
    """A D2L config: Fashion-MNIST, 1 channel, 10 classes, resized to ``size``."""
    return ModelConfig(
        input_shape=(1, size, size), classes=10, dataset="fashion_mnist",
        mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD,
        resize=None if size == 28 else size, **recipe)


def imagenet(size=224, **recipe):
    """An ImageNet config: 3 x size x size, 1000 classes, ImageNet mean/std; images resized
    to size / 0.875 before the center crop (256 for 224, 342 for 299, as GluonCV does)."""
    recipe.setdefault("lr", 0.1)
    recipe.setdefault("batch_size", 256)
    recipe.setdefault("epochs", 90)
    return ModelConfig(
        input_shape=(3, size, size), classes=1000, dataset="imagenet",
        mean=IMAGENET_MEAN, std=IMAGENET_STD, resize=math.ceil(size / 0.875), **recipe)
