"""faltung.train: training the lecture's MNIST models (`faltung train NAME`).

loop.py        the epoch loop, evaluation, one record per epoch
recipes.py     per model: options, optimizer, schedule, batch size, input preparation
augment.py     random translations of the training images
torch_twin.py  the same network in PyTorch, for the epoch-time comparison
run.py         what `faltung train` does: data, model, optimizer, loop, checkpoints, report
"""
from .augment import RandomShift
from .loop import EpochRecord, evaluate, fit, train_step
from .recipes import RECIPES, Recipe

__all__ = ["EpochRecord", "RECIPES", "RandomShift", "Recipe", "evaluate", "fit", "train_step"]
