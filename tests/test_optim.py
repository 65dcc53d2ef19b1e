"""faltung.optim and faltung.nn.Parameter without PyTorch: single updates computed by hand from
the published update rules (the numbers are written out here, not computed by the code under
test), the in-place contract, zero_grad, state_dict, and every validation path.
(tests/test_optim_torch.py checks long runs step for step against torch.optim.)"""
from __future__ import annotations

import math

import numpy as np
import pytest

from faltung.nn import Parameter
from faltung.optim import SGD, Adam, AdamW
from tests.conftest import assert_close
from tests.test_validation import expect

F64 = np.float64


def run(opt_class, p0, grads, **kwargs):
    """The parameter values after one optimizer step per gradient in `grads`."""
    p = Parameter(np.array(p0, dtype=F64))
    opt = opt_class([p], **kwargs)
    values = []
    for g in grads:
        p.grad = np.array(g, dtype=F64)
        opt.step()
        values.append(p.data.copy())
    return values


# ------------------------------------------------------------------------ SGD by hand

def test_sgd_momentum_weight_decay_by_hand():
    # g' = g + 0.1 p; first step: buf = g' (no dampening, no momentum); p -= 0.1 buf
    # step 1: g' = [0.5 + 0.1, 0.25 - 0.2] = [0.6, 0.05];          p = [0.94, -2.005]
    # step 2: g' = [0.5 + 0.094, 0.25 - 0.2005] = [0.594, 0.0495]
    #         buf = 0.9 [0.6, 0.05] + g' = [1.134, 0.0945];         p = [0.8266, -2.01445]
    values = run(SGD, [1.0, -2.0], [[0.5, 0.25]] * 2, lr=0.1, momentum=0.9, weight_decay=0.1)
    assert_close(values[0], [0.94, -2.005], dtype=F64)
    assert_close(values[1], [0.8266, -2.01445], dtype=F64)


def test_sgd_nesterov_by_hand():
    # step 1: buf = 1, g = 1 + 0.9 * 1 = 1.9, p = 1 - 0.19 = 0.81
    # step 2: buf = 0.9 + 1 = 1.9, g = 1 + 0.9 * 1.9 = 2.71, p = 0.81 - 0.271 = 0.539
    values = run(SGD, [1.0], [[1.0]] * 2, lr=0.1, momentum=0.9, nesterov=True)
    assert_close(np.concatenate(values), [0.81, 0.539], dtype=F64)


def test_sgd_dampening_spares_the_first_step():
    # step 1: buf = g = 1 (PyTorch copies the first gradient undamped), p = 0.9
    # step 2: buf = 0.9 * 1 + (1 - 0.5) * 1 = 1.4, p = 0.9 - 0.14 = 0.76
    values = run(SGD, [1.0], [[1.0]] * 2, lr=0.1, momentum=0.9, dampening=0.5)
    assert_close(np.concatenate(values), [0.9, 0.76], dtype=F64)


def test_sgd_plain():
    values = run(SGD, [1.0, 2.0], [[3.0, -4.0]], lr=0.5)
    assert_close(values[0], [-0.5, 4.0], dtype=F64)


# ------------------------------------------------------------------------ Adam by hand
# betas (0.5, 0.75) and eps = 0 keep the arithmetic short; lr = 0.1, p0 = 1.
# Bias corrections: step 1: 1 - 0.5 = 0.5, 1 - 0.75 = 0.25; step 2: 0.75, 0.4375.

ADAM = dict(lr=0.1, betas=(0.5, 0.75), eps=0.0)


def test_adam_two_steps_by_hand():
    # step 1 (g = 1): m = 0.5, v = 0.25, p = 1 - (0.1 / 0.5) * 0.5 / (sqrt(0.25) / sqrt(0.25)) = 0.9
    # step 2 (g = 3): m = 0.25 + 1.5 = 1.75, v = 0.1875 + 2.25 = 2.4375
    values = run(Adam, [1.0], [[1.0], [3.0]], **ADAM)
    expected = [0.9, 0.9 - (0.1 / 0.75) * 1.75 / (math.sqrt(2.4375) / math.sqrt(0.4375))]
    assert_close(np.concatenate(values), expected, dtype=F64)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_amsgrad_by_hand(amsgrad):
    # step 1 (g = 3): m = 1.5, v = 2.25, p = 1 - 0.2 * 1.5 / (1.5 / 0.5) = 0.9
    # step 2 (g = 1): m = 0.75 + 0.5 = 1.25, v = 0.75 * 2.25 + 0.25 = 1.9375; amsgrad keeps 2.25
    values = run(Adam, [1.0], [[3.0], [1.0]], amsgrad=amsgrad, **ADAM)
    v_hat = 2.25 if amsgrad else 1.9375
    expected = [0.9, 0.9 - (0.1 / 0.75) * 1.25 / (math.sqrt(v_hat) / math.sqrt(0.4375))]
    assert_close(np.concatenate(values), expected, dtype=F64)


