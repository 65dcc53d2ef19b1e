"""Softmax cross-entropy: a reference written from the formula, PyTorch where installed, the
fused gradient against central differences, extreme logits, validation."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests.conftest import assert_close, central_differences, random_array


def _reference_losses(logits, target):
    """-log(exp(z_t) / sum_j exp(z_j)) per row, straight from the definition (float64)."""
    z = logits.astype(np.float64)
    return np.array([-np.log(np.exp(row[t]) / np.exp(row).sum()) for row, t in zip(z, target)])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_the_definition(reduction, dtype, rng):
    logits = random_array(rng, (6, 5), dtype)
    target = rng.integers(0, 5, 6)
    losses = _reference_losses(logits, target)
    expected = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    got = faltung.cross_entropy(logits, target, reduction)
    assert_close(np.asarray(got), np.asarray(expected), dtype=dtype)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_against_torch(reduction, dtype, rng):
    torch = pytest.importorskip("torch")
    logits = random_array(rng, (7, 4), dtype) * 4
    target = rng.integers(0, 4, 7)
    zt = torch.from_numpy(logits.astype(np.float64)).requires_grad_(True)
    lt = torch.nn.functional.cross_entropy(zt, torch.from_numpy(target), reduction=reduction)
    grad_out = rng.standard_normal(7) if reduction == "none" else 0.7
    lt.backward(torch.as_tensor(grad_out, dtype=torch.float64))
    assert_close(np.asarray(faltung.cross_entropy(logits, target, reduction)),
                 lt.detach().numpy(), dtype=dtype)
    assert_close(faltung.cross_entropy_backward(logits, target, reduction, grad_out),
                 zt.grad.numpy(), dtype=dtype)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_fused_gradient_finite_differences(reduction, rng):
    logits = rng.standard_normal((4, 3)) * 2
    target = np.array([0, 2, 1, 2])
    numeric = central_differences(
        lambda: float(faltung.cross_entropy(logits, target, reduction)), logits)
    assert_close(faltung.cross_entropy_backward(logits, target, reduction), numeric,
                 dtype=np.float64, kind="fd")


def test_extreme_logits_stay_finite(dtype):
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]], dtype)
    target = np.array([2, 1])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        losses = faltung.cross_entropy(logits, target, "none")
        grad = faltung.cross_entropy_backward(logits, target, "sum")
    assert_close(losses, np.array([2e4, 0.0]), dtype=dtype, kind="exact")
    assert_close(grad, np.array([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]]), dtype=dtype, kind="exact")


def test_result_types(rng):
    logits = rng.standard_normal((3, 2)).astype(np.float32)
    loss = faltung.cross_entropy(logits, np.array([0, 1, 1]))
    assert isinstance(loss, np.ndarray) and loss.shape == () and loss.dtype == np.float32


def test_validation_messages():
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 4\), got 4"):
        faltung.cross_entropy(z, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"target: expected shape \(3,\) to match logits"):
        faltung.cross_entropy(z, np.array([0, 1]))
    with pytest.raises(TypeError, match=r"target: expected an integer dtype \(class indices\), got float64"):
        faltung.cross_entropy(z, np.zeros(3))
    with pytest.raises(ValueError, match=r"reduction: expected one of .*, got 'avg'"):
        faltung.cross_entropy(z, np.zeros(3, int), reduction="avg")
    with pytest.raises(ValueError, match=r"logits: expected a 2-D array, got 3-D"):
        faltung.cross_entropy(np.zeros((3, 4, 1)), np.zeros(3, int))
    with pytest.raises(ValueError, match=r"grad_out: expected shape \(3,\) for reduction 'none'"):
        faltung.cross_entropy_backward(z, np.zeros(3, int), "none", 1.0)
