"""faltung.optim: optimizers and learning-rate schedules with torch.optim's update rules, acting
on faltung.nn.Parameter (arrays updated in place)."""
from .adam import Adam, AdamW
from .lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Adam", "AdamW", "CosineAnnealingLR", "LRScheduler", "Optimizer", "SGD", "StepLR"]
