"""How `faltung train NAME` trains each model: the model's options, the optimizer, the schedule,
the batch size, the input preparation and the augmentation. Every value can be overridden from
the command line; these defaults are the ones docs/training.md reports results for."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import data, optim


@dataclass(frozen=True)
class Recipe:
    model: str
    options: dict = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"  # "adam" or "sgd" (momentum 0.9)
    weight_decay: float = 0.0
    max_shift: int = 0  # random translations of the training images, pixels
    pad_to: int | None = None  # zero-pad (in the background value) the 28x28 digits to this size


RECIPES = {
    "mlp": Recipe("mlp", {"activation": "sigmoid"}, epochs=10, batch_size=64, lr=1e-3),
    "lenet5": Recipe("lenet5", {"activation": "relu", "pool": "max"}, epochs=15,
                     batch_size=64, lr=1e-3, max_shift=2, pad_to=32),
}


def background() -> float:
    """The value of a black MNIST pixel after normalisation."""
    return -data.MNIST_MEAN / data.MNIST_STD


def prepare(images: np.ndarray, recipe: Recipe, dtype=np.float32) -> np.ndarray:
    """uint8 (N, 28, 28) -> normalised (N, 1, S, S), padded to recipe.pad_to when set."""
    x = data.as_float(images, dtype=dtype)
    if recipe.pad_to is None:
        return x
    border = (recipe.pad_to - x.shape[-1]) // 2
    if border < 0 or 2 * border + x.shape[-1] != recipe.pad_to:
        raise ValueError(f"pad_to: expected 28 + an even number of pixels, got {recipe.pad_to}")
    widths = ((0, 0), (0, 0), (border, border), (border, border))
    return np.pad(x, widths, constant_values=background())


def make_optimizer(recipe: Recipe, parameters):
    if recipe.optimizer == "adam":
        return optim.Adam(parameters, lr=recipe.lr, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "sgd":
        return optim.SGD(parameters, lr=recipe.lr, momentum=0.9, weight_decay=recipe.weight_decay)
    raise ValueError(f"optimizer: expected 'adam' or 'sgd', got {recipe.optimizer!r}")
