"""Depthwise convolution forward and backward: the Numba twin of cpp/cpu/depthwise.cpp (same
functions, same results), NCHW, weight (C*M, 1, kh, kw), output channel c*M + j. The geometry
is a conv2d with groups = C (faltung._params.Conv2dParams). Every kernel overwrites its output.

Direct loops over output rows and kernel taps with the padding as bounds, instead of the C++'s
phase-split padded copies (Numba vectorises neither form; these stay readable):
  forward:      y[n, c*M+j, oy, ox] = b + sum_{i,k} w[c*M+j, i, k] * x[n, c, oy*sh+i*dh-pt, ox*sw+k*dw-pl]
                one plane (n, c) per worker item, taps summed in kernel order from the bias
  grad input:   the same sum scattered back: grad_x[n, c, ...] += w * grad_y, per plane (n, c)
  grad weight:  per channel c (each worker owns its weights, as in the C++: no partial sums)
The bias gradient is conv2d's (_numba/conv2d.py).
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import jit
from .params import kernel_params


@jit
def _col_range(start, step, size, out):
    """The outputs o in [lo, hi) whose input column start + o*step lies in [0, size)."""
    lo = 0 if start >= 0 else (-start + step - 1) // step
    hi = out if start + (out - 1) * step < size else (size - 1 - start) // step + 1
    return lo, max(lo, hi)


@jit(parallel=True)
def _forward(y, x, w, bias, p, relu):
    C, M = p.in_channels, p.out_channels // p.in_channels
    for plane in numba.prange(p.batch * C):
        n, c = plane // C, plane % C
        for j in range(M):
            oc = c * M + j
            init = bias[oc] if bias.size else y.dtype.type(0)
            for oy in range(p.out_h):
                row = y[n, oc, oy]
                row[:] = init
                for i in range(p.kernel_h):
                    iy = oy * p.stride_h + i * p.dilation_h - p.pad_top
                    if iy < 0 or iy >= p.in_h:
                        continue
                    src = x[n, c, iy]
                    for k in range(p.kernel_w):
                        start = k * p.dilation_w - p.pad_left
                        lo, hi = _col_range(start, p.stride_w, p.in_w, p.out_w)
                        wv = w[oc, 0, i, k]
                        for ox in range(lo, hi):
                            row[ox] += wv * src[start + ox * p.stride_w]
                if relu:
                    for ox in range(p.out_w):
                        if row[ox] < 0:
                            row[ox] = 0


@jit(parallel=True)
def _backward_input(gx, gy, w, p):
    C, M = p.in_channels, p.out_channels // p.in_channels
    for plane in numba.prange(p.batch * C):
        n, c = plane // C, plane % C
        gx[n, c] = 0
        for j in range(M):
            oc = c * M + j
            for oy in range(p.out_h):
                g = gy[n, oc, oy]
                for i in range(p.kernel_h):
                    iy = oy * p.stride_h + i * p.dilation_h - p.pad_top
                    if iy < 0 or iy >= p.in_h:
                        continue
                    dst = gx[n, c, iy]
                    for k in range(p.kernel_w):
                        start = k * p.dilation_w - p.pad_left
                        lo, hi = _col_range(start, p.stride_w, p.in_w, p.out_w)
                        wv = w[oc, 0, i, k]
                        for ox in range(lo, hi):
                            dst[start + ox * p.stride_w] += wv * g[ox]


@jit(parallel=True)
def _backward_weight(gw, gy, x, p):
    C, M = p.in_channels, p.out_channels // p.in_channels
    for c in numba.prange(C):
        for j in range(M):
            oc = c * M + j
            for i in range(p.kernel_h):
                for k in range(p.kernel_w):
                    start = k * p.dilation_w - p.pad_left
                    lo, hi = _col_range(start, p.stride_w, p.in_w, p.out_w)
                    acc = gw.dtype.type(0)
                    for n in range(p.batch):
                        for oy in range(p.out_h):
                            iy = oy * p.stride_h + i * p.dilation_h - p.pad_top
                            if iy < 0 or iy >= p.in_h:
                                continue
                            src, g = x[n, c, iy], gy[n, oc, oy]
                            for ox in range(lo, hi):
                                acc += g[ox] * src[start + ox * p.stride_w]
                    gw[oc, 0, i, k] = acc


def depthwise_forward(y, x, w, bias, p, relu=False):
    """y = depthwise(x, w) + bias, then max(., 0) with relu; bias may be None."""
    _forward(y, x, w, np.empty(0, x.dtype) if bias is None else bias, kernel_params(p), relu)


def depthwise_backward_input(grad_x, grad_y, w, p):
    _backward_input(grad_x, grad_y, w, kernel_params(p))


def depthwise_backward_weight(grad_w, grad_y, x, p):
    _backward_weight(grad_w, grad_y, x, kernel_params(p))
