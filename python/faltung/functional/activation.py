"""Element-wise activations and softmax, forward and backward, in plain NumPy.

These are cheap next to the convolutions (one pass over memory), so they have no compiled
kernels (DESIGN.md allows NumPy for cheap element-wise ops). Each backward takes the forward's
output `y`, as PyTorch's do, so a layer keeps one array. NaN propagates as in PyTorch: relu(NaN)
is NaN and its gradient passes through (PyTorch zeroes the gradient only where y <= 0).
"""
from __future__ import annotations

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
