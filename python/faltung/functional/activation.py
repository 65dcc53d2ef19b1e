"""Element-wise activations and softmax, forward and backward, in plain NumPy.

These are cheap next to the convolutions (one pass over memory), so they have no compiled
kernels (DESIGN.md allows NumPy for cheap element-wise ops). Each backward takes the forward's
output `y`, as PyTorch's do, so a layer keeps one array. NaN propagates as in PyTorch: relu(NaN)
is NaN and its gradient passes through (PyTorch zeroes the gradient only where y <= 0).
"""
from __future__ import annotations

import math

import numpy as np

from .._validation import as_float_array, check_shape, output, same_dtype


def _input(x, name="input"):
    return as_float_array(x, name)


def _grad_and_output(grad_out, y):
    """(grad_out, y) checked against each other: same dtype and shape."""
    y = as_float_array(y, "y")
    grad_out = as_float_array(grad_out, "grad_out")
    same_dtype(y, grad_out=grad_out)
    check_shape(grad_out, y.shape, "grad_out")
    return grad_out, y


def _axis(axis, ndim: int) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis: expected an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis: expected an axis of a {ndim}-D array (-{ndim} .. {ndim - 1}), "
                         f"got {axis}")
    return int(axis) % ndim


def relu(x, *, out=None):
    """max(x, 0) element-wise."""
    x = _input(x)
    return np.maximum(x, 0, out=output(out, x.shape, x.dtype))


def relu_backward(grad_out, y, *, out=None):
    """grad_out where the forward's output y > 0 (or is NaN), else 0."""
    grad_out, y = _grad_and_output(grad_out, y)
    result = output(out, y.shape, y.dtype)
    keep = ~(y <= 0)  # True where y > 0 or y is NaN: PyTorch passes the gradient there
    with np.errstate(invalid="ignore"):  # inf * 0 is fixed below
        np.multiply(grad_out, keep, out=result)  # vectorised (masked stores are 40x slower)
    if not np.isfinite(grad_out).all():  # inf * 0 = NaN where PyTorch writes 0
        result[~keep] = 0
    return result


def tanh(x, *, out=None):
    x = _input(x)
    return np.tanh(x, out=output(out, x.shape, x.dtype))


def tanh_backward(grad_out, y, *, out=None):
    """grad_out * (1 - y^2), y = tanh(x)."""
    grad_out, y = _grad_and_output(grad_out, y)
    result = output(out, y.shape, y.dtype)
    np.multiply(y, y, out=result)
    np.subtract(1, result, out=result)
    return np.multiply(grad_out, result, out=result)


def sigmoid(x, *, out=None):
    """1 / (1 + exp(-x)), evaluated without overflow: exp(x) / (1 + exp(x)) for x < 0."""
    x = _input(x)
    result = output(out, x.shape, x.dtype)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    np.divide(1, 1 + e, out=result)
    negative = x < 0
    result[negative] = e[negative] * result[negative]
    return result


def sigmoid_backward(grad_out, y, *, out=None):
    """grad_out * y * (1 - y), y = sigmoid(x)."""
    grad_out, y = _grad_and_output(grad_out, y)
    result = output(out, y.shape, y.dtype)
    np.subtract(1, y, out=result)
    np.multiply(result, y, out=result)
    return np.multiply(grad_out, result, out=result)


def softmax(x, axis=-1, *, out=None):
    """exp(x) / sum(exp(x)) along `axis`, with the maximum subtracted first (no overflow)."""
    x = _input(x)
    axis = _axis(axis, x.ndim)
    result = output(out, x.shape, x.dtype)
    np.subtract(x, x.max(axis=axis, keepdims=True), out=result)
    np.exp(result, out=result)
    result /= result.sum(axis=axis, keepdims=True)
    return result


def softmax_backward(grad_out, y, axis=-1, *, out=None):
    """y * (grad_out - sum(grad_out * y)) along `axis`, y = softmax(x)."""
    grad_out, y = _grad_and_output(grad_out, y)
    axis = _axis(axis, y.ndim)
    result = output(out, y.shape, y.dtype)
    np.multiply(grad_out, y, out=result)
    dot = result.sum(axis=axis, keepdims=True)
    np.subtract(grad_out, dot, out=result)
    return np.multiply(result, y, out=result)


