"""Pooling over NCHW planes, forward and backward (the Numba twin of cpp/cpu/pool_*.cpp: the
same semantics and results; max pooling bit for bit, sums up to rounding order).

Each kernel runs one (n, c) plane per prange iteration on flat arrays, window by window, with the
window tables of faltung._pool_params.axis_windows: real taps lo, lo + dilation, ... < hi; span =
the window's length inside the padded input; first_tap = kernel index of tap lo.
  max:  padding never wins, a NaN always wins (the last one), ties go to the first tap in
        row-major window order; index = flat h * in_w + w within the plane.
  avg:  divisor = divisor_override, else span_h * span_w (count_include_pad, plain windows) or
        the real cells; backward spreads grad_y / divisor over the window.
  lp:   y = (f * S)^(1/p), S = sum of x^p over real cells, f = kernel cells / (span_h * span_w);
        backward grad_x += grad_y * (y / S) * x^(p-1), nothing where S == 0.
"""
from __future__ import annotations

import numba
import numpy as np

from faltung._pool_params import axis_windows

from ._jit import jit


@jit(parallel=True)
def _max_forward(y, indices, want_indices, x, rlo, rhi, clo, chi, in_h, in_w, dh, dw):
    planes = x.size // (in_h * in_w)
    out_h, out_w = rlo.size, clo.size
    for plane in numba.prange(planes):
        src = plane * in_h * in_w
        for oh in range(out_h):
            for ow in range(out_w):
                m = -np.inf
                arg = rlo[oh] * in_w + clo[ow]
                for ih in range(rlo[oh], rhi[oh], dh):
                    for iw in range(clo[ow], chi[ow], dw):
                        v = x[src + ih * in_w + iw]
                        if v > m or v != v:
                            m = v
                            arg = ih * in_w + iw
                o = (plane * out_h + oh) * out_w + ow
                y[o] = m
                if want_indices:
                    indices[o] = arg


@jit(parallel=True)
def _max_backward(grad_x, grad_y, indices, in_pixels, out_pixels):
    planes = grad_x.size // in_pixels
    bad = 0
    for plane in numba.prange(planes):
        gx = plane * in_pixels
        for i in range(in_pixels):
            grad_x[gx + i] = 0
        for o in range(plane * out_pixels, (plane + 1) * out_pixels):
            i = indices[o]
            if 0 <= i < in_pixels:
                grad_x[gx + i] += grad_y[o]
            else:
                bad += 1
    return bad


@jit
def _divisor(rlo, rhi, rspan, clo, chi, cspan, oh, ow, divisor, count_include_pad):
    if divisor:
        return divisor
    if count_include_pad:
        return rspan[oh] * cspan[ow]
    return (rhi[oh] - rlo[oh]) * (chi[ow] - clo[ow])


@jit(parallel=True)
def _avg_forward(y, x, rlo, rhi, rspan, clo, chi, cspan, in_h, in_w, divisor, count_include_pad):
    planes = x.size // (in_h * in_w)
    out_h, out_w = rlo.size, clo.size
    zero = np.zeros(1, dtype=y.dtype)[0]
    for plane in numba.prange(planes):
        src = plane * in_h * in_w
        for oh in range(out_h):
            for ow in range(out_w):
                s = zero
                for ih in range(rlo[oh], rhi[oh]):
                    for iw in range(clo[ow], chi[ow]):
                        s += x[src + ih * in_w + iw]
                d = _divisor(rlo, rhi, rspan, clo, chi, cspan, oh, ow, divisor, count_include_pad)
                y[(plane * out_h + oh) * out_w + ow] = s / d


@jit(parallel=True)
def _avg_backward(grad_x, grad_y, rlo, rhi, rspan, clo, chi, cspan, in_h, in_w, divisor,
                  count_include_pad):
    planes = grad_x.size // (in_h * in_w)
    out_h, out_w = rlo.size, clo.size
    for plane in numba.prange(planes):
        gx = plane * in_h * in_w
        for i in range(in_h * in_w):
            grad_x[gx + i] = 0
        for oh in range(out_h):
            for ow in range(out_w):
                d = _divisor(rlo, rhi, rspan, clo, chi, cspan, oh, ow, divisor, count_include_pad)
                g = grad_y[(plane * out_h + oh) * out_w + ow] / d
                for ih in range(rlo[oh], rhi[oh]):
                    for iw in range(clo[ow], chi[ow]):
                        grad_x[gx + ih * in_w + iw] += g


@jit
def _power(v, norm):
    if norm == 2.0:
        return v * v
    if norm == 1.0:
        return v
    return v ** norm


@jit
def _root(s, norm):
    if norm == 2.0:
        return np.sqrt(s)
    if norm == 1.0:
        return s
    return s ** (1.0 / norm)


