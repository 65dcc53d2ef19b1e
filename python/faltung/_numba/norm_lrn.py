"""Local response normalization forward and backward (PyTorch's semantics): the Numba twin of
cpp/cpu/norm_lrn.cpp (and its tile arithmetic, lrn_tile in norm_kernels.inl), x as (N, C, S):
    d_c = k + alpha/size * sum_{j=c-size//2}^{c+(size-1)//2} x_j^2,   y_c = x_c d_c^-beta
Work items are (image, tile of TILE pixels); a worker takes a contiguous range of items and
keeps its d and d^-beta buffers (C x TILE) for all of them.
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import jit

TILE = 64


@jit(error_model="numpy")
def window_scales(d, q, x3, n, s0, width, size, alpha, beta, k):
    """d[c, i] = d_c and q[c, i] = d_c^-beta for pixels s0 .. s0 + width of image n."""
    channels = x3.shape[1]
    before, after = size // 2, (size - 1) // 2
    a = alpha / size
    acc = np.empty(width)
    for c in range(channels):
        acc[:] = 0.0
        for j in range(max(0, c - before), min(channels - 1, c + after) + 1):
            row = x3[n, j, s0:s0 + width]
            for i in range(width):
                acc[i] += np.float64(row[i]) * np.float64(row[i])
        dc, qc = d[c, :width], q[c, :width]
        for i in range(width):
            dc[i] = k + a * acc[i]
        if beta == 0.75:
            for i in range(width):
                r = 1.0 / np.sqrt(dc[i])
                qc[i] = r * np.sqrt(r)
        else:
            for i in range(width):
                qc[i] = dc[i] ** -beta


@jit(parallel=True, error_model="numpy")
def lrn(result, grad_y, backward, x, n_images, channels, s, size, alpha, beta, k, threads):
    """Forward (result = y) or, when `backward`, the input gradient given grad_y; `threads`:
    the worker count (numba.get_num_threads() inside a kernel would stop the disk cache)."""
    x3 = x.reshape((n_images, channels, s))
    r3 = result.reshape((n_images, channels, s))
    g3 = grad_y.reshape((n_images, channels, s)) if backward else x3
    tiles = (s + TILE - 1) // TILE
    items = n_images * tiles
    workers = min(threads, items)
    before, after = size // 2, (size - 1) // 2
    factor = 2.0 * alpha * beta / size
    for w in numba.prange(workers):
        d = np.empty((channels, TILE), x.dtype)
        q = np.empty((channels, TILE), x.dtype)
        acc = np.empty(TILE)
        for item in range(w * items // workers, (w + 1) * items // workers):
            n, s0 = item // tiles, (item % tiles) * TILE
            width = min(TILE, s - s0)
            window_scales(d, q, x3, n, s0, width, size, alpha, beta, k)
            if not backward:
                for c in range(channels):
                    row, out, qc = x3[n, c, s0:s0 + width], r3[n, c, s0:s0 + width], q[c, :width]
                    for i in range(width):
                        out[i] = row[i] * qc[i]
                continue
            for c in range(channels):  # d becomes t_c = g_c x_c d_c^-beta / d_c
                row, grad = x3[n, c, s0:s0 + width], g3[n, c, s0:s0 + width]
                qc, tc = q[c, :width], d[c, :width]
                for i in range(width):
                    tc[i] = grad[i] * row[i] * qc[i] / tc[i]
            for c in range(channels):
                acc[:width] = 0.0
                for j in range(max(0, c - after), min(channels - 1, c + before) + 1):
                    tj = d[j, :width]
                    for i in range(width):
                        acc[i] += np.float64(tj[i])
                row, grad, qc = x3[n, c, s0:s0 + width], g3[n, c, s0:s0 + width], q[c, :width]
                out = r3[n, c, s0:s0 + width]
                for i in range(width):
                    out[i] = np.float64(grad[i]) * qc[i] - factor * np.float64(row[i]) * acc[i]
