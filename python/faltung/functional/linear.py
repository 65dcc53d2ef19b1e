"""The fully connected layer y = x W^T + b on faltung's GEMM, and dropout.

linear takes x of shape (..., in_features) as torch.nn.functional.linear does (a ViT's tokens
(B, T, D) included): the leading axes are flattened into the GEMM's rows.
"""
from __future__ import annotations

import numpy as np

from .._validation import (as_float_array, as_generator, check_shape, flag_triple, out_triple,
                           output, same_dtype)
from .conv import _bias
from .gemm import gemm


def _linear_inputs(x, weight):
    x = as_float_array(x, "input")
    weight = as_float_array(weight, "weight", ndim=2)
    same_dtype(x, weight=weight)
    if x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"input: expected (..., {weight.shape[1]}) to match weight of shape "
                         f"{weight.shape} (out_features, in_features), got {x.shape}")
    return x, weight


def linear(x, weight, bias=None, *, out=None):
    """x @ weight.T + bias, weight (out_features, in_features), bias (out_features,)."""
    x, weight = _linear_inputs(x, weight)
    bias = _bias(bias, weight.shape[0], x.dtype)
    y = output(out, x.shape[:-1] + (weight.shape[0],), x.dtype)
    gemm(x.reshape(-1, weight.shape[1]), weight, trans_b=True,
         out=y.reshape(-1, weight.shape[0]))
    if bias is not None:
        y += bias
    return y


def linear_backward(grad_out, x, weight, *, needs_input_grad=(True, True, True),
                    out=(None, None, None)):
    """(grad_x = grad_out @ W, grad_weight = grad_out^T @ x, grad_bias = sum of grad_out)."""
    x, weight = _linear_inputs(x, weight)
    want_x, want_w, want_b = flag_triple(needs_input_grad, "needs_input_grad")
    out_x, out_w, out_b = out_triple(out)
    grad_out = as_float_array(grad_out, "grad_out")
    same_dtype(x, grad_out=grad_out)
    check_shape(grad_out, x.shape[:-1] + (weight.shape[0],), "grad_out")
    rows_y = grad_out.reshape(-1, weight.shape[0])
    gx = gw = gb = None
    if want_x:
        gx = output(out_x, x.shape, x.dtype, "out[0]")
        gemm(rows_y, weight, out=gx.reshape(-1, weight.shape[1]))
    if want_w:
        gw = output(out_w, weight.shape, x.dtype, "out[1]")
        gemm(rows_y, x.reshape(-1, weight.shape[1]), trans_a=True, out=gw)
    if want_b:
        gb = output(out_b, (weight.shape[0],), x.dtype, "out[2]")
        np.sum(rows_y, axis=0, out=gb)
    return gx, gw, gb


def dropout_probability(p) -> float:
    """p as a float in [0, 1] (ValueError otherwise): dropout's and nn.Dropout's check."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
    return float(p)


def dropout(x, p=0.5, training=True, *, rng=None, out=None):
    """(y, mask): inverted dropout as in PyTorch, each element kept with probability 1 - p and
    scaled by 1 / (1 - p); mask holds that factor or 0 (dropout_backward needs it). `rng` is a
    numpy Generator or an int seed (None: fresh entropy). When not training, or p == 0, y is a
    copy of x and mask is None."""
    x = as_float_array(x, "input")
    p = dropout_probability(p)
    y = output(out, x.shape, x.dtype)
    if not training or p == 0:
        np.copyto(y, x)
        return y, None
    keep = as_generator(rng).random(x.shape) >= p
    mask = keep.astype(x.dtype) * (x.dtype.type(1 / (1 - p)) if p < 1 else 0)
    np.multiply(x, mask, out=y)
    return y, mask


def dropout_backward(grad_out, mask, *, out=None):
    """grad_out * mask (mask from dropout; None means dropout was the identity)."""
    grad_out = as_float_array(grad_out, "grad_out")
    result = output(out, grad_out.shape, grad_out.dtype)
    if mask is None:
        np.copyto(result, grad_out)
        return result
    mask = as_float_array(mask, "mask")
    same_dtype(grad_out, mask=mask)
    check_shape(mask, grad_out.shape, "mask")
    return np.multiply(grad_out, mask, out=result)
