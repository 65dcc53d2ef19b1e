"""local_contrast_norm (the lecture's "Lokale Kontrastadaption", seed 000) and its backward:
float64 references from the notes' formula, every backend, the unit-variance property, PyTorch
autograd of the same formula, central finite differences, out= and non-contiguous input."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, central_differences, random_array

SHAPES = {"4d": (2, 7, 3, 5), "2d": (6, 3), "two_channels": (1, 2, 4, 4),
          "many_pixels": (2, 5, 17, 19), "3d": (2, 4, 7)}


@pytest.mark.parametrize("eps", [1e-5, 0.0, 0.5])
@pytest.mark.parametrize("name", list(SHAPES))
def test_forward_backward(backend, dtype, rng, name, eps):
    x = random_array(rng, SHAPES[name], dtype)
    g = random_array(rng, x.shape, dtype)
    c = x.shape[1]
    assert_close(faltung.local_contrast_norm(x, eps), ref.local_contrast_norm(x, eps),
                 dtype=dtype, k=c, what="y")
    assert_close(faltung.local_contrast_norm_backward(g, x, eps),
                 ref.local_contrast_norm_backward(g, x, eps), dtype=dtype, k=c, what="grad_input")


def test_unit_variance(backend, rng):
    """With eps = 0 every position's channel vector has sum(y^2) / (C - 1) = 1."""
    x = 5 * random_array(rng, (2, 6, 4, 3), np.float64)
    y = faltung.local_contrast_norm(x, eps=0.0)
    assert_close((y ** 2).sum(axis=1) / 5, np.ones((2, 4, 3)), dtype=np.float64)


def test_zero_vector_stays_finite(backend):
    x = np.zeros((1, 3, 2, 2))
    assert_close(faltung.local_contrast_norm(x), np.zeros_like(x), dtype=np.float64, kind="exact")


def test_finite_differences(backend, rng):
    x = random_array(rng, (2, 4, 2, 2), np.float64)
    g = random_array(rng, x.shape, np.float64)
    analytic = faltung.local_contrast_norm_backward(g, x, 0.1)
    numeric = central_differences(lambda: float((g * faltung.local_contrast_norm(x, 0.1)).sum()), x)
    assert_close(analytic, numeric, dtype=np.float64, kind="fd")


def test_out_and_noncontiguous(backend, dtype, rng):
    x = random_array(rng, (2, 8, 5, 6), dtype)[:, ::2, :, ::2]
    g = random_array(rng, (2, 4, 5, 6), dtype)[..., ::2]
    out = np.full(x.shape, np.nan, dtype)
    assert faltung.local_contrast_norm(x, out=out) is out
    assert_close(out, ref.local_contrast_norm(x, 1e-5), dtype=dtype)
    gout = np.full(x.shape, np.nan, dtype)
    assert faltung.local_contrast_norm_backward(g, x, out=gout) is gout
    assert_close(gout, ref.local_contrast_norm_backward(g, x, 1e-5), dtype=dtype)


torch = pytest.importorskip("torch")


def test_torch_autograd(backend, dtype, rng):
    """The notes' formula written in torch; its autograd against our backward."""
    x = random_array(rng, (2, 6, 4, 5), dtype)
    g = random_array(rng, x.shape, dtype)
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    ty = tx / torch.sqrt((tx * tx).sum(dim=1, keepdim=True) / 5 + 1e-5)
    ty.backward(torch.from_numpy(g))
    assert_close(faltung.local_contrast_norm(x), ty.detach().numpy().astype(np.float64),
                 dtype=dtype)
    assert_close(faltung.local_contrast_norm_backward(g, x), tx.grad.numpy().astype(np.float64),
                 dtype=dtype)