def test_adam_l2_weight_decay_by_hand():
    # Adam folds 0.5 * p into the gradient: step 1: g' = 1.5, m = 0.75, v = 0.5625, p = 0.9
    # step 2: g' = 1 + 0.45 = 1.45, m = 0.375 + 0.725 = 1.1, v = 0.421875 + 0.525625 = 0.9475
    values = run(Adam, [1.0], [[1.0]] * 2, weight_decay=0.5, **ADAM)
    expected = [0.9, 0.9 - (0.1 / 0.75) * 1.1 / (math.sqrt(0.9475) / math.sqrt(0.4375))]
    assert_close(np.concatenate(values), expected, dtype=F64)


def test_adamw_decoupled_weight_decay_by_hand():
    # AdamW first shrinks p by (1 - lr * wd) = 0.95, then takes Adam's step without decay:
    # step 1 (g = 1): p = 0.95 - 0.1 = 0.85
    # step 2 (g = 3): p = 0.85 * 0.95 - (0.1 / 0.75) * 1.75 / sqrt(2.4375 / 0.4375)
    values = run(AdamW, [1.0], [[1.0], [3.0]], weight_decay=0.5, **ADAM)
    expected = [0.85, 0.85 * 0.95 - (0.1 / 0.75) * 1.75 / (math.sqrt(2.4375) / math.sqrt(0.4375))]
    assert_close(np.concatenate(values), expected, dtype=F64)


def test_adamw_default_weight_decay_is_torchs():
    p = Parameter(np.ones(2))
    assert AdamW([p]).param_groups[0]["weight_decay"] == 1e-2
    assert Adam([p]).param_groups[0]["weight_decay"] == 0.0


# ------------------------------------------------------------------------ behaviour

@pytest.mark.parametrize("opt_class", [SGD, Adam, AdamW])
def test_update_in_place_and_float32_stays_float32(opt_class):
    data = np.ones((2, 3), np.float32)
    view = data[0]
    p = Parameter(data)
    opt = opt_class([p], lr=0.1, momentum=0.9) if opt_class is SGD else opt_class([p], lr=0.1)
    p.grad = np.full((2, 3), 0.5, np.float32)
    opt.step()
    assert p.data is data and p.data.dtype == np.float32
    assert np.all(view < 1.0), "the update must land in the array the caller holds"


@pytest.mark.parametrize("opt_class", [SGD, Adam, AdamW])
def test_parameters_without_grad_are_skipped(opt_class):
    a, b = Parameter(np.ones(3)), Parameter(np.ones(3))
    opt = opt_class([a, b], lr=0.1)
    a.grad = np.ones(3)
    opt.step()
    assert np.all(a.data < 1.0)
    assert np.array_equal(b.data, np.ones(3)) and b not in opt.state


def test_zero_grad():
    p = Parameter(np.ones(3))
    opt = SGD([p], lr=0.1)
    p.grad = grad = np.ones(3)
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and np.array_equal(grad, np.zeros(3))
    opt.zero_grad()
    assert p.grad is None


def test_step_returns_the_closures_loss():
    p = Parameter(np.ones(1))
    assert SGD([p], lr=0.1).step(lambda: 42.0) == 42.0


def test_param_groups_take_their_own_lr():
    a, b = Parameter(np.ones(1)), Parameter(np.ones(1))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = np.ones(1), np.ones(1)
    opt.step()
    assert_close(np.concatenate([a.data, b.data]), [0.9, 0.5], dtype=F64)


@pytest.mark.parametrize("opt_class, kwargs", [
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (Adam, dict(lr=0.1, amsgrad=True)),
    (AdamW, dict(lr=0.1)),
], ids=["sgd", "adam", "adamw"])
def test_state_dict_round_trip_continues_identically(opt_class, kwargs, rng):
    grads = [rng.standard_normal(4) for _ in range(4)]
    p = Parameter(np.ones(4))
    opt = opt_class([p], **kwargs)
    for g in grads[:2]:
        p.grad = g
        opt.step()
    saved = opt.state_dict()
    q = Parameter(p.data.copy())
    resumed = opt_class([q], lr=1.0)   # hyper-parameters come from the state dict
    resumed.load_state_dict(saved)
    for g in grads[2:]:
        p.grad, q.grad = g, g.copy()
        opt.step()
        resumed.step()
    assert_close(q.data, p.data, dtype=F64, kind="exact")


