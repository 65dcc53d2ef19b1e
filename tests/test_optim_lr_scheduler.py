"""StepLR and CosineAnnealingLR without PyTorch: values written out from the closed forms,
chaining, state_dict, and bad arguments (tests/test_optim_torch.py compares with torch)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from faltung.nn import Parameter
from faltung.optim import SGD, CosineAnnealingLR, StepLR
from tests.conftest import assert_close
from tests.test_validation import expect


def sgd(lr=1.0):
    return SGD([Parameter(np.ones(1))], lr=lr)


def lrs(scheduler, epochs):
    values = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        scheduler.optimizer.step()
        scheduler.step()
        values.append(scheduler.get_last_lr()[0])
    return np.array(values)


def test_step_lr_by_hand():
    # lr = 1 * 0.5 ** (epoch // 2), epochs 0..5
    assert_close(lrs(StepLR(sgd(), step_size=2, gamma=0.5), 5), [1, 1, 0.5, 0.5, 0.25, 0.25],
                 dtype=np.float64)


def test_cosine_by_hand():
    # lr = (1 + cos(pi * epoch / 4)) / 2 for epochs 0..8: down to 0 at T_max = 4, then back up
    h = math.sqrt(2) / 2
    expected = [1, (1 + h) / 2, 0.5, (1 - h) / 2, 0, (1 - h) / 2, 0.5, (1 + h) / 2, 1]
    assert_close(lrs(CosineAnnealingLR(sgd(), T_max=4), 8), expected, dtype=np.float64)


def test_cosine_eta_min_by_hand():
    # lr = 0.1 + (2 - 0.1) * (1 + cos(pi * epoch / 2)) / 2: 2, 1.05, 0.1
    assert_close(lrs(CosineAnnealingLR(sgd(2.0), T_max=2, eta_min=0.1), 2), [2, 1.05, 0.1],
                 dtype=np.float64)


def test_schedules_write_the_optimizers_lr_and_remember_initial_lr():
    opt = sgd(1.0)
    scheduler = StepLR(opt, step_size=1, gamma=0.5)
    scheduler.step()
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["initial_lr"] == 1.0
    second = StepLR(opt, step_size=1, gamma=0.5)  # PyTorch: base_lrs come from initial_lr
    assert second.base_lrs == [1.0]


def test_state_dict_resumes():
    first = CosineAnnealingLR(sgd(), T_max=6)
    for _ in range(3):
        first.step()
    opt = sgd()
    opt.param_groups[0]["lr"] = first.optimizer.param_groups[0]["lr"]
    resumed = CosineAnnealingLR(opt, T_max=6)
    resumed.load_state_dict(first.state_dict())
    assert "optimizer" not in first.state_dict()
    first.step()
    resumed.step()
    assert resumed.get_last_lr() == first.get_last_lr()


@pytest.mark.parametrize("make, exc, fragments", [
    (lambda: StepLR(object(), step_size=1), TypeError, [r"\boptimizer\b", r"object"]),
    (lambda: StepLR(sgd(), step_size=0), ValueError, [r"\bstep_size\b", r"positive", r"0"]),
    (lambda: StepLR(sgd(), step_size=1.5), TypeError, [r"\bstep_size\b", r"float"]),
    (lambda: StepLR(sgd(), step_size=1, gamma=-0.1), ValueError, [r"\bgamma\b", r"-0.1"]),
    (lambda: CosineAnnealingLR(sgd(), T_max=0), ValueError, [r"\bT_max\b", r"0"]),
    (lambda: CosineAnnealingLR(sgd(), T_max=True), TypeError, [r"\bT_max\b", r"bool"]),
    (lambda: CosineAnnealingLR(sgd(), T_max=5, eta_min=-1.0), ValueError, [r"\beta_min\b", r"-1"]),
], ids=["optimizer", "step_size-0", "step_size-float", "gamma", "T_max-0", "T_max-bool",
        "eta_min"])
def test_bad_arguments(make, exc, fragments):
    expect(exc, make, *fragments)
