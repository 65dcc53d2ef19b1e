"""faltung.optim step for step against torch.optim (skipped cleanly when torch is absent): the
same parameters, the same gradients, every option combination that changes the update rule, in
float64 (and float32 for one case of each optimizer); the learning-rate schedules value for
value."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from faltung import optim
from faltung.nn import Parameter
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

STEPS = 6
SHAPES = [(3, 4), (5,)]


def sgd_cases():
    for momentum, dampening, nesterov, weight_decay in itertools.product(
            [0.0, 0.9], [0.0, 0.3], [False, True], [0.0, 0.05]):
        if nesterov and (momentum == 0 or dampening != 0):
            continue  # refused by both (tested in test_optim.py)
        yield dict(lr=0.1, momentum=momentum, dampening=dampening, nesterov=nesterov,
                   weight_decay=weight_decay)


def adam_cases():
    for name, amsgrad, weight_decay, betas, eps in itertools.product(
            ["Adam", "AdamW"], [False, True], [0.0, 0.1], [(0.9, 0.999), (0.5, 0.8)], [1e-8, 1e-3]):
        yield name, dict(lr=0.01, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


def case_id(value):
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items() if k != "lr")
    return str(value)


def compare(name, kwargs, rng, dtype=np.float64, skip_grad_of=None):
    """Run both libraries for STEPS steps on the same random gradients (one parameter goes
    without a gradient at step `skip_grad_of`) and compare the parameters after every step."""
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    ours = [Parameter(a.copy()) for a in init]
    theirs = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    opt = getattr(optim, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, foreach=False, **kwargs)
    for step, step_grads in enumerate(grads):
        for i, (p, t, g) in enumerate(zip(ours, theirs, step_grads)):
            missing = step == skip_grad_of and i == 0
            p.grad = None if missing else g.copy()
            t.grad = None if missing else torch.from_numpy(g.copy())
        opt.step()
        ref.step()
        for i, (p, t) in enumerate(zip(ours, theirs)):
            assert_close(p.data, t.detach().numpy(), dtype=dtype, what=f"step {step}, param {i}")


@pytest.mark.parametrize("kwargs", list(sgd_cases()), ids=case_id)
def test_sgd_matches_torch(kwargs, rng):
    compare("SGD", kwargs, rng, skip_grad_of=2)


@pytest.mark.parametrize("name, kwargs", list(adam_cases()), ids=case_id)
def test_adam_matches_torch(name, kwargs, rng):
    compare(name, kwargs, rng, skip_grad_of=2)


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
], ids=["sgd", "adam", "adamw"])
def test_float32_matches_torch(name, kwargs, rng):
    compare(name, kwargs, rng, dtype=np.float32)


def test_param_groups_match_torch(rng):
    init = [rng.standard_normal(3) for _ in range(2)]
    ours = [Parameter(a.copy()) for a in init]
    theirs = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    opt = optim.SGD([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.5}], lr=0.1, momentum=0.9)
    ref = torch.optim.SGD([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.5}], lr=0.1,
                          momentum=0.9, foreach=False)
    for _ in range(3):
        for p, t in zip(ours, theirs):
            g = rng.standard_normal(3)
            p.grad, t.grad = g, torch.from_numpy(g.copy())
        opt.step()
        ref.step()
    for p, t in zip(ours, theirs):
        assert_close(p.data, t.detach().numpy(), dtype=np.float64)


# ------------------------------------------------------------------------ schedules

SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1, gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("CosineAnnealingLR", dict(T_max=1, eta_min=0.001)),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULES, ids=lambda v: case_id(v))
def test_schedule_matches_torch(name, kwargs):
    """Two groups with different lrs, 35 epochs (past T_max: the cosine climbs back up); the
    optimizers step in between, as in training."""
    ours = optim.SGD([{"params": [Parameter(np.ones(1))]},
                      {"params": [Parameter(np.ones(1))], "lr": 0.3}], lr=0.1)
    theirs = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.ones(1))]},
                              {"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.3}], lr=0.1)
    sched = getattr(optim, name)(ours, **kwargs)
    ref = getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs)
    got, want = [sched.get_last_lr()], [ref.get_last_lr()]
    for _ in range(35):
        ours.step()
        theirs.step()
        sched.step()
        ref.step()
        got.append(sched.get_last_lr())
        want.append(ref.get_last_lr())
        assert [g["lr"] for g in ours.param_groups] == got[-1]
    assert_close(np.array(got), np.array(want), dtype=np.float64, kind="exact")
