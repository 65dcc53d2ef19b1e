"""PyTorch as a second, independent reference for pooling (skipped when torch is absent):
values, indices (on tie-heavy data) and gradients (torch autograd) of max, avg, Lp and adaptive
average pooling, in float32 and float64, on the cases PyTorch accepts (symmetric padding at most
half the kernel)."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests.conftest import assert_close, random_array
from tests.test_pool import AVG_GRID, AVG_MODES, MAX_GRID, Case

torch = pytest.importorskip("torch")
F = torch.nn.functional

MAX_CASES = ["k2s2", "k3s2_pad1_odd", "alexnet_overlap_3x3s2", "k3s1_pad1", "k3s3_runtime_stride",
             "k5s3_pad2_ceil", "ceil_drops_window_in_padding", "ceil_odd", "dilation2_pad1_stride2_ceil",
             "rect_kernel_stride", "row_longer_than_chunk_k3"]
AVG_CASES = ["k2s2", "k3s2_pad1_odd", "overlap_3x3s2", "k3s3_runtime_stride", "k5s3_pad2_ceil",
             "ceil_partial_window", "ceil_odd", "rect_kernel_stride"]


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a)).requires_grad_(True)


def _torch_args(case: Case):
    stride = case.stride if case.stride is not None else case.kernel
    return case.kernel, stride, case.padding


@pytest.mark.parametrize("name", MAX_CASES)
def test_max_pool_vs_torch(backend, dtype, rng, name):
    case = MAX_GRID[name]
    x = rng.integers(-2, 3, case.shape).astype(dtype)   # ties everywhere
    x.reshape(-1)[rng.choice(x.size, 3, replace=False)] = np.nan
    xt = _t(x)
    yt, it = F.max_pool2d(xt, *_torch_args(case), case.dilation, case.ceil_mode, True)
    y, idx = faltung.max_pool2d(x, *case.args(), case.dilation, case.ceil_mode, True)
    assert_close(y, yt.detach().numpy().astype(np.float64), dtype=dtype, kind="exact")
    np.testing.assert_array_equal(idx, it.numpy())
    gy = random_array(rng, y.shape, dtype)
    yt.backward(torch.from_numpy(gy))
    gx = faltung.max_pool2d_backward(gy, x, idx, *case.args(), case.dilation, case.ceil_mode)
    assert_close(gx, xt.grad.numpy().astype(np.float64), dtype=dtype)


@pytest.mark.parametrize("mode", list(AVG_MODES))
@pytest.mark.parametrize("name", AVG_CASES)
def test_avg_pool_vs_torch(backend, dtype, rng, name, mode):
    case = AVG_GRID[name]
    include, divisor = AVG_MODES[mode]
    x = random_array(rng, case.shape, dtype)
    xt = _t(x.astype(np.float64))
    yt = F.avg_pool2d(xt, *_torch_args(case), case.ceil_mode, include, divisor)
    y = faltung.avg_pool2d(x, *case.args(), case.ceil_mode, include, divisor)
    assert_close(y, yt.detach().numpy(), dtype=dtype)
    gy = random_array(rng, y.shape, dtype)
    yt.backward(torch.from_numpy(gy.astype(np.float64)))
    gx = faltung.avg_pool2d_backward(gy, x, *case.args(), case.ceil_mode, include, divisor)
    assert_close(gx, xt.grad.numpy(), dtype=dtype)


@pytest.mark.parametrize("norm", [1, 2, 3])
@pytest.mark.parametrize("name", ["k2s2", "k3s2_pad1_odd", "ceil_partial_window", "rect_kernel_stride"])
def test_lp_pool_vs_torch(backend, dtype, rng, name, norm):
    base = AVG_GRID[name]
    case = base._replace(padding=0)   # PyTorch's lp_pool2d has no padding
    x = np.abs(random_array(rng, case.shape, dtype)) + dtype.type(0.1)
    xt = _t(x.astype(np.float64))
    yt = F.lp_pool2d(xt, norm, case.kernel, case.stride, case.ceil_mode)
    y = faltung.lp_pool2d(x, norm, *case.args(), case.ceil_mode)
    assert_close(y, yt.detach().numpy(), dtype=dtype)
    gy = random_array(rng, y.shape, dtype)
    yt.backward(torch.from_numpy(gy.astype(np.float64)))
    gx = faltung.lp_pool2d_backward(gy, x, norm, *case.args(), case.ceil_mode)
    assert_close(gx, xt.grad.numpy(), dtype=dtype)


@pytest.mark.parametrize("shape,size", [((1, 2, 7, 7), 3), ((2, 1, 10, 9), (4, 5)),
                                        ((1, 1, 5, 6), (7, 8)), ((1, 3, 13, 13), 6),
                                        ((2, 4, 7, 7), 1)])
def test_adaptive_avg_pool_vs_torch(backend, dtype, rng, shape, size):
    x = random_array(rng, shape, dtype)
    xt = _t(x.astype(np.float64))
    yt = F.adaptive_avg_pool2d(xt, size)
    y = faltung.adaptive_avg_pool2d(x, size)
    assert_close(y, yt.detach().numpy(), dtype=dtype)
    gy = random_array(rng, y.shape, dtype)
    yt.backward(torch.from_numpy(gy.astype(np.float64)))
    assert_close(faltung.adaptive_avg_pool2d_backward(gy, x, size), xt.grad.numpy(), dtype=dtype)


def test_global_max_pool_vs_torch(backend, dtype, rng):
    x = rng.integers(-3, 3, (2, 3, 5, 7)).astype(dtype)
    yt, it = F.adaptive_max_pool2d(torch.from_numpy(x), 1, return_indices=True)
    y, idx = faltung.global_max_pool2d(x, return_indices=True)
    assert_close(y, yt.numpy().astype(np.float64), dtype=dtype, kind="exact")
    np.testing.assert_array_equal(idx, it.numpy())