def log_softmax(x, axis=-1, *, out=None):
    """x - max - log(sum(exp(x - max))) along `axis`."""
    x = _input(x)
    axis = _axis(axis, x.ndim)
    result = output(out, x.shape, x.dtype)
    np.subtract(x, x.max(axis=axis, keepdims=True), out=result)
    result -= np.log(np.exp(result).sum(axis=axis, keepdims=True))
    return result


def log_softmax_backward(grad_out, y, axis=-1, *, out=None):
    """grad_out - exp(y) * sum(grad_out) along `axis`, y = log_softmax(x)."""
    grad_out, y = _grad_and_output(grad_out, y)
    axis = _axis(axis, y.ndim)
    result = output(out, y.shape, y.dtype)
    np.exp(y, out=result)
    result *= grad_out.sum(axis=axis, keepdims=True)
    return np.subtract(grad_out, result, out=result)


def relu6(x, *, out=None):
    """min(max(x, 0), 6) element-wise (MobileNet v2's activation)."""
    x = _input(x)
    return np.clip(x, 0, 6, out=output(out, x.shape, x.dtype))


def relu6_backward(grad_out, y, *, out=None):
    """grad_out except where y <= 0 or y >= 6 (y the forward's output), there 0: PyTorch's
    hardtanh_backward, which passes the gradient strictly inside (0, 6) and at NaN."""
    grad_out, y = _grad_and_output(grad_out, y)
    result = output(out, y.shape, y.dtype)
    keep = ~((y <= 0) | (y >= 6))  # True inside (0, 6) and at NaN
    with np.errstate(invalid="ignore"):  # inf * 0 is fixed below
        np.multiply(grad_out, keep, out=result)  # vectorised (masked stores are 40x slower)
    if not np.isfinite(grad_out).all():
        result[~keep] = 0
    return result


def _erf(values: np.ndarray) -> np.ndarray:
    """The C library's erf (as math.erf) over a float64 array, as a compiled ufunc (Numba,
    imported on first use: faltung's import stays light)."""
    from .._numba.special import erf
    return erf(values)

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _gelu_approximate(approximate) -> str:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate: expected 'none' or 'tanh', got {approximate!r}")
    return approximate


def gelu(x, approximate="none", *, out=None):
    """x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) as torch.nn.functional.gelu (approximate="none",
    computed in float64 with the C library's erf), or approximate="tanh":
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = _input(x)
    approximate = _gelu_approximate(approximate)
    result = output(out, x.shape, x.dtype)
    wide = x.astype(np.float64)
    if approximate == "tanh":
        inner = np.tanh(_SQRT_2_OVER_PI * (wide + 0.044715 * wide ** 3))
    else:
        inner = _erf(wide / math.sqrt(2))
    np.copyto(result, 0.5 * wide * (1 + inner), casting="same_kind")
    return result


def gelu_backward(grad_out, x, approximate="none", *, out=None):
    """grad_out * d gelu / dx, from the forward's INPUT x (GELU is not invertible from y):
    Phi(x) + x phi(x) for the erf form, the derivative of the tanh formula for "tanh"."""
    x = as_float_array(x, "x")
    grad_out = as_float_array(grad_out, "grad_out")
    same_dtype(x, grad_out=grad_out)
    check_shape(grad_out, x.shape, "grad_out")
    approximate = _gelu_approximate(approximate)
    wide = x.astype(np.float64)
    if approximate == "tanh":
        t = np.tanh(_SQRT_2_OVER_PI * (wide + 0.044715 * wide ** 3))
        slope = 0.5 * (1 + t) + 0.5 * wide * (1 - t * t) * _SQRT_2_OVER_PI * (
            1 + 3 * 0.044715 * wide ** 2)
    else:
        cdf = 0.5 * (1 + _erf(wide / math.sqrt(2)))
        slope = cdf + wide * np.exp(-0.5 * wide * wide) / math.sqrt(2 * math.pi)
    result = output(out, x.shape, x.dtype)
    np.copyto(result, grad_out * slope, casting="same_kind")
    return result
