"""linear (on faltung's GEMM) and dropout: references from the formulas, PyTorch where
installed, central differences, masks and seeds, validation."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import faltung
from tests.conftest import assert_close, central_differences, random_array


@pytest.mark.parametrize("x_shape", [(5, 7), (7,), (2, 3, 7)], ids=["2d", "1d", "tokens"])
def test_linear_against_formula(backend, dtype, rng, x_shape):
    x = random_array(rng, x_shape, dtype)
    w = random_array(rng, (4, 7), dtype)
    b = random_array(rng, (4,), dtype)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    expected = np.einsum("...i,oi->...o", x64, w64) + b
    assert_close(faltung.linear(x, w, b), expected, dtype=dtype, k=7)
    gy = random_array(rng, expected.shape, dtype).astype(np.float64)
    gx, gw, gb = faltung.linear_backward(gy.astype(dtype), x, w)
    assert_close(gx, gy @ w64, dtype=dtype, what="grad_input")
    rows = gy.reshape(-1, 4)
    assert_close(gw, rows.T @ x64.reshape(-1, 7), dtype=dtype, what="grad_weight")
    assert_close(gb, rows.sum(0), dtype=dtype, what="grad_bias",
                 scale=np.abs(rows).sum(0))


def test_linear_against_torch(rng):
    torch = pytest.importorskip("torch")
    x, w, b = rng.standard_normal((6, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    xt, wt, bt = (torch.from_numpy(a).requires_grad_(True) for a in (x, w, b))
    yt = torch.nn.functional.linear(xt, wt, bt)
    gy = rng.standard_normal((6, 3))
    yt.backward(torch.from_numpy(gy))
    assert_close(faltung.linear(x, w, b), yt.detach().numpy(), dtype=np.float64)
    for got, ref in zip(faltung.linear_backward(gy, x, w), (xt, wt, bt)):
        assert_close(got, ref.grad.numpy(), dtype=np.float64)


def test_linear_finite_differences(rng):
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal(2)
    gy = rng.standard_normal((3, 2))
    gx, gw, gb = faltung.linear_backward(gy, x, w)
    assert_close(gx, central_differences(lambda: float((gy * faltung.linear(x, w, b)).sum()), x),
                 dtype=np.float64, kind="fd")
    assert_close(gw, central_differences(lambda: float((gy * faltung.linear(x, w, b)).sum()), w),
                 dtype=np.float64, kind="fd")


@pytest.mark.parametrize("mask", list(itertools.product([False, True], repeat=3)))
def test_linear_needs_input_grad(rng, mask):
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    got = faltung.linear_backward(rng.standard_normal((3, 2)), x, w, needs_input_grad=mask)
    assert [g is not None for g in got] == list(mask)


def test_dropout_keeps_and_scales(rng):
    x = np.ones((200, 50))
    y, mask = faltung.dropout(x, 0.3, rng=np.random.default_rng(5))
    kept = y != 0
    assert_close(y[kept], np.full(kept.sum(), 1 / 0.7), dtype=np.float64)
    assert abs(kept.mean() - 0.7) < 0.02  # 10,000 draws: 5 standard deviations is 0.023
    gy = rng.standard_normal(x.shape)
    assert_close(faltung.dropout_backward(gy, mask), gy * kept / 0.7, dtype=np.float64)


def test_dropout_seed_reproducible_and_eval_identity(rng):
    x = rng.standard_normal((8, 8)).astype(np.float32)
    a, _ = faltung.dropout(x, 0.5, rng=3)
    b, _ = faltung.dropout(x, 0.5, rng=3)
    assert_close(a, b, dtype=np.float32, kind="exact")
    y, mask = faltung.dropout(x, 0.5, training=False)
    assert mask is None and y is not x
    assert_close(y, x, dtype=np.float32, kind="exact")
    zero, _ = faltung.dropout(x, 1.0, rng=0)
    assert not zero.any()


def test_validation_messages():
    with pytest.raises(ValueError, match=r"input: expected \(\.\.\., 4\) to match weight of shape \(2, 4\)"):
        faltung.linear(np.zeros((3, 5)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"bias: expected shape \(2,\), got \(3,\)"):
        faltung.linear(np.zeros((3, 4)), np.zeros((2, 4)), np.zeros(3))
    with pytest.raises(ValueError, match=r"p: expected a probability in \[0, 1\], got 1.5"):
        faltung.dropout(np.zeros(3), 1.5)
    with pytest.raises(TypeError, match=r"rng: expected None, a non-negative int seed or a numpy.random.Generator"):
        faltung.dropout(np.zeros(3), 0.5, rng="seed")
    with pytest.raises(ValueError, match=r"mask: expected shape \(3,\), got \(2,\)"):
        faltung.dropout_backward(np.zeros(3), np.zeros(2))
