"""2-D convolution (cross-correlation, as in every deep-learning library) by im2col + GEMM, and its
three backward passes (the Numba twin of cpp/cpu/conv2d.cpp). Layout NCHW, weight OIHW
(out, in/groups, kh, kw); output channels g*O/groups .. (g+1)*O/groups - 1 see input channels
g*C/groups .. (g+1)*C/groups - 1. Every kernel overwrites its output.

Per image and per group: a pointwise conv (1x1, stride 1, no padding) multiplies the input
directly; otherwise the output pixels go in column tiles (col_rows x tile, about 1 MiB) through
im2col_tile and one GEMM each:
    forward          Y_g = W_g @ col (+ bias)
    backward input   dcol = W_g^T @ dY_g tile, col2im_tile_add (grad_x zeroed first)
    backward weight  dW_g = sum over images and tiles of dY_g tile @ col^T
    backward bias    db = sum of dY over images and pixels
With two or more images and threads, the images are split over threads (each with its own
column buffer; backward weight sums per-thread partial dW); a single image splits the GEMMs' rows.
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import jit
from .gemm import gemm_flat
from .im2col import col2im_tile_add, im2col_tile

TILE_BYTES = 1 << 20   # target size of the column buffer
MIN_TILE = 64          # fewest output pixels per tile


def _geometry(p, itemsize):
    """What the kernels use of params p, and the tile width, as one tuple of ints. A pointwise
    conv takes all pixels at once: its GEMM reads the input itself."""
    pixels = p.out_h * p.out_w
    tile = pixels if p.is_pointwise else min(
        pixels, max(MIN_TILE, TILE_BYTES // (p.col_rows * itemsize)))
    return (p.groups, p.in_channels_per_group, p.out_channels_per_group, p.col_rows, pixels,
            p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left,
            p.dilation_h, p.dilation_w, p.out_w, int(p.is_pointwise), tile)


@jit
def _forward_images(y, x, w, bias, n_begin, n_end, geometry, threads):
    groups, cg, og, rows, pixels, kh, kw, sh, sw, pt, pl, dh, dw, out_w, pointwise, tile = geometry
    _, channels, height, width = x.shape
    xf, wf, yf = x.reshape(-1), w.reshape(-1), y.reshape(-1)
    col = np.empty(0 if pointwise else rows * tile, x.dtype)
    no, zero = np.bool_(False), np.int64(0)
    for n in range(n_begin, n_end):
        for g in range(groups):
            x_off = (n * channels + g * cg) * height * width
            y_off = (n * groups + g) * og * pixels
            for p0 in range(0, pixels, tile):
                cols = min(tile, pixels - p0)
                if pointwise:
                    src, src_off, ld = xf, x_off + p0, pixels
                else:
                    im2col_tile(col[:rows * cols].reshape((rows, cols)), x[n, g * cg:(g + 1) * cg],
                                p0, p0 + cols, kh, kw, sh, sw, pt, pl, dh, dw, out_w)
                    src, src_off, ld = col, zero, cols
                gemm_flat(no, no, og, cols, rows, 1.0, wf, g * og * rows, rows, src, src_off, ld,
                          0.0, yf, y_off + p0, pixels, threads)
            for o in range(og if bias.size else 0):
                for q in range(y_off + o * pixels, y_off + (o + 1) * pixels):
                    yf[q] += bias[g * og + o]


@jit
def _backward_input_images(grad_x, grad_y, w, n_begin, n_end, geometry, threads):
    groups, cg, og, rows, pixels, kh, kw, sh, sw, pt, pl, dh, dw, out_w, pointwise, tile = geometry
    _, channels, height, width = grad_x.shape
    gxf, gyf, wf = grad_x.reshape(-1), grad_y.reshape(-1), w.reshape(-1)
    col = np.empty(0 if pointwise else rows * tile, grad_x.dtype)
    no, yes, zero = np.bool_(False), np.bool_(True), np.int64(0)
    image = channels * height * width
    for n in range(n_begin, n_end):
        if not pointwise:  # col2im_tile_add adds
            for q in range(n * image, (n + 1) * image):
                gxf[q] = 0
        for g in range(groups):
            x_off = (n * channels + g * cg) * height * width
            y_off = (n * groups + g) * og * pixels
            for p0 in range(0, pixels, tile):
                cols = min(tile, pixels - p0)
                if pointwise:
                    dst, dst_off, ld = gxf, x_off + p0, pixels
                else:
                    dst, dst_off, ld = col, zero, cols
                gemm_flat(yes, no, rows, cols, og, 1.0, wf, g * og * rows, rows, gyf, y_off + p0,
                          pixels, 0.0, dst, dst_off, ld, threads)
                if not pointwise:
                    col2im_tile_add(grad_x[n, g * cg:(g + 1) * cg],
                                    col[:rows * cols].reshape((rows, cols)), p0, p0 + cols, kh, kw,
                                    sh, sw, pt, pl, dh, dw, out_w)


@jit
def _backward_weight_images(grad_w, grad_y, x, n_begin, n_end, geometry, threads):
    """grad_w (flat) = the sum over images [n_begin, n_end)."""
    groups, cg, og, rows, pixels, kh, kw, sh, sw, pt, pl, dh, dw, out_w, pointwise, tile = geometry
    _, channels, height, width = x.shape
    xf, gyf = x.reshape(-1), grad_y.reshape(-1)
    col = np.empty(0 if pointwise else rows * tile, x.dtype)
    no, yes, zero = np.bool_(False), np.bool_(True), np.int64(0)
    for n in range(n_begin, n_end):
        for g in range(groups):
            x_off = (n * channels + g * cg) * height * width
            y_off = (n * groups + g) * og * pixels
            for p0 in range(0, pixels, tile):
                cols = min(tile, pixels - p0)
                if pointwise:
                    src, src_off, ld = xf, x_off + p0, pixels
                else:
                    im2col_tile(col[:rows * cols].reshape((rows, cols)), x[n, g * cg:(g + 1) * cg],
                                p0, p0 + cols, kh, kw, sh, sw, pt, pl, dh, dw, out_w)
                    src, src_off, ld = col, zero, cols
                beta = 0.0 if n == n_begin and p0 == 0 else 1.0
                gemm_flat(no, yes, og, rows, cols, 1.0, gyf, y_off + p0, pixels, src, src_off, ld,
                          beta, grad_w, g * og * rows, rows, threads)


@jit(parallel=True)
def _forward(y, x, w, bias, geometry, threads):
    batch = x.shape[0]
    chunks = min(batch, threads)
    if chunks == 1:
        _forward_images(y, x, w, bias, np.int64(0), batch, geometry, threads)
        return
    for t in numba.prange(chunks):
        _forward_images(y, x, w, bias, t * batch // chunks, (t + 1) * batch // chunks, geometry,
                        np.int64(1))


@jit(parallel=True)
def _backward_input(grad_x, grad_y, w, geometry, threads):
    batch = grad_x.shape[0]
    chunks = min(batch, threads)
    if chunks == 1:
        _backward_input_images(grad_x, grad_y, w, np.int64(0), batch, geometry, threads)
        return
    for t in numba.prange(chunks):
        _backward_input_images(grad_x, grad_y, w, t * batch // chunks, (t + 1) * batch // chunks,
                               geometry, np.int64(1))


@jit(parallel=True)
def _backward_weight(grad_w, grad_y, x, geometry, threads):
    batch = x.shape[0]
    chunks = min(batch, threads)
    gw = grad_w.reshape(-1)
    if chunks == 1:
        _backward_weight_images(gw, grad_y, x, np.int64(0), batch, geometry, threads)
        return
    partial = np.empty((chunks, gw.size), gw.dtype)
    for t in numba.prange(chunks):
        _backward_weight_images(partial[t], grad_y, x, t * batch // chunks,
                                (t + 1) * batch // chunks, geometry, np.int64(1))
    for q in range(gw.size):
        gw[q] = partial[0, q]
        for t in range(1, chunks):
            gw[q] += partial[t, q]


@jit
def _sum(v):
    """Sum of a 1-D array in float64, four accumulators (no reassociation needed)."""
    s0 = s1 = s2 = s3 = 0.0
    n4 = v.size - v.size % 4
    for i in range(0, n4, 4):
        s0 += v[i]
        s1 += v[i + 1]
        s2 += v[i + 2]
        s3 += v[i + 3]
    for i in range(n4, v.size):
        s0 += v[i]
    return (s0 + s1) + (s2 + s3)


@jit(parallel=True)
def _backward_bias(grad_b, grad_y):
    batch, channels, out_h, out_w = grad_y.shape
    gy = grad_y.reshape((batch, channels, out_h * out_w))
    for o in numba.prange(channels):
        total = 0.0
        for n in range(batch):
            total += _sum(gy[n, o])
        grad_b[o] = total


def conv2d_forward(y, x, w, bias, p):
    """y = conv2d(x, w) + bias; bias may be None."""
    _forward(y, x, w, np.empty(0, x.dtype) if bias is None else bias, _geometry(p, x.itemsize),
             numba.get_num_threads())


def conv2d_backward_input(grad_x, grad_y, w, p):
    _backward_input(grad_x, grad_y, w, _geometry(p, w.itemsize), numba.get_num_threads())


def conv2d_backward_weight(grad_w, grad_y, x, p):
    _backward_weight(grad_w, grad_y, x, _geometry(p, x.itemsize), numba.get_num_threads())


def conv2d_backward_bias(grad_b, grad_y, p):
    _backward_bias(grad_b, grad_y)
