"""Per-model configuration: inputs and outputs, normalisation, dataset and the training recipe."""
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Optional, Tuple

import numpy as np

from .specs import TensorSpec, gluon_input_names

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
    # the character language models' vocabulary (D2L's for The Time Machine): hybridzoo.text
    "python_docs": ("<unk>", " ") + tuple("abcdefghijklmnopqrstuvwxyz"),
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

    Models with other inputs than one float image or feature vector (token ids, valid lengths,
    begin states) or other outputs than ``(classes,)`` scores list them as ``inputs`` /
    ``outputs`` (:class:`~hybridzoo.specs.TensorSpec`, in forward-argument order); ``dims``
    gives the default size of each dim name their shapes use, ``dynamic`` the names that may
    vary at run time besides the batch (exported as dynamic ONNX axes). ``input_shape`` is then
    the first input's shape at those sizes. Without them a config describes one float input of
    ``input_shape`` and one ``(classes,)`` output, as before.
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
    inputs: Tuple[TensorSpec, ...] = ()
    outputs: Tuple[TensorSpec, ...] = ()
    dims: dict = field(default_factory=dict)
    dynamic: Tuple[str, ...] = ()

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

    @property
    def input_specs(self):
        """The inputs in forward-argument order (default: one float ``input_shape`` input)."""
        return self.inputs or (TensorSpec("data", tuple(self.input_shape)),)

    @property
    def output_specs(self):
        """The outputs in order (default: one ``(classes,)`` score vector)."""
        return self.outputs or (TensorSpec("scores", ("classes",)),)

    def sizes(self, **dims):
        """Size of every dim name: ``dims``, ``classes``, images' ``channels``/``height``/``width``."""
        table = dict(self.dims, classes=self.classes)
        if self.is_image:
            table.update(zip(("channels", "height", "width"), self.input_shape))
        table.update(dims)
        return table

    def input_names(self):
        """The inputs' names in the exported symbol (Gluon's ``data`` or ``data0``, ``data1``...)."""
        return gluon_input_names(len(self.input_specs))

    def input_shapes(self, batch=1, **dims):
        """Full input shapes (batch included) at ``batch`` and the default or given dim sizes."""
        sizes = self.sizes(**dims)
        return [spec.full_shape(batch, sizes) for spec in self.input_specs]

    def input_dtypes(self):
        return [spec.dtype for spec in self.input_specs]

    def output_shapes(self, batch=1, **dims):
        """Full output shapes; a dim the config cannot size (fixed by the net) is ``None``."""
        sizes = self.sizes(**dims)
        return [spec.full_shape(batch, sizes) for spec in self.output_specs]

    def dynamic_axes(self):
        """``{symbol input name: {axis: dim name}}``: the batch and every ``dynamic`` dim."""
        axes = {}
        for name, spec in zip(self.input_names(), self.input_specs):
            axes[name] = {a: d for a, d in spec.axis_names().items() if d == "batch" or d in self.dynamic}
        return axes

    def sample_inputs(self, batch=1, seed=0, **dims):
        """Seeded random inputs (numpy, in forward-argument order) with meaningful values."""
        rng, sizes = np.random.RandomState(seed), self.sizes(**dims)
        return [spec.sample(batch, sizes, rng) for spec in self.input_specs]

    def with_(self, **changes):
        """A copy with some fields changed (``input_size`` sets H and W, ``in_channels`` sets C,
        ``dims`` updates dim sizes; a non-image ``input_shape`` follows the first input)."""
        shape = list(self.input_shape)
        if "input_size" in changes:
            size = changes.pop("input_size")
            shape[1:] = [size, size]
        if "in_channels" in changes:
            shape[0] = changes.pop("in_channels")
        if "dims" in changes:
            changes["dims"] = dict(self.dims, **changes["dims"])
        changes.setdefault("input_shape", tuple(shape))
        config = replace(self, **changes)
        if config.inputs and not config.is_image:
            config = replace(config, input_shape=config.input_shapes()[0][1:])
        return config

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


def multi_input(inputs, outputs, dims, dataset, classes, dynamic=("seq",), task="classification", **recipe):
    """A config that lists its inputs and outputs (sequence models, detectors); ``input_shape``
    is the first input's shape at the ``dims`` sizes."""
    config = ModelConfig(input_shape=(), classes=classes, dataset=dataset, task=task,
                         inputs=tuple(inputs), outputs=tuple(outputs), dims=dict(dims),
                         dynamic=tuple(dynamic), **recipe)
    return config.with_()