def test_state_dict_refuses_other_layouts():
    opt = SGD([Parameter(np.ones(1))], lr=0.1)
    two = SGD([Parameter(np.ones(1)), Parameter(np.ones(1))], lr=0.1)
    expect(ValueError, lambda: opt.load_state_dict(two.state_dict()), r"state_dict", r"2", r"1")


# ------------------------------------------------------------------------ Parameter

def test_parameter_wraps_without_copy():
    data = np.zeros((2, 2), np.float32)
    p = Parameter(data)
    assert p.data is data and p.grad is None and p.shape == (2, 2) and p.dtype == np.float32
    assert p.size == 4 and "(2, 2)" in repr(p)


@pytest.mark.parametrize("data, exc, fragment", [
    ([1.0, 2.0], TypeError, r"numpy.ndarray.*list"),
    (np.ones(2, np.int64), TypeError, r"float32 or float64.*int64"),
], ids=["list", "int64"])
def test_parameter_bad_data(data, exc, fragment):
    expect(exc, lambda: Parameter(data), r"\bdata\b", fragment)


def test_parameter_read_only_data():
    data = np.ones(2)
    data.flags.writeable = False
    expect(ValueError, lambda: Parameter(data), r"\bdata\b", r"writeable")


@pytest.mark.parametrize("grad, exc, fragment", [
    (np.ones(3), ValueError, r"shape \(2,\).*\(3,\)"),
    (np.ones(2, np.float32), TypeError, r"float64.*float32"),
    ([1.0, 1.0], TypeError, r"list"),
], ids=["shape", "dtype", "list"])
def test_parameter_bad_grad(grad, exc, fragment):
    p = Parameter(np.ones(2))
    expect(exc, lambda: setattr(p, "grad", grad), r"\bgrad\b", fragment)


# ------------------------------------------------------------------------ bad arguments

P = Parameter(np.ones(2))


@pytest.mark.parametrize("make, exc, fragments", [
    (lambda: SGD([P], lr=-0.1), ValueError, [r"\blr\b", r"-0.1"]),
    (lambda: SGD([P], lr=float("nan")), ValueError, [r"\blr\b", r"nan"]),
    (lambda: SGD([P], lr="0.1"), TypeError, [r"\blr\b", r"str"]),
    (lambda: SGD([P], lr=0.1, momentum=-0.5), ValueError, [r"\bmomentum\b", r"-0.5"]),
    (lambda: SGD([P], lr=0.1, weight_decay=-1), ValueError, [r"\bweight_decay\b", r"-1"]),
    (lambda: SGD([P], lr=0.1, nesterov=True), ValueError, [r"\bnesterov\b", r"momentum"]),
    (lambda: SGD([P], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     [r"\bnesterov\b", r"dampening"]),
    (lambda: SGD([{"params": [P], "lr": -1.0}], lr=0.1), ValueError, [r"\blr\b", r"-1"]),
    (lambda: Adam([P], lr=-1e-3), ValueError, [r"\blr\b", r"-0.001"]),
    (lambda: Adam([P], eps=-1e-8), ValueError, [r"\beps\b", r"-1e-08"]),
    (lambda: Adam([P], betas=(1.0, 0.999)), ValueError, [r"betas\[0\]", r"1.0", r"< 1"]),
    (lambda: Adam([P], betas=(0.9, -0.1)), ValueError, [r"betas\[1\]", r"-0.1"]),
    (lambda: Adam([P], betas=0.9), TypeError, [r"\bbetas\b", r"pair"]),
    (lambda: AdamW([P], weight_decay=-0.01), ValueError, [r"\bweight_decay\b", r"-0.01"]),
    (lambda: SGD(P, lr=0.1), TypeError, [r"\bparams\b", r"iterable", r"Parameter"]),
    (lambda: SGD([], lr=0.1), ValueError, [r"\bparams\b", r"empty"]),
    (lambda: SGD([np.ones(2)], lr=0.1), TypeError, [r"params\[0\]", r"Parameter", r"ndarray"]),
    (lambda: SGD([P, P], lr=0.1), ValueError, [r"\bparams\b", r"more than once"]),
    (lambda: SGD([{"params": [P]}, {"params": [P]}], lr=0.1), ValueError,
     [r"\bparams\b", r"more than one parameter group"]),
], ids=["sgd-lr", "sgd-lr-nan", "sgd-lr-str", "momentum", "weight_decay", "nesterov-no-momentum",
        "nesterov-dampening", "group-lr", "adam-lr", "eps", "beta1", "beta2", "betas-type",
        "adamw-weight_decay", "single-parameter", "empty", "not-a-parameter", "duplicate",
        "duplicate-across-groups"])
def test_bad_arguments(make, exc, fragments):
    expect(exc, make, *fragments)
