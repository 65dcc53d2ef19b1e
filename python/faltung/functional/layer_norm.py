"""Layer normalization over the last axis (transformers), forward and backward, in NumPy.

    y = (x - mean) / sqrt(var + eps) * weight + bias,   mean and (biased) var over the last axis

One pass over memory per step, no compiled kernel (DESIGN.md allows NumPy for cheap
element-wise work). The statistics are computed in float64 and the result cast back.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_float_array, check_shape, flag_triple, same_dtype


def _inputs(x, weight, bias):
    x = as_float_array(x, "input")
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"input: expected (..., features) with features >= 1, got {x.shape}")
    features = x.shape[-1]
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None:
            value = as_float_array(value, name)
            same_dtype(x, **{name: value})
            check_shape(value, (features,), name)
    return x, features


def layer_norm(x, weight=None, bias=None, eps=1e-5, *, return_stats=False):
    """y (x's dtype) normalised over the last axis; with return_stats also (mean, invstd)
    (float64, shape x.shape[:-1] + (1,)) for layer_norm_backward."""
    x, _ = _inputs(x, weight, bias)
    wide = x.astype(np.float64)
    mean = wide.mean(axis=-1, keepdims=True)
    centred = wide - mean
    invstd = 1 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)
    y = centred * invstd
    if weight is not None:
        y *= weight
    if bias is not None:
        y += bias
    y = y.astype(x.dtype)
    return (y, mean, invstd) if return_stats else y


def layer_norm_backward(grad_out, x, weight=None, eps=1e-5, *, mean=None, invstd=None,
                        needs_input_grad=(True, True, True)):
    """(grad_x, grad_weight, grad_bias): with xhat = (x - mean) * invstd and g = grad_out * weight,
    grad_x = invstd * (g - mean(g) - xhat * mean(g * xhat)), grad_weight = sum(grad_out * xhat),
    grad_bias = sum(grad_out), the sums over every axis but the last. mean/invstd from the
    forward (return_stats=True) or recomputed."""
    x, features = _inputs(x, weight, None)
    want_x, want_w, want_b = flag_triple(needs_input_grad, "needs_input_grad")
    grad_out = as_float_array(grad_out, "grad_out")
    same_dtype(x, grad_out=grad_out)
    check_shape(grad_out, x.shape, "grad_out")
    if mean is None or invstd is None:
        _, mean, invstd = layer_norm(x, eps=eps, return_stats=True)
    wide_g = grad_out.astype(np.float64)
    xhat = (x.astype(np.float64) - mean) * invstd
    rows = (-1, features)
    gw = (wide_g * xhat).reshape(rows).sum(axis=0).astype(x.dtype) if want_w else None
    gb = wide_g.reshape(rows).sum(axis=0).astype(x.dtype) if want_b else None
    gx = None
    if want_x:
        g = wide_g * weight if weight is not None else wide_g
        gx = invstd * (g - g.mean(axis=-1, keepdims=True)
                       - xhat * (g * xhat).mean(axis=-1, keepdims=True))
        gx = gx.astype(x.dtype)
    return gx, gw, gb
