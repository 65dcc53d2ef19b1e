"""The lecture's local contrast normalization forward and backward: the Numba twin of
cpp/cpu/norm_lcn.cpp (and lcn_tile in norm_kernels.inl), x as (N, C, S):
    r = 1 / sqrt(sum_c x_c^2 / (C - 1) + eps),   y_c = x_c r,
    grad_x_i = g_i r - x_i r^3 / (C - 1) * sum_c g_c x_c.
A worker takes whole (image, tile of TILE pixels) items; channel sums in float64.
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import jit

TILE = 256


@jit(parallel=True, error_model="numpy")
def lcn(result, grad_y, backward, x, n_images, channels, s, eps):
    """Forward (result = y) or, when `backward`, the input gradient given grad_y."""
    x3 = x.reshape((n_images, channels, s))
    r3 = result.reshape((n_images, channels, s))
    g3 = grad_y.reshape((n_images, channels, s)) if backward else x3
    tiles = (s + TILE - 1) // TILE
    dof = channels - 1.0
    for item in numba.prange(n_images * tiles):
        n, s0 = item // tiles, (item % tiles) * TILE
        width = min(TILE, s - s0)
        squares = np.zeros(width)
        dots = np.zeros(width)
        for c in range(channels):
            row = x3[n, c, s0:s0 + width]
            for i in range(width):
                squares[i] += np.float64(row[i]) * np.float64(row[i])
        scale = 1.0 / np.sqrt(squares / dof + eps)
        if not backward:
            for c in range(channels):
                row, out = x3[n, c, s0:s0 + width], r3[n, c, s0:s0 + width]
                for i in range(width):
                    out[i] = row[i] * scale[i]
            continue
        for c in range(channels):
            row, grad = x3[n, c, s0:s0 + width], g3[n, c, s0:s0 + width]
            for i in range(width):
                dots[i] += np.float64(grad[i]) * np.float64(row[i])
        coef = -scale * scale * scale * dots / dof
        for c in range(channels):
            row, grad = x3[n, c, s0:s0 + width], g3[n, c, s0:s0 + width]
            out = r3[n, c, s0:s0 + width]
            for i in range(width):
                out[i] = grad[i] * scale[i] + row[i] * coef[i]
