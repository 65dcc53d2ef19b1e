"""Activations and softmax: PyTorch (float64 autograd) as reference where installed, central
differences for every backward, overflow-free evaluation, NaN as in PyTorch, validation."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests.conftest import assert_close, central_differences, random_array

# name: (forward, backward, torch function name, extra arguments)
ELEMENTWISE = {
    "relu": (faltung.relu, faltung.relu_backward, "relu"),
    "tanh": (faltung.tanh, faltung.tanh_backward, "tanh"),
    "sigmoid": (faltung.sigmoid, faltung.sigmoid_backward, "sigmoid"),
}
ALONG_AXIS = {
    "softmax": (faltung.softmax, faltung.softmax_backward, "softmax"),
    "log_softmax": (faltung.log_softmax, faltung.log_softmax_backward, "log_softmax"),
}


def _cases():
    for name, (fwd, bwd, torch_name) in ELEMENTWISE.items():
        yield pytest.param(fwd, bwd, torch_name, {}, id=name)
    for name, (fwd, bwd, torch_name) in ALONG_AXIS.items():
        for axis in (-1, 0, 1):
            yield pytest.param(fwd, bwd, torch_name, {"axis": axis}, id=f"{name}-axis{axis}")


@pytest.mark.parametrize("fwd, bwd, torch_name, kwargs", list(_cases()))
def test_against_torch(fwd, bwd, torch_name, kwargs, dtype, rng):
    torch = pytest.importorskip("torch")
    x = random_array(rng, (3, 5, 4), dtype) * 3
    gy = random_array(rng, x.shape, dtype)
    xt = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    torch_kwargs = {"dim": kwargs["axis"]} if kwargs else {}
    yt = getattr(torch.nn.functional, torch_name)(xt, **torch_kwargs)
    yt.backward(torch.from_numpy(gy.astype(np.float64)))
    y = fwd(x, **kwargs)
    assert_close(y, yt.detach().numpy(), dtype=dtype, what="forward")
    assert_close(bwd(gy, y, **kwargs), xt.grad.numpy(), dtype=dtype, what="backward")


@pytest.mark.parametrize("fwd, bwd, torch_name, kwargs", list(_cases()))
def test_finite_differences(fwd, bwd, torch_name, kwargs, rng):
    x = rng.standard_normal((2, 3, 4)) * 2
    x[np.abs(x) < 1e-2] = 0.5  # relu: stay away from its kink
    gy = rng.standard_normal(x.shape)
    numeric = central_differences(lambda: float((gy * fwd(x, **kwargs)).sum()), x)
    assert_close(bwd(gy, fwd(x, **kwargs), **kwargs), numeric, dtype=np.float64, kind="fd")


def test_hand_computed_values():
    x = np.array([-2.0, 0.0, 3.0])
    assert_close(faltung.relu(x), np.array([0.0, 0.0, 3.0]), dtype=np.float64, kind="exact")
    assert_close(faltung.sigmoid(x), 1 / (1 + np.exp([2.0, 0.0, -3.0])), dtype=np.float64)
    e = np.exp([-5.0, -3.0, 0.0])  # softmax of x is the same as of x - 3
    assert_close(faltung.softmax(x), e / e.sum(), dtype=np.float64)
    assert_close(faltung.relu_backward(np.ones(3), faltung.relu(x)), np.array([0.0, 0.0, 1.0]),
                 dtype=np.float64, kind="exact")


def test_no_overflow_at_extreme_inputs(dtype):
    x = np.array([[-1e4, 0.0, 1e4]], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        s = faltung.sigmoid(x)
        p = faltung.softmax(x)
        lp = faltung.log_softmax(x)
    assert_close(s, np.array([[0.0, 0.5, 1.0]]), dtype=dtype, kind="exact")
    assert_close(p, np.array([[0.0, 0.0, 1.0]]), dtype=dtype, kind="exact")
    assert_close(lp, np.array([[-2e4, -1e4, 0.0]]), dtype=dtype, kind="exact")


def test_nan_propagates_as_in_torch():
    x = np.array([np.nan, -1.0, 1.0])
    y = faltung.relu(x)
    assert np.isnan(y[0])
    # PyTorch zeroes relu's gradient only where y <= 0: the NaN position passes it through
    assert_close(faltung.relu_backward(np.full(3, 2.0), y), np.array([2.0, 0.0, 2.0]),
                 dtype=np.float64, kind="exact")
    assert np.isnan(faltung.sigmoid(x)[0]) and np.isnan(faltung.tanh(x)[0])
    assert np.isnan(faltung.softmax(x)).all()


def test_out_and_inputs_untouched(rng):
    x = rng.standard_normal((4, 3))
    keep = x.copy()
    out = np.empty_like(x)
    assert faltung.softmax(x, out=out) is out
    assert_close(x, keep, dtype=np.float64, kind="exact")
    strided = rng.standard_normal((4, 6))[:, ::2]
    assert_close(faltung.tanh(strided), np.tanh(strided), dtype=np.float64)


def test_validation_messages():
    with pytest.raises(TypeError, match=r"input: expected dtype float32 or float64, got int64"):
        faltung.relu(np.arange(3))
    with pytest.raises(ValueError, match=r"axis: expected an axis of a 2-D array \(-2 .. 1\), got 2"):
        faltung.softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(TypeError, match=r"axis: expected an int, got 1.0"):
        faltung.softmax(np.zeros((2, 3)), axis=1.0)
    with pytest.raises(ValueError, match=r"grad_out: expected shape \(2, 3\), got \(3, 2\)"):
        faltung.tanh_backward(np.zeros((3, 2)), np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"grad_out: expected dtype float64 like the input, got float32"):
        faltung.sigmoid_backward(np.zeros(3, np.float32), np.zeros(3))


def test_relu_backward_zeroes_infinite_gradients_where_the_output_is_not_positive():
    y = np.array([-1.0, 0.0, 2.0, np.nan])
    grad = np.array([np.inf, np.nan, -np.inf, np.inf])
    # PyTorch's threshold_backward: y <= 0 gives 0 whatever the gradient, otherwise the gradient
    assert_close(faltung.relu_backward(grad, y), np.array([0.0, 0.0, -np.inf, np.inf]),
                 dtype=np.float64, kind="exact")


def test_relu6_backward_as_pytorchs_hardtanh_backward():
    """Zero where y <= 0 or y >= 6 (even for an infinite gradient), the gradient elsewhere,
    NaN included (checked against torch.ops.aten.hardtanh_backward when writing this)."""
    y = np.array([-1.0, 0.0, 3.0, 6.0, 7.0, np.nan, 3.0, 6.0])
    grad = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, np.inf, np.inf])
    assert_close(faltung.relu6_backward(grad, y),
                 np.array([0.0, 0.0, 1.0, 0.0, 0.0, 1.0, np.inf, 0.0]), dtype=np.float64,
                 kind="exact")
