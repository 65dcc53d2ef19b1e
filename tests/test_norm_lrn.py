"""local_response_norm and its backward: the float64 reference from torch's formula, the AlexNet
paper's formula (alpha = 1e-4 * n in torch's convention), every backend, PyTorch (forward and
autograd), central finite differences, sizes 1..6 (even sizes reach one channel further down),
odd channel counts, 3-D and 4-D inputs, out= and non-contiguous input."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, central_differences, random_array

SHAPES = {"4d": (2, 7, 3, 5), "4d_odd_pixels": (1, 5, 9, 11), "3d": (3, 6, 10),
          "one_channel": (2, 1, 3, 3), "many_pixels": (2, 4, 9, 17)}
PARAMS = [(1e-4, 0.75, 1.0), (0.5, 0.75, 2.0), (0.3, 0.6, 1.5), (2.0, 1.0, 0.5)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: "a{}_b{}_k{}".format(*p))
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
def test_forward_backward(backend, dtype, rng, size, params):
    alpha, beta, k = params
    x = random_array(rng, SHAPES["4d"], dtype)
    g = random_array(rng, x.shape, dtype)
    assert_close(faltung.local_response_norm(x, size, alpha, beta, k),
                 ref.local_response_norm(x, size, alpha, beta, k), dtype=dtype, what="y")
    assert_close(faltung.local_response_norm_backward(g, x, size, alpha, beta, k),
                 ref.local_response_norm_backward(g, x, size, alpha, beta, k), dtype=dtype,
                 what="grad_input")


@pytest.mark.parametrize("size", [3, 4, 9])
@pytest.mark.parametrize("name", list(SHAPES))
def test_shapes(backend, dtype, rng, name, size):
    x = random_array(rng, SHAPES[name], dtype)
    g = random_array(rng, x.shape, dtype)
    assert_close(faltung.local_response_norm(x, size, 0.4, 0.75, 1.0),
                 ref.local_response_norm(x, size, 0.4, 0.75, 1.0), dtype=dtype, what="y")
    assert_close(faltung.local_response_norm_backward(g, x, size, 0.4, 0.75, 1.0),
                 ref.local_response_norm_backward(g, x, size, 0.4, 0.75, 1.0), dtype=dtype,
                 what="grad_input")


def test_alexnet_constants(backend, dtype, rng):
    """The paper's k=2, n=5, alpha=1e-4, beta=0.75 are size=5, alpha=5e-4 in torch's convention.
    Activations of size ~30 make the alpha term matter (it is 0.045 of k here)."""
    x = (30 * random_array(rng, (2, 12, 4, 4), np.float64)).astype(dtype)
    paper = ref.local_response_norm_alexnet(x, n=5, alpha=1e-4, beta=0.75, k=2.0)
    assert_close(faltung.local_response_norm(x, 5, alpha=5e-4, beta=0.75, k=2.0), paper,
                 dtype=dtype)
    wrong = faltung.local_response_norm(x, 5, alpha=1e-4, beta=0.75, k=2.0)
    assert np.abs(wrong - paper).max() > 1e-3 * np.abs(paper).max(), "alpha=1e-4 would also match?"


def test_even_size_window_is_asymmetric(backend):
    """size 2: channel c's window is {c-1, c} (torch pads size//2 = 1 before, 0 after), worked
    by hand with alpha/size = 1, beta = 1, k = 1: d_c = 1 + sum of x_j^2 over the window."""
    x = np.array([2.0, 1.0, 3.0]).reshape(1, 3, 1, 1)
    d = np.array([1 + 4, 1 + 4 + 1, 1 + 1 + 9])
    y = faltung.local_response_norm(x, 2, alpha=2.0, beta=1.0, k=1.0)
    assert_close(y.reshape(3), np.array([2.0, 1.0, 3.0]) / d, dtype=np.float64)


FD_CASES = [(3, (0.7, 0.75, 1.0)), (4, (0.5, 0.6, 1.5)), (2, (1.0, 1.0, 2.0))]


@pytest.mark.parametrize("size,params", FD_CASES, ids=["size3", "size4_beta06", "size2_beta1"])
def test_finite_differences(backend, rng, size, params):
    x = random_array(rng, (1, 5, 2, 3), np.float64)
    g = random_array(rng, x.shape, np.float64)
    analytic = faltung.local_response_norm_backward(g, x, size, *params)
    numeric = central_differences(
        lambda: float((g * faltung.local_response_norm(x, size, *params)).sum()), x)
    assert_close(analytic, numeric, dtype=np.float64, kind="fd")


def test_out_and_noncontiguous(backend, dtype, rng):
    big = random_array(rng, (2, 10, 6, 8), dtype)
    x = big[:, ::2, :, 1::2]
    g = random_array(rng, (2, 5, 6, 8), dtype)[..., ::2]
    out = np.full(x.shape, np.nan, dtype)
    assert faltung.local_response_norm(x, 3, 0.5, out=out) is out
    assert_close(out, ref.local_response_norm(x, 3, 0.5, 0.75, 1.0), dtype=dtype)
    gout = np.full(x.shape, np.nan, dtype)
    assert faltung.local_response_norm_backward(g, x, 3, 0.5, out=gout) is gout
    assert_close(gout, ref.local_response_norm_backward(g, x, 3, 0.5, 0.75, 1.0), dtype=dtype)


def test_inputs_not_modified_and_nan_propagates(backend, rng):
    x = random_array(rng, (1, 6, 2, 2), np.float64)
    x[0, 2, 0, 0] = np.nan
    g = random_array(rng, x.shape, np.float64)
    copies = x.copy(), g.copy()
    y = faltung.local_response_norm(x, 3)
    gx = faltung.local_response_norm_backward(g, x, 3)
    assert np.array_equal(x, copies[0], equal_nan=True) and np.array_equal(g, copies[1])
    # channel 2's NaN reaches the windows of channels 1..3 at that pixel, nothing else
    assert_close(y, ref.local_response_norm(x, 3, 1e-4, 0.75, 1.0), dtype=np.float64)
    assert np.isnan(y[0, 1:4, 0, 0]).all()
    assert np.isfinite(np.delete(y[0, :, 0, 0], [1, 2, 3])).all()
    assert np.isnan(gx[0, 1:4, 0, 0]).all() and np.isfinite(gx[0, :, 1:, :]).all()


torch = pytest.importorskip("torch")


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("name", ["4d", "3d"])
def test_torch(backend, dtype, rng, name, size):
    x = random_array(rng, SHAPES[name], dtype)
    g = random_array(rng, x.shape, dtype)
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    ty = torch.nn.functional.local_response_norm(tx, size, alpha=0.6, beta=0.75, k=1.2)
    ty.backward(torch.from_numpy(g))
    assert_close(faltung.local_response_norm(x, size, 0.6, 0.75, 1.2),
                 ty.detach().numpy().astype(np.float64), dtype=dtype, what="y")
    assert_close(faltung.local_response_norm_backward(g, x, size, 0.6, 0.75, 1.2),
                 tx.grad.numpy().astype(np.float64), dtype=dtype, what="grad_input")
