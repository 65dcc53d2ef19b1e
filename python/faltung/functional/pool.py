"""Pooling over NCHW arrays, forward and backward: max, average, Lp, adaptive and global.

Names, argument order and defaults follow torch.nn.functional; every function takes a
keyword-only ``out=``. Padding is an int, a pair, four sides (left, right, top, bottom),
Keras's ((top, bottom), (left, right)), "valid" or "same" (TensorFlow's rule, out =
ceil(in / stride)); each side at most half the (dilated) kernel, as PyTorch requires.
Backward passes take the forward's arguments and return the input gradient.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backends
from .._params import _is_int
from .._pool_params import (flag, make_adaptive_pool2d_params, make_global_pool2d_params,
                            make_pool2d_params)
from .._validation import as_float_array, check_shape, output, same_dtype


def _out_shape(p):
    return (p.batch, p.channels, p.out_h, p.out_w)


def _grad_out(grad_out, x, p):
    grad_out = as_float_array(grad_out, "grad_out", ndim=4)
    same_dtype(x, grad_out=grad_out)
    check_shape(grad_out, _out_shape(p), "grad_out")
    return grad_out


def _indices(indices, p):
    if not isinstance(indices, np.ndarray):
        raise TypeError(f"indices: expected a numpy.ndarray, got {type(indices).__name__}")
    if indices.dtype != np.int64:
        raise TypeError(f"indices: expected dtype int64 (as max_pool2d returns), "
                        f"got {indices.dtype}")
    check_shape(indices, _out_shape(p), "indices")
    return np.ascontiguousarray(indices)


def _pair_out(out, return_indices):
    if not return_indices:
        return out, None
    if out is None:
        return None, None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"out: with return_indices=True expected a pair (values, indices) of "
                        f"arrays or None, got {out!r}")
    return out


# --------------------------------------------------------------------------------- max pooling

def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, out=None):
    """Max pooling of x (N, C, H, W), PyTorch's semantics: padding cells are -inf, NaN wins,
    ties go to the first cell in row-major window order. With return_indices=True returns
    (values, indices): int64 flat positions h * W + w within each (n, c) plane, and `out` is
    then a pair (values, indices) of arrays or None."""
    x = as_float_array(x, "input", ndim=4)
    return_indices = flag(return_indices, "return_indices")
    p = make_pool2d_params(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    out_y, out_i = _pair_out(out, return_indices)
    y = output(out_y, _out_shape(p), x.dtype, "out[0]" if return_indices else "out")
    indices = None
    if return_indices:
        indices = output(out_i, _out_shape(p), np.dtype(np.int64), "out[1]")
    backends.current().max_pool2d_forward(y, indices, x, p)
    return (y, indices) if return_indices else y


def max_pool2d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False, *, out=None):
    """Gradient of max_pool2d with respect to x: each grad_out entry goes to the input cell its
    index names (overlapping windows add up). `indices` come from max_pool2d(...,
    return_indices=True); x gives the input's shape and dtype only."""
    x = as_float_array(x, "input", ndim=4)
    p = make_pool2d_params(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    grad_out = _grad_out(grad_out, x, p)
    indices = _indices(indices, p)
    gx = output(out, x.shape, x.dtype)
    backends.current().max_pool2d_backward(gx, grad_out, indices, p)
    return gx


def global_max_pool2d(x, return_indices=False, *, out=None):
    """Max over each whole (n, c) plane -> (N, C, 1, 1); max_pool2d with the plane as kernel."""
    x = as_float_array(x, "input", ndim=4)
    return max_pool2d(x, x.shape[2:], return_indices=return_indices, out=out)


def global_max_pool2d_backward(grad_out, x, indices, *, out=None):
    """Gradient of global_max_pool2d with respect to x."""
    x = as_float_array(x, "input", ndim=4)
    return max_pool2d_backward(grad_out, x, indices, x.shape[2:], out=out)


# ----------------------------------------------------------------------------- average pooling

def _avg_params(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    if isinstance(padding, str):   # Keras: the average over the real cells only
        count_include_pad = False
    return make_pool2d_params(x.shape, kernel_size, stride, padding, 1, ceil_mode,
                              count_include_pad, divisor_override)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None, *, out=None):
    """Average pooling, PyTorch's divisor: divisor_override if given, else the window's cells
    inside the padded input (count_include_pad=True) or its real cells only. A ceil_mode window
    cut by the input's end never counts the cells beyond the padding. padding="same"/"valid"
    follow Keras: the average over the real cells only (count_include_pad is then not used)."""
    x = as_float_array(x, "input", ndim=4)
    p = _avg_params(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    y = output(out, _out_shape(p), x.dtype)
    backends.current().avg_pool2d_forward(y, x, p)
    return y


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, *, out=None):
    """Gradient of avg_pool2d with respect to x: each grad_out entry spread over its window with
    the forward's divisor. x gives the input's shape and dtype only."""
    x = as_float_array(x, "input", ndim=4)
    p = _avg_params(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    grad_out = _grad_out(grad_out, x, p)
    gx = output(out, x.shape, x.dtype)
    backends.current().avg_pool2d_backward(gx, grad_out, p)
    return gx


def adaptive_avg_pool2d(x, output_size, *, out=None):
    """Average pooling to a fixed output size (PyTorch's windows: rows floor(i*H/oh) ..
    ceil((i+1)*H/oh) - 1, likewise columns). output_size: int or pair; None keeps that size."""
    x = as_float_array(x, "input", ndim=4)
    p = make_adaptive_pool2d_params(x.shape, output_size)
    y = output(out, _out_shape(p), x.dtype)
    backends.current().avg_pool2d_forward(y, x, p)
    return y


def adaptive_avg_pool2d_backward(grad_out, x, output_size, *, out=None):
    """Gradient of adaptive_avg_pool2d with respect to x."""
    x = as_float_array(x, "input", ndim=4)
    p = make_adaptive_pool2d_params(x.shape, output_size)
    grad_out = _grad_out(grad_out, x, p)
    gx = output(out, x.shape, x.dtype)
    backends.current().avg_pool2d_backward(gx, grad_out, p)
    return gx


def global_avg_pool2d(x, *, out=None):
    """Mean over each whole (n, c) plane -> (N, C, 1, 1) (ResNet's, GoogLeNet's head);
    adaptive_avg_pool2d(x, 1)."""
    x = as_float_array(x, "input", ndim=4)
    p = make_global_pool2d_params(x.shape)
    y = output(out, _out_shape(p), x.dtype)
    backends.current().avg_pool2d_forward(y, x, p)
    return y


def global_avg_pool2d_backward(grad_out, x, *, out=None):
    """Gradient of global_avg_pool2d with respect to x: grad_out / (H * W) everywhere."""
    x = as_float_array(x, "input", ndim=4)
    p = make_global_pool2d_params(x.shape)
    grad_out = _grad_out(grad_out, x, p)
    gx = output(out, x.shape, x.dtype)
    backends.current().avg_pool2d_backward(gx, grad_out, p)
    return gx


# ---------------------------------------------------------------------------------- Lp pooling

def _norm(norm_type) -> float:
    if isinstance(norm_type, (bool, np.bool_)) or not (
            _is_int(norm_type) or isinstance(norm_type, (float, np.floating))):
        raise TypeError(f"norm_type: expected a number, got {norm_type!r}")
    value = float(norm_type)
    if not value > 0:
        raise ValueError(f"norm_type: expected a positive number (or inf), got {norm_type!r}")
    return value


def lp_pool2d(x, norm_type, kernel_size, stride=None, padding=0, ceil_mode=False, *, out=None):
    """Power-average pooling y = (sum over the window of x^p)^(1/p), p = norm_type (PyTorch's
    lp_pool2d, plus padding: padding cells are zeros). p = 2 is the lecture's L2 pooling
    sqrt(sum a^2). Like PyTorch, x^p is a plain power (negative x with non-integer p gives NaN),
    a ceil_mode window cut by the input's end is scaled by kernel cells / covered cells (PyTorch
    builds lp_pool2d on avg_pool2d), and p = inf is the max of |x|."""
    x = as_float_array(x, "input", ndim=4)
    norm = _norm(norm_type)
    if math.isinf(norm):
        return max_pool2d(np.abs(x), kernel_size, stride, padding, 1, ceil_mode, out=out)
    p = make_pool2d_params(x.shape, kernel_size, stride, padding, 1, ceil_mode)
    y = output(out, _out_shape(p), x.dtype)
    backends.current().lp_pool2d_forward(y, x, norm, p)
    return y


def lp_pool2d_backward(grad_out, x, norm_type, kernel_size, stride=None, padding=0,
                       ceil_mode=False, *, out=None):
    """Gradient of lp_pool2d with respect to x: dy/dx_i = (y / S) * x_i^(p-1), S = the window's
    sum of x^p. It is defined at 0: a window whose S is 0 (all zeros, where y = S^(1/p) has no
    derivative for p > 1) passes no gradient, the subgradient PyTorch documents. For p = inf the
    gradient goes to the cell of the largest |x| times sign(x)."""
    x = as_float_array(x, "input", ndim=4)
    norm = _norm(norm_type)
    if math.isinf(norm):
        _, indices = max_pool2d(np.abs(x), kernel_size, stride, padding, 1, ceil_mode,
                                return_indices=True)
        gx = max_pool2d_backward(grad_out, x, indices, kernel_size, stride, padding, 1,
                                 ceil_mode, out=out)
        gx *= np.sign(x)
        return gx
    p = make_pool2d_params(x.shape, kernel_size, stride, padding, 1, ceil_mode)
    grad_out = _grad_out(grad_out, x, p)
    gx = output(out, x.shape, x.dtype)
    backends.current().lp_pool2d_backward(gx, grad_out, x, norm, p)
    return gx
