"""Batch normalization forward (training, evaluation) and backward: the Numba twin of
cpp/cpu/norm_batch.cpp (with its run loops in norm_kernels.inl), x as (N, C, S). A worker
takes whole channels; statistics are two-pass in float64. Optional arrays arrive as arrays
(ones, zeros or empty placeholders) plus flags, so that every kernel compiles once per dtype
(faltung/backends/numba_backend.py fills them in). All norm kernels use NumPy's error model:
a division by zero (eps = 0 on a constant channel) gives inf/NaN as in PyTorch, not an exception.
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import jit


@jit(error_model="numpy")
def moments(x3, c):
    """(mean, biased variance) of channel c of x3 (N, C, S), float64 sums."""
    n_images, _, size = x3.shape
    total = 0.0
    for n in range(n_images):
        for i in range(size):
            total += np.float64(x3[n, c, i])
    mean = total / (n_images * size)
    squares = 0.0
    for n in range(n_images):
        for i in range(size):
            d = np.float64(x3[n, c, i]) - mean
            squares += d * d
    return mean, squares / (n_images * size)


@jit(error_model="numpy")
def gradient_sums(g3, x3, c, mean):
    """(sum of g, sum of g * (x - mean)) over channel c."""
    sum_g = 0.0
    sum_gx = 0.0
    for n in range(x3.shape[0]):
        for i in range(x3.shape[2]):
            g = np.float64(g3[n, c, i])
            sum_g += g
            sum_gx += g * (np.float64(x3[n, c, i]) - mean)
    return sum_g, sum_gx


@jit(parallel=True, error_model="numpy")
def batch_norm_forward(y, save_mean, save_invstd, running_mean, running_var, training, update,
                       x, weight, bias, n, c, s, eps, momentum):
    """training: batch statistics into save_mean/save_invstd, running stats updated when
    `update`; else running_mean/running_var normalise. y = (x - mean) * invstd * w + b."""
    x3 = x.reshape((n, c, s))
    y3 = y.reshape((n, c, s))
    count = n * s
    for ch in numba.prange(c):
        if training:
            mean, var = moments(x3, ch)
            invstd = 1.0 / np.sqrt(var + eps)
            save_mean[ch] = mean
            save_invstd[ch] = invstd
            if update:
                running_mean[ch] = (1.0 - momentum) * running_mean[ch] + momentum * mean
                running_var[ch] = ((1.0 - momentum) * running_var[ch]
                                   + momentum * var * count / (count - 1))
        else:
            mean = np.float64(running_mean[ch])
            invstd = 1.0 / np.sqrt(np.float64(running_var[ch]) + eps)
        scale = invstd * weight[ch]
        shift = np.float64(bias[ch])
        for i in range(n):
            for j in range(s):
                y3[i, ch, j] = (x3[i, ch, j] - mean) * scale + shift


@jit(parallel=True, error_model="numpy")
def batch_norm_backward(grad_x, grad_weight, grad_bias, wants, training, grad_y, x, stat1,
                        stat2, saved, weight, n, c, s, eps):
    """wants = (grad_x, grad_weight, grad_bias) flags. training: stat1/stat2 = saved mean and
    invstd when `saved`, else recomputed; evaluation: stat1/stat2 = running mean and var.
    stat1/stat2 are float64 in both modes."""
    x3 = x.reshape((n, c, s))
    g3 = grad_y.reshape((n, c, s))
    gx3 = grad_x.reshape((n, c, s)) if wants[0] else grad_x.reshape((0, 0, 0))
    count = n * s
    for ch in numba.prange(c):
        if not training:
            mean = np.float64(stat1[ch])
            invstd = 1.0 / np.sqrt(np.float64(stat2[ch]) + eps)
        elif saved:
            mean = np.float64(stat1[ch])
            invstd = np.float64(stat2[ch])
        else:
            mean, var = moments(x3, ch)
            invstd = 1.0 / np.sqrt(var + eps)
        sum_g, sum_gx = 0.0, 0.0
        if training or wants[1] or wants[2]:
            sum_g, sum_gx = gradient_sums(g3, x3, ch, mean)
        if wants[1]:
            grad_weight[ch] = sum_gx * invstd
        if wants[2]:
            grad_bias[ch] = sum_g
        if wants[0]:
            a = weight[ch] * invstd
            if training:
                b = -a * invstd * invstd * sum_gx / count
                shift = -a * sum_g / count
                for i in range(n):
                    for j in range(s):
                        gx3[i, ch, j] = g3[i, ch, j] * a + (x3[i, ch, j] - mean) * b + shift
            else:
                for i in range(n):
                    for j in range(s):
                        gx3[i, ch, j] = g3[i, ch, j] * a