@jit
def _power_sum(x, src, in_w, r0, r1, c0, c1, dh, dw, norm, zero):
    s = zero
    for ih in range(r0, r1, dh):
        for iw in range(c0, c1, dw):
            s += _power(x[src + ih * in_w + iw], norm)
    return s


@jit
def _scaled(s, span, kernel):
    return s if span == kernel else s / span * kernel


@jit(parallel=True)
def _lp_forward(y, x, norm, rlo, rhi, rspan, clo, chi, cspan, in_h, in_w, dh, dw, kernel):
    planes = x.size // (in_h * in_w)
    out_h, out_w = rlo.size, clo.size
    zero = np.zeros(1, dtype=y.dtype)[0]
    t_norm = (zero + norm)  # norm in the array's dtype, as the C++ casts it
    for plane in numba.prange(planes):
        src = plane * in_h * in_w
        for oh in range(out_h):
            for ow in range(out_w):
                s = _power_sum(x, src, in_w, rlo[oh], rhi[oh], clo[ow], chi[ow], dh, dw, t_norm,
                               zero)
                s = _scaled(s, rspan[oh] * cspan[ow], kernel)
                y[(plane * out_h + oh) * out_w + ow] = _root(s, t_norm)


@jit(parallel=True)
def _lp_backward(grad_x, grad_y, x, norm, rlo, rhi, rspan, clo, chi, cspan, in_h, in_w, dh, dw,
                 kernel):
    planes = x.size // (in_h * in_w)
    out_h, out_w = rlo.size, clo.size
    zero = np.zeros(1, dtype=x.dtype)[0]
    t_norm = zero + norm
    t_deriv = zero + (norm - 1.0)
    for plane in numba.prange(planes):
        src = plane * in_h * in_w
        for i in range(in_h * in_w):
            grad_x[src + i] = 0
        for oh in range(out_h):
            for ow in range(out_w):
                s = _power_sum(x, src, in_w, rlo[oh], rhi[oh], clo[ow], chi[ow], dh, dw, t_norm,
                               zero)
                if s == 0:
                    continue
                y = _root(_scaled(s, rspan[oh] * cspan[ow], kernel), t_norm)
                coef = grad_y[(plane * out_h + oh) * out_w + ow] * (y / s)
                for ih in range(rlo[oh], rhi[oh], dh):
                    for iw in range(clo[ow], chi[ow], dw):
                        v = x[src + ih * in_w + iw]
                        if norm == 2.0:
                            d = v
                        elif norm == 1.0:
                            d = zero + 1.0
                        else:
                            d = v ** t_deriv
                        grad_x[src + ih * in_w + iw] += coef * d


# ------------------------------------------------------------------ entry points (the backend's)

def _tables(p):
    r, c = axis_windows(p, 0), axis_windows(p, 1)
    return r.lo, r.hi, r.span, c.lo, c.hi, c.span


def max_pool2d_forward(y, indices, x, p):
    rlo, rhi, _, clo, chi, _ = _tables(p)
    want = indices is not None
    flat_i = indices.reshape(-1) if want else np.empty(0, np.int64)
    _max_forward(y.reshape(-1), flat_i, want, x.reshape(-1), rlo, rhi, clo, chi, p.in_h, p.in_w,
                 p.dilation_h, p.dilation_w)


def max_pool2d_backward(grad_x, grad_y, indices, p):
    bad = _max_backward(grad_x.reshape(-1), grad_y.reshape(-1), indices.reshape(-1),
                        p.in_h * p.in_w, p.out_h * p.out_w)
    if bad:
        raise ValueError(f"indices: {bad} entries lie outside [0, {p.in_h * p.in_w}), the flat "
                         f"positions of an input plane")


def avg_pool2d_forward(y, x, p):
    _avg_forward(y.reshape(-1), x.reshape(-1), *_tables(p), p.in_h, p.in_w, p.divisor,
                 bool(p.count_include_pad and not p.adaptive))


def avg_pool2d_backward(grad_x, grad_y, p):
    _avg_backward(grad_x.reshape(-1), grad_y.reshape(-1), *_tables(p), p.in_h, p.in_w, p.divisor,
                  bool(p.count_include_pad and not p.adaptive))


def lp_pool2d_forward(y, x, norm, p):
    _lp_forward(y.reshape(-1), x.reshape(-1), float(norm), *_tables(p), p.in_h, p.in_w,
                p.dilation_h, p.dilation_w, p.kernel_h * p.kernel_w)


def lp_pool2d_backward(grad_x, grad_y, x, norm, p):
    _lp_backward(grad_x.reshape(-1), grad_y.reshape(-1), x.reshape(-1), float(norm), *_tables(p),
                 p.in_h, p.in_w, p.dilation_h, p.dilation_w, p.kernel_h * p.kernel_w)
