"""Learning-rate schedules: StepLR and CosineAnnealingLR, with torch.optim.lr_scheduler's rules.

Create the scheduler after the optimizer and call `scheduler.step()` once per epoch, after the
epoch's `optimizer.step()` calls. Like PyTorch, both are chainable: each step rescales the
group's current lr (so a user's change to group["lr"] carries on), and `base_lrs` are the groups'
"initial_lr" (set from "lr" by the first scheduler attached to the optimizer).
"""
from __future__ import annotations

import math

from .._params import positive_int
from .optimizer import Optimizer, check_number


class LRScheduler:
    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer: expected a faltung.optim optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self) -> None:
        self.last_epoch += 1
        groups = self.optimizer.param_groups
        for group, base_lr in zip(groups, self.base_lrs):
            group["lr"] = self._next_lr(group["lr"], base_lr)
        self._last_lr = [group["lr"] for group in groups]

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        vars(self).update(state_dict)

    def _next_lr(self, lr: float, base_lr: float) -> float:
        raise NotImplementedError


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        positive_int(step_size, "step_size")
        check_number(gamma, "gamma", low=0.0)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def _next_lr(self, lr, base_lr):
        return lr * self.gamma if self.last_epoch % self.step_size == 0 else lr


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2, computed as PyTorch
    does with its recursive form (step by step from the current lr), which past T_max climbs back
    up instead of restarting."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        positive_int(T_max, "T_max")
        check_number(eta_min, "eta_min", low=0.0)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def _next_lr(self, lr, base_lr):
        epoch, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if (epoch - 1 - t_max) % (2 * t_max) == 0:
            return lr + (base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        return ((1 + math.cos(math.pi * epoch / t_max))
                / (1 + math.cos(math.pi * (epoch - 1) / t_max)) * (lr - eta_min) + eta_min)
