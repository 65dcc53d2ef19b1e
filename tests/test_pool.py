"""Pooling (max, average, adaptive/global average, global max, Lp), forward and backward, on
every backend in float32 and float64, against the float64 loops of tests/reference.py: a named
edge-case grid (odd and prime sizes, padding, asymmetric and "same" padding, ceil_mode, dilation,
overlapping windows, rows longer than one kernel chunk), ties and NaN like PyTorch, adjoint tests
for the linear ones, central differences for max (away from ties) and Lp pooling."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, random_array


class Case(NamedTuple):
    shape: tuple
    kernel: object
    stride: object = None
    padding: object = 0
    dilation: object = 1
    ceil_mode: bool = False

    def pads(self):
        kh, kw = ref._pair(self.kernel)
        stride = self.stride if self.stride is not None else self.kernel
        return ref.api_pads(self.padding, self.shape[2], self.shape[3], kh, kw, stride,
                            self.dilation)

    def args(self):
        return self.kernel, self.stride, self.padding


MAX_GRID = {
    "k2s2": Case((2, 3, 8, 8), 2),
    "k3s2_pad1_odd": Case((2, 3, 9, 11), 3, 2, 1),
    "alexnet_overlap_3x3s2": Case((1, 2, 13, 13), 3, 2),
    "k3s1_pad1": Case((1, 2, 7, 5), 3, 1, 1),
    "k1": Case((1, 2, 5, 4), 1),
    "k3s3_runtime_stride": Case((1, 2, 10, 11), 3, 3),
    "k5s3_pad2_ceil": Case((1, 1, 17, 16), 5, 3, 2, 1, True),
    "ceil_drops_window_in_padding": Case((1, 2, 6, 6), 3, 2, 1, 1, True),
    "ceil_odd": Case((1, 1, 7, 9), 2, 2, 0, 1, True),
    "dilation2_pad2": Case((1, 2, 11, 10), 3, 1, 2, 2),
    "dilation3_stride2": Case((1, 1, 13, 12), 2, 2, 1, 3),
    "dilation2_pad1_stride2_ceil": Case((1, 2, 12, 11), 3, 2, 1, 2, True),
    "rect_kernel_stride": Case((1, 2, 9, 12), (2, 3), (1, 2), (1, 0)),
    "kernel_3x1_prime": Case((1, 2, 13, 3), (3, 1), 1, (1, 0)),
    "asym_four_sides": Case((1, 1, 8, 9), 3, 2, (0, 1, 1, 0)),
    "same_stride2": Case((1, 2, 7, 8), 3, 2, "same"),
    "same_k2_odd": Case((1, 1, 5, 7), 2, 2, "same"),
    "valid": Case((1, 1, 7, 7), 3, 2, "valid"),
    "row_longer_than_chunk": Case((1, 1, 3, 601), 2, 2),
    "row_longer_than_chunk_k3": Case((1, 1, 4, 530), 3, 1, 1),
    "whole_plane": Case((2, 2, 5, 7), (5, 7)),
    "k2s2_odd_height": Case((1, 2, 7, 8), 2),
    "k2s2_row_blocks": Case((1, 1, 9, 600), 2),
    "k2s2_row_wider_than_buffer": Case((1, 1, 2, 4100), 2),
}

AVG_GRID = {
    "k2s2": Case((2, 3, 8, 8), 2),
    "k3s2_pad1_odd": Case((2, 3, 9, 11), 3, 2, 1),
    "overlap_3x3s2": Case((1, 2, 13, 13), 3, 2),
    "k3s1_pad1": Case((1, 2, 7, 5), 3, 1, 1),
    "k3s3_runtime_stride": Case((1, 2, 10, 11), 3, 3),
    "k5s3_pad2_ceil": Case((1, 1, 17, 16), 5, 3, 2, 1, True),
    "ceil_partial_window": Case((1, 2, 6, 7), 3, 2, 1, 1, True),
    "ceil_odd": Case((1, 1, 7, 9), 2, 2, 0, 1, True),
    "rect_kernel_stride": Case((1, 2, 9, 12), (2, 3), (1, 2), (1, 0)),
    "asym_four_sides": Case((1, 1, 8, 9), 3, 2, (0, 1, 1, 0)),
    "row_longer_than_chunk": Case((1, 1, 3, 601), 2, 2),
    "whole_plane": Case((2, 2, 5, 7), (5, 7)),
    "k2s2_odd_height": Case((1, 2, 7, 8), 2),
    "k2s2_row_blocks": Case((1, 1, 9, 600), 2),
    "k2s2_row_wider_than_buffer": Case((1, 1, 2, 4100), 2),
    "k3s1_pad1_wide_chunks": Case((1, 1, 4, 700), 3, 1, 1),
}
# (count_include_pad, divisor_override)
AVG_MODES = {"include_pad": (True, None), "real_cells": (False, None), "divisor5": (True, 5)}

KERAS_GRID = {
    "same_k3s2": Case((1, 2, 7, 8), 3, 2, "same"),
    "same_k2s2_odd": Case((1, 1, 5, 7), 2, 2, "same"),
    "same_k3s1": Case((1, 1, 6, 5), 3, 1, "same"),
    "valid_k3s2": Case((1, 1, 7, 7), 3, 2, "valid"),
}

ADAPTIVE_GRID = {
    "7to3": ((1, 2, 7, 7), 3),
    "10x9to4x5": ((2, 1, 10, 9), (4, 5)),
    "upsample_5x6to7x8": ((1, 1, 5, 6), (7, 8)),
    "global": ((1, 3, 7, 7), 1),
    "keep_width": ((1, 2, 6, 5), (2, None)),
    "vgg_head_13to6": ((1, 2, 13, 13), 6),
}


def _distinct(rng, shape, dtype):
    """Values without ties (a permutation of a spread-out grid), for gradients of max pooling."""
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) * 0.25 - size / 8).astype(dtype)


# ---------------------------------------------------------------------------------- max pooling

@pytest.mark.parametrize("name", list(MAX_GRID))
def test_max_pool_grid(backend, dtype, rng, name):
    case = MAX_GRID[name]
    x = random_array(rng, case.shape, dtype)
    y, idx = faltung.max_pool2d(x, *case.args(), case.dilation, case.ceil_mode, True)
    ry, ridx = ref.max_pool2d(x, case.kernel, case.stride, case.pads(), case.dilation, case.ceil_mode)
    assert_close(y, ry, dtype=dtype, kind="exact", what="values")
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, ridx)
    # values alone take the path without indices
    y2 = faltung.max_pool2d(x, *case.args(), case.dilation, case.ceil_mode)
    assert_close(y2, ry, dtype=dtype, kind="exact", what="values without indices")


@pytest.mark.parametrize("name", ["k2s2", "k3s2_pad1_odd", "alexnet_overlap_3x3s2", "dilation2_pad2",
                                  "row_longer_than_chunk_k3", "k3s3_runtime_stride", "whole_plane"])
def test_max_pool_ties_resolved_like_pytorch(backend, dtype, rng, name):
    """Values from {-1, 0, 1}: nearly every window has ties; the first tap in row-major window
    order must win (PyTorch's strict '>' scan)."""
    case = MAX_GRID[name]
    x = rng.integers(-1, 2, case.shape).astype(dtype)
    y, idx = faltung.max_pool2d(x, *case.args(), case.dilation, case.ceil_mode, True)
    ry, ridx = ref.max_pool2d(x, case.kernel, case.stride, case.pads(), case.dilation, case.ceil_mode)
    assert_close(y, ry, dtype=dtype, kind="exact")
    np.testing.assert_array_equal(idx, ridx)


@pytest.mark.parametrize("name", ["k3s2_pad1_odd", "alexnet_overlap_3x3s2", "k2s2",
                                  "k2s2_odd_height", "row_longer_than_chunk_k3",
                                  "dilation3_stride2", "k3s3_runtime_stride"])
def test_max_pool_nan_and_inf(backend, dtype, rng, name):
    """NaN wins (the last NaN of a window names the index); a window of -inf reports -inf and
    its first real cell; +inf wins like any value."""
    case = MAX_GRID[name]
    x = random_array(rng, case.shape, dtype)
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=max(3, flat.size // 7), replace=False)
    third = len(picks) // 3
    flat[picks[:third]] = np.nan
    flat[picks[third:2 * third]] = -np.inf
    flat[picks[2 * third:]] = np.inf
    x[..., :min(3, case.shape[2] - 1), :] = -np.inf   # whole windows of -inf along the top
    y, idx = faltung.max_pool2d(x, *case.args(), case.dilation, case.ceil_mode, True)
    ry, ridx = ref.max_pool2d(x, case.kernel, case.stride, case.pads(), case.dilation, case.ceil_mode)
    assert np.isnan(ry).any() and np.isneginf(ry).any()
    assert_close(y, ry, dtype=dtype, kind="exact")
    np.testing.assert_array_equal(idx, ridx)
    values = faltung.max_pool2d(x, *case.args(), case.dilation, case.ceil_mode)  # no indices
    assert_close(values, ry, dtype=dtype, kind="exact", what="values without indices")


@pytest.mark.parametrize("name", list(MAX_GRID))
def test_max_pool_backward_grid(backend, dtype, rng, name):
    """Gradients routed to the indices; overlapping windows add up (AlexNet's 3x3/2)."""
    case = MAX_GRID[name]
    x = random_array(rng, case.shape, dtype)
    _, idx = faltung.max_pool2d(x, *case.args(), case.dilation, case.ceil_mode, True)
    gy = random_array(rng, idx.shape, dtype)
    gx = faltung.max_pool2d_backward(gy, x, idx, *case.args(), case.dilation, case.ceil_mode)
    expected = ref.max_pool2d_backward(gy, x.shape, idx)
    assert_close(gx, expected, dtype=dtype, scale=ref.max_pool2d_backward(np.abs(gy), x.shape, idx))


def test_max_pool_backward_overlap_accumulates(backend, dtype):
    """AlexNet's 3x3/2 windows share their border cells: a maximum sitting on a shared cell
    collects the gradients of every window that chose it."""
    x = np.zeros((1, 1, 5, 5), dtype)
    x[0, 0, 2, 2] = 9   # the centre lies in all four windows
    y, idx = faltung.max_pool2d(x, 3, 2, return_indices=True)
    np.testing.assert_array_equal(idx, np.full((1, 1, 2, 2), 12))
    gy = np.array([[[[1, 2], [3, 4]]]], dtype)
    gx = faltung.max_pool2d_backward(gy, x, idx, 3, 2)
    expected = np.zeros((1, 1, 5, 5))
    expected[0, 0, 2, 2] = 10
    assert_close(gx, expected, dtype=dtype, kind="exact")


@pytest.mark.parametrize("shape,kernel", [((2, 2, 6, 8), 2), ((1, 2, 9, 9), 3)])
def test_max_pool_backward_any_indices(backend, dtype, rng, shape, kernel):
    """Indices that name cells outside their own window (not what max_pool2d returns, but valid
    positions in the plane) still mean "add the gradient there", also where the windows tile
    the plane and the kernel writes bands densely."""
    x = random_array(rng, shape, dtype)
    out = (shape[2] // kernel, shape[3] // kernel)
    idx = rng.integers(0, shape[2] * shape[3], (*shape[:2], *out))
    gy = random_array(rng, idx.shape, dtype)
    gx = faltung.max_pool2d_backward(gy, x, idx, kernel)
    assert_close(gx, ref.max_pool2d_backward(gy, x.shape, idx), dtype=dtype,
                 scale=ref.max_pool2d_backward(np.abs(gy), x.shape, idx))


FD_MAX = {   # small shapes: one loss evaluation per input entry and direction
    "k3s2_pad1_odd": Case((1, 2, 5, 7), 3, 2, 1),
    "alexnet_overlap_3x3s2": Case((1, 1, 7, 7), 3, 2),
    "dilation2_pad2": Case((1, 1, 7, 6), 3, 1, 2, 2),
    "ceil_drops_window_in_padding": Case((1, 1, 6, 6), 3, 2, 1, 1, True),
    "rect_kernel_stride": Case((1, 1, 5, 8), (2, 3), (1, 2), (1, 0)),
}


@pytest.mark.parametrize("name", list(FD_MAX))
def test_max_pool_finite_differences(backend, rng, name):
    """L = sum(gy * max_pool2d(x)) in float64 with distinct values (no ties within 2h)."""
    case = FD_MAX[name]
    x = _distinct(rng, case.shape, np.float64)
    args = (*case.args(), case.dilation, case.ceil_mode)
    _, idx = faltung.max_pool2d(x, *args, True)
    gy = random_array(rng, idx.shape, np.float64)
    analytic = faltung.max_pool2d_backward(gy, x, idx, *args)
    assert_close(analytic, _numeric_grad(lambda v: faltung.max_pool2d(v, *args), x, gy),
                 dtype=np.float64, kind="fd")


def _numeric_grad(f, x, gy, h=1e-4):
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += h
        minus[i] -= h
        numeric[i] = ((gy * f(plus)).sum() - (gy * f(minus)).sum()) / (2 * h)
    return numeric


def test_global_max_pool(backend, dtype, rng):
    x = random_array(rng, (2, 3, 5, 7), dtype)
    y, idx = faltung.global_max_pool2d(x, return_indices=True)
    ry, ridx = ref.max_pool2d(x, (5, 7))
    assert y.shape == (2, 3, 1, 1)
    assert_close(y, ry, dtype=dtype, kind="exact")
    np.testing.assert_array_equal(idx, ridx)
    assert_close(faltung.global_max_pool2d(x), ry, dtype=dtype, kind="exact")
    gy = random_array(rng, y.shape, dtype)
    gx = faltung.global_max_pool2d_backward(gy, x, idx)
    assert_close(gx, ref.max_pool2d_backward(gy, x.shape, idx), dtype=dtype, kind="exact")


# ------------------------------------------------------------------------------ average pooling

def _avg_ref(case, mode, x):
    include, divisor = AVG_MODES[mode]
    return ref.avg_pool2d(x, case.kernel, case.stride, case.pads(), case.ceil_mode, include, divisor)


@pytest.mark.parametrize("mode", list(AVG_MODES))
@pytest.mark.parametrize("name", list(AVG_GRID))
def test_avg_pool_grid(backend, dtype, rng, name, mode):
    case = AVG_GRID[name]
    include, divisor = AVG_MODES[mode]
    x = random_array(rng, case.shape, dtype)
    y = faltung.avg_pool2d(x, *case.args(), case.ceil_mode, include, divisor)
    assert_close(y, _avg_ref(case, mode, x), dtype=dtype, scale=_avg_ref(case, mode, np.abs(x)))
    gy = random_array(rng, y.shape, dtype)
    gx = faltung.avg_pool2d_backward(gy, x, *case.args(), case.ceil_mode, include, divisor)
    args = (case.kernel, case.stride, case.pads(), case.ceil_mode, include, divisor)
    assert_close(gx, ref.avg_pool2d_backward(gy, x.shape, *args), dtype=dtype,
                 scale=ref.avg_pool2d_backward(np.abs(gy), x.shape, *args))


@pytest.mark.parametrize("mode", list(AVG_MODES))
@pytest.mark.parametrize("name", ["k3s2_pad1_odd", "ceil_partial_window", "asym_four_sides",
                                  "rect_kernel_stride"])
def test_avg_pool_adjoint(backend, rng, name, mode):
    """<avg_pool2d(x), g> = <x, avg_pool2d_backward(g)> in float64."""
    case = AVG_GRID[name]
    include, divisor = AVG_MODES[mode]
    x = random_array(rng, case.shape, np.float64)
    lhs = faltung.avg_pool2d(x, *case.args(), case.ceil_mode, include, divisor)
    g = random_array(rng, lhs.shape, np.float64)
    rhs = x * faltung.avg_pool2d_backward(g, x, *case.args(), case.ceil_mode, include, divisor)
    lhs = lhs * g
    assert_close(rhs.sum(), lhs.sum(), dtype=np.float64, kind="scalar",
                 scale=np.abs(lhs).sum() + np.abs(rhs).sum())


def test_avg_pool_wide_kernel_stride1(backend, dtype, rng):
    """A 1x1200 window (wider than half the kernels' row buffer) at stride 1: moving averages."""
    x = random_array(rng, (1, 2, 2, 1500), dtype)
    y = faltung.avg_pool2d(x, (1, 1200), 1)
    windows = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), 1200, axis=3)
    assert_close(y, windows.mean(axis=-1), dtype=dtype, k=1200,
                 scale=np.abs(windows).mean(axis=-1))
    g = random_array(rng, y.shape, dtype)
    gx = faltung.avg_pool2d_backward(g, x, (1, 1200), 1)
    expected = np.apply_along_axis(lambda r: np.convolve(r, np.ones(1200)), 3, g.astype(np.float64))
    assert_close(gx, expected / 1200, dtype=dtype, k=1200)


@pytest.mark.parametrize("name", list(KERAS_GRID))
def test_avg_pool_keras_padding(backend, dtype, rng, name):
    """Keras padding="same": out = ceil(in / stride), the average over the real cells only."""
    case = KERAS_GRID[name]
    x = random_array(rng, case.shape, dtype)
    y = faltung.avg_pool2d(x, *case.args())
    h, w = case.shape[2:]
    kh, kw = ref._pair(case.kernel)
    sh, sw = ref._pair(case.stride)
    if case.padding == "same":
        assert y.shape[2:] == (-(-h // sh), -(-w // sw))
    expected = ref.avg_pool2d(x, case.kernel, case.stride, case.pads(), count_include_pad=False)
    assert_close(y, expected, dtype=dtype)
    gy = random_array(rng, y.shape, dtype)
    gx = faltung.avg_pool2d_backward(gy, x, *case.args())
    assert_close(gx, ref.avg_pool2d_backward(gy, x.shape, case.kernel, case.stride, case.pads(),
                                             count_include_pad=False), dtype=dtype)


def test_avg_pool_same_corner_is_mean_of_real_cells(backend, dtype):
    """3x3 'same' at the top-left corner of a 4x4 image averages the 2x2 real cells."""
    x = np.arange(16, dtype=dtype).reshape(1, 1, 4, 4)
    y = faltung.avg_pool2d(x, 3, 1, "same")
    assert_close(y[:, :, :1, :1], np.full((1, 1, 1, 1), (0 + 1 + 4 + 5) / 4), dtype=dtype,
                 kind="exact")


@pytest.mark.parametrize("name", list(ADAPTIVE_GRID))
def test_adaptive_avg_pool(backend, dtype, rng, name):
    shape, size = ADAPTIVE_GRID[name]
    x = random_array(rng, shape, dtype)
    y = faltung.adaptive_avg_pool2d(x, size)
    full = tuple(d if s is None else s for s, d in zip(size, shape[2:])) if isinstance(size, tuple) else size
    assert_close(y, ref.adaptive_avg_pool2d(x, full), dtype=dtype,
                 scale=ref.adaptive_avg_pool2d(np.abs(x), full))
    g = random_array(rng, y.shape, np.float64).astype(dtype)
    gx = faltung.adaptive_avg_pool2d_backward(g, x, size)
    if dtype == np.float64:   # adjoint identity
        lhs, rhs = y * g, x * gx
        assert_close(rhs.sum(), lhs.sum(), dtype=dtype, kind="scalar",
                     scale=np.abs(lhs).sum() + np.abs(rhs).sum())
    # and the explicit spread: each g over its window / window size
    expected = np.zeros(shape)
    oh, ow = y.shape[2:]
    h, w = shape[2:]
    for i in range(oh):
        r0, r1 = i * h // oh, -(-(i + 1) * h // oh)
        for j in range(ow):
            c0, c1 = j * w // ow, -(-(j + 1) * w // ow)
            expected[:, :, r0:r1, c0:c1] += g[:, :, i:i + 1, j:j + 1] / ((r1 - r0) * (c1 - c0))
    assert_close(gx, expected, dtype=dtype)


def test_global_avg_pool(backend, dtype, rng):
    x = random_array(rng, (2, 5, 7, 7), dtype)
    y = faltung.global_avg_pool2d(x)
    assert y.shape == (2, 5, 1, 1)
    assert_close(y, x.astype(np.float64).mean(axis=(2, 3), keepdims=True), dtype=dtype,
                 scale=np.abs(x.astype(np.float64)).mean(axis=(2, 3), keepdims=True))
    g = random_array(rng, y.shape, dtype)
    gx = faltung.global_avg_pool2d_backward(g, x)
    assert_close(gx, np.broadcast_to(g.astype(np.float64) / 49, x.shape), dtype=dtype)


# ---------------------------------------------------------------------------------- Lp pooling

LP_GRID = {
    "l2_k2s2": (Case((1, 2, 6, 6), 2), 2),
    "l2_k3s2_pad1": (Case((1, 1, 9, 7), 3, 2, 1), 2),
    "l2_ceil_partial": (Case((1, 1, 7, 8), 3, 2, 0, 1, True), 2),
    "l1_overlap": (Case((1, 1, 9, 9), 3, 2), 1),
    "l3_rect": (Case((1, 1, 7, 8), (2, 3), (1, 2), (1, 0)), 3),
    "l1.5_positive": (Case((1, 1, 8, 7), 3, 2, 1, 1, True), 1.5),
    "l2_same": (Case((1, 1, 7, 8), 3, 2, "same"), 2),
}


def _lp_input(rng, case, norm, dtype):
    x = rng.uniform(0.5, 1.5, case.shape) * rng.choice([-1.0, 1.0], case.shape)
    return (x if norm % 2 == 0 else np.abs(x)).astype(dtype)   # sum x^p > 0: a finite root


@pytest.mark.parametrize("name", list(LP_GRID))
def test_lp_pool_grid(backend, dtype, rng, name):
    case, norm = LP_GRID[name]
    x = _lp_input(rng, case, norm, dtype)
    y = faltung.lp_pool2d(x, norm, *case.args(), case.ceil_mode)
    expected = ref.lp_pool2d(x, norm, case.kernel, case.stride, case.pads(), case.ceil_mode)
    assert_close(y, expected, dtype=dtype)


@pytest.mark.parametrize("name", list(LP_GRID))
def test_lp_pool_finite_differences(backend, rng, name):
    case, norm = LP_GRID[name]
    x = _lp_input(rng, case, norm, np.float64)
    args = (norm, *case.args(), case.ceil_mode)
    gy = random_array(rng, faltung.lp_pool2d(x, *args).shape, np.float64)
    analytic = faltung.lp_pool2d_backward(gy, x, *args)
    assert_close(analytic, _numeric_grad(lambda v: faltung.lp_pool2d(v, *args), x, gy),
                 dtype=np.float64, kind="fd")


def test_lp_pool_lecture_l2(backend, dtype):
    """The lecture's L2 pooling sqrt(sum a^2): a 2x2 window of 3, 4, 0, 0 gives 5."""
    x = np.array([[[[3, 4, 1, 2], [0, 0, 2, 4]]]], dtype)
    y = faltung.lp_pool2d(x, 2, 2)
    assert_close(y, np.array([[[[5, 5]]]], np.float64), dtype=dtype, kind="exact")


def test_lp_pool_backward_zero_window(backend, dtype):
    """A window of zeros has no derivative (sqrt at 0): its gradient is defined as 0."""
    x = np.zeros((1, 1, 4, 4), dtype)
    x[0, 0, 2:, 2:] = [[3, 4], [0, 0]]
    gy = np.ones((1, 1, 2, 2), dtype)
    gx = faltung.lp_pool2d_backward(gy, x, 2, 2)
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, 2, 2:] = [3 / 5, 4 / 5]
    assert_close(gx, expected, dtype=dtype)
    assert np.isfinite(gx).all()


def test_lp_pool_inf_norm_is_max_of_abs(backend, dtype, rng):
    x = random_array(rng, (1, 2, 7, 7), dtype)
    y = faltung.lp_pool2d(x, float("inf"), 3, 2)
    assert_close(y, ref.max_pool2d(np.abs(x), 3, 2)[0], dtype=dtype, kind="exact")
    gy = random_array(rng, y.shape, dtype)
    gx = faltung.lp_pool2d_backward(gy, x, float("inf"), 3, 2)
    _, idx = ref.max_pool2d(np.abs(x), 3, 2)
    assert_close(gx, ref.max_pool2d_backward(gy, x.shape, idx) * np.sign(x), dtype=dtype)


# --------------------------------------------------------------------------------- API behaviour

def test_out_arrays_are_used(backend, dtype, rng):
    x = random_array(rng, (1, 2, 6, 6), dtype)
    y = np.empty((1, 2, 3, 3), dtype)
    idx = np.empty((1, 2, 3, 3), np.int64)
    values, indices = faltung.max_pool2d(x, 2, return_indices=True, out=(y, idx))
    assert values is y and indices is idx
    assert faltung.max_pool2d(x, 2, out=y) is y
    gx = np.empty_like(x)
    assert faltung.max_pool2d_backward(y, x, idx, 2, out=gx) is gx
    for fn, args in ((faltung.avg_pool2d, (2,)), (faltung.lp_pool2d, (2, 2)),
                     (faltung.adaptive_avg_pool2d, (3,))):
        assert fn(x, *args, out=y) is y
    g1 = np.empty((1, 2, 1, 1), dtype)
    assert faltung.global_avg_pool2d(x, out=g1) is g1
    assert faltung.avg_pool2d_backward(y, x, 2, out=gx) is gx
    assert faltung.lp_pool2d_backward(y, x, 2, 2, out=gx) is gx
    assert faltung.adaptive_avg_pool2d_backward(y, x, 3, out=gx) is gx
    assert faltung.global_avg_pool2d_backward(g1, x, out=gx) is gx


def test_noncontiguous_inputs(backend, dtype, rng):
    base = random_array(rng, (2, 6, 9, 8), dtype)
    x = base[:, ::2, :, ::-1]
    assert not x.flags.c_contiguous
    xc = np.ascontiguousarray(x)
    y, idx = faltung.max_pool2d(x, 3, 2, 1, return_indices=True)
    yc, idxc = faltung.max_pool2d(xc, 3, 2, 1, return_indices=True)
    assert_close(y, yc, dtype=dtype, kind="exact")
    np.testing.assert_array_equal(idx, idxc)
    gy = random_array(rng, y.shape, dtype)[:, :, ::-1]
    assert_close(faltung.max_pool2d_backward(gy, x, idx, 3, 2, 1),
                 faltung.max_pool2d_backward(np.ascontiguousarray(gy), xc, idxc, 3, 2, 1),
                 dtype=dtype, kind="exact")
    assert_close(faltung.avg_pool2d(x, 3, 2, 1), faltung.avg_pool2d(xc, 3, 2, 1), dtype=dtype,
                 kind="exact")
    assert_close(faltung.lp_pool2d(x, 2, 3, 2), faltung.lp_pool2d(xc, 2, 3, 2), dtype=dtype,
                 kind="exact")


def test_inputs_not_modified(backend, dtype, rng):
    x = random_array(rng, (1, 2, 6, 6), dtype)
    keep = x.copy()
    y, idx = faltung.max_pool2d(x, 2, return_indices=True)
    gy = random_array(rng, y.shape, dtype)
    gy_keep, idx_keep = gy.copy(), idx.copy()
    faltung.max_pool2d_backward(gy, x, idx, 2)
    faltung.avg_pool2d_backward(gy, x, 2)
    faltung.lp_pool2d_backward(gy, x, 2, 2)
    np.testing.assert_array_equal(x, keep)
    np.testing.assert_array_equal(gy, gy_keep)
    np.testing.assert_array_equal(idx, idx_keep)


def test_backends_agree_on_indices(rng):
    """cpp and numba, side by side on a larger tie-heavy input: bit-identical results."""
    if len(faltung.available_backends()) < 2:
        pytest.skip("only one backend here")
    x = rng.integers(-2, 3, (2, 3, 37, 41)).astype(np.float32)
    results = []
    previous = faltung.get_backend()
    try:
        for name in faltung.available_backends():
            faltung.set_backend(name)
            results.append(faltung.max_pool2d(x, 3, 2, 1, return_indices=True))
    finally:
        faltung.set_backend(previous)
    (y0, i0), (y1, i1) = results[:2]
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(i0, i1)


# ------------------------------------------------------------------ seeded random configurations

def _random_case(rng, dilated):
    """A valid random geometry: kernel 1-4, stride 1-3, dilation 1-2 (max pooling), padding up to
    half the dilated kernel per side, ceil_mode either way, odd and even sizes."""
    from faltung._pool_params import make_pool2d_params
    while True:
        kh, kw = (int(v) for v in rng.integers(1, 5, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, 2)) if dilated else (1, 1)
        eff = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
        padding = (int(rng.integers(0, eff[0] // 2 + 1)), int(rng.integers(0, eff[1] // 2 + 1)))
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(3, 13)),
                 int(rng.integers(3, 13)))
        case = Case(shape, (kh, kw), stride, padding, dilation, bool(rng.integers(0, 2)))
        try:
            make_pool2d_params(shape, case.kernel, stride, padding, dilation, case.ceil_mode)
        except ValueError:
            continue
        return case


def _check_random(seed, dtype):
    rng = np.random.default_rng(seed)
    case = _random_case(rng, dilated=True)
    x = random_array(rng, case.shape, dtype)
    y, idx = faltung.max_pool2d(x, *case.args(), case.dilation, case.ceil_mode, True)
    ry, ridx = ref.max_pool2d(x, case.kernel, case.stride, case.pads(), case.dilation, case.ceil_mode)
    assert_close(y, ry, dtype=dtype, kind="exact", what=f"max {case}")
    np.testing.assert_array_equal(idx, ridx)
    case = _random_case(rng, dilated=False)
    x = random_array(rng, case.shape, dtype)
    include = bool(rng.integers(0, 2))
    y = faltung.avg_pool2d(x, *case.args(), case.ceil_mode, include)
    expected = ref.avg_pool2d(x, case.kernel, case.stride, case.pads(), case.ceil_mode, include)
    assert_close(y, expected, dtype=dtype, what=f"avg {case}")
    gy = random_array(rng, y.shape, dtype)
    gx = faltung.avg_pool2d_backward(gy, x, *case.args(), case.ceil_mode, include)
    assert_close(gx, ref.avg_pool2d_backward(gy, x.shape, case.kernel, case.stride, case.pads(),
                                             case.ceil_mode, include), dtype=dtype,
                 what=f"avg backward {case}")


@pytest.mark.parametrize("seed", range(8))
def test_random_configurations(backend, dtype, seed):
    _check_random(seed, dtype)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8, 200))
def test_random_configurations_sweep(backend, dtype, seed):
    _check_random(seed, dtype)
