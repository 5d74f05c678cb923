"""How a classifier trains: its config's D2L recipe, tuned per dataset, with the user's overrides."""
import dataclasses
from typing import Optional

from . import guards
from .registry import get_config

OPTIMIZERS = ("sgd", "adam")
KVSTORES = ("local", "device", "dist_sync", "dist_async")


# Per-dataset recipes where the config's (D2L's Fashion-MNIST) recipe does not transfer: the
# 1,437 training digits make only 6 steps per epoch at batch 256, so digits trains with small
# batches for more epochs. Accuracies these reach: tools/accuracy_table.py.
DATASET_RECIPES = {
    "digits": {
        "softmax_regression": dict(lr=0.1, batch_size=32, epochs=20),
        "mlp": dict(lr=0.1, batch_size=32, epochs=20),
        "mlp_dropout": dict(lr=0.1, batch_size=32, epochs=30),
        "lenet": dict(lr=0.9, batch_size=32, epochs=30),
        "lenet_bn": dict(lr=0.3, batch_size=32, epochs=30),
    },
}


@dataclasses.dataclass
class Recipe:
    """How to train: the config's D2L recipe unless overridden."""

    lr: float
    batch_size: int
    epochs: int
    wd: float = 0.0
    optimizer: str = "sgd"
    momentum: float = 0.0
    resize: Optional[int] = None
    seed: int = 0
    kvstore: str = "device"
    workers: int = 0

    @classmethod
    def from_config(cls, config, **overrides):
        """The config's lr/batch size/epochs/resize, with every non-None override applied."""
        recipe = cls(lr=config.lr, batch_size=config.batch_size, epochs=config.epochs, resize=config.resize)
        return recipe.replace(**overrides)

    @classmethod
    def for_model(cls, name, dataset, **overrides):
        """The recipe for ``name`` on ``dataset``: the config's, then :data:`DATASET_RECIPES`, then overrides."""
        tuned = DATASET_RECIPES.get(dataset, {}).get(name, {})
        return cls.from_config(get_config(name), **tuned).replace(**overrides)

    def replace(self, **overrides):
        recipe = dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})
        if recipe.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {recipe.optimizer!r}: choose {' or '.join(OPTIMIZERS)}")
        if recipe.kvstore not in KVSTORES:
            raise ValueError(f"unknown kvstore {recipe.kvstore!r}: choose one of {', '.join(KVSTORES)}")
        guards.check_recipe_numbers(recipe)
        return recipe
