"""PyTorch as a second, independent reference (skipped cleanly when torch is not installed):
conv2d forward/backward (torch autograd) and conv_transpose2d, float32 and float64."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests.conftest import assert_close, random_array
from tests.test_conv2d import GRID, random_case

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64).copy()).requires_grad_(True)


def _torch_conv(x, w, b, case):
    """torch conv2d in float64 with faltung's padding handled by F.pad (asymmetric, TF 'same')."""
    top, bottom, left, right = case.pads()
    xt, wt = _t(x), _t(w)
    bt = _t(b) if b is not None else None
    y = F.conv2d(F.pad(xt, (left, right, top, bottom)), wt, bt, case.stride, 0, case.dilation,
                 case.groups)
    return xt, wt, bt, y


TORCH_CASES = ["k3", "k5_pad2", "k3x1", "stride3_remainder", "pad_asym_torch4", "same_k4_even",
               "same_stride2_odd", "same_stride3", "dilation2_stride2", "channels_17",
               "depthwise_multiplier2", "groups3_stride2", "batch2_groups2_pad", "no_bias"]


def _check(case, dtype, rng):
    x = random_array(rng, (case.n, case.c, case.h, case.w), dtype)
    w = random_array(rng, (case.o, case.c // case.groups, case.kh, case.kw), dtype)
    b = random_array(rng, (case.o,), dtype) if case.bias else None
    xt, wt, bt, yt = _torch_conv(x, w, b, case)
    y = faltung.conv2d(x, w, b, case.stride, case.padding, case.dilation, case.groups)
    gy = random_array(rng, y.shape, dtype)
    yt.backward(torch.from_numpy(gy.astype(np.float64)))
    gx, gw, gb = faltung.conv2d_backward(gy, x, w, case.stride, case.padding, case.dilation,
                                         case.groups)
    k_pix = gy.shape[0] * gy.shape[2] * gy.shape[3]
    # magnitudes of the sums (sum of |terms|), from torch itself on absolute values
    xa, wa, _, ya = _torch_conv(np.abs(x), np.abs(w), None, case)
    y_abs = ya.detach().numpy() + (0 if b is None else np.abs(b.astype(np.float64))[:, None, None])
    ya.backward(torch.from_numpy(np.abs(gy).astype(np.float64)))
    gb_scale = np.abs(gy).astype(np.float64).sum(axis=(0, 2, 3))
    assert_close(y, yt.detach().numpy(), dtype=dtype, k=case.k, scale=y_abs, what="forward")
    assert_close(gx, xt.grad.numpy(), dtype=dtype, scale=xa.grad.numpy(), what="grad_input")
    assert_close(gw, wt.grad.numpy(), dtype=dtype, k=k_pix, scale=wa.grad.numpy(),
                 what="grad_weight")
    if bt is not None:
        assert_close(gb, bt.grad.numpy(), dtype=dtype, k=k_pix, scale=gb_scale, what="grad_bias")
    else:
        assert_close(gb, gy.astype(np.float64).sum(axis=(0, 2, 3)), dtype=dtype, k=k_pix,
                     scale=gb_scale, what="grad_bias")


@pytest.mark.parametrize("name", TORCH_CASES)
def test_conv2d_vs_torch(backend, dtype, rng, name):
    _check(GRID[name], dtype, rng)


@pytest.mark.parametrize("seed", range(3))
def test_conv2d_vs_torch_random(backend, dtype, seed):
    rng = np.random.default_rng(8000 + seed)
    for _ in range(4):
        case = random_case(rng)
        try:
            _check(case, dtype, rng)
        except AssertionError as exc:
            raise AssertionError(f"{case}: {exc}") from None


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_stride1_matches_torch_same(backend, rng):
    """For stride 1, 'same' is PyTorch's padding='same' (odd pixel at the end too)."""
    for k, d in [(3, 1), (4, 1), (2, 1), (5, 2), (4, 3)]:
        x = rng.standard_normal((1, 2, 9, 8))
        w = rng.standard_normal((3, 2, k, k))
        expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, 1, "same", d)
        assert_close(faltung.conv2d(x, w, padding="same", dilation=d), expected.numpy(),
                     dtype=np.float64, what=f"k={k} d={d}")


TRANSPOSE_CASES = [
    # (n, cin, h, w, cout, k, stride, padding, output_padding, groups, dilation)
    (1, 3, 4, 5, 4, 3, 1, 0, 0, 1, 1),
    (2, 4, 3, 3, 6, 3, 2, 1, 1, 2, 1),
    (1, 2, 5, 4, 3, (4, 2), (2, 3), (1, 0), (1, 2), 1, 1),
    (1, 3, 4, 4, 3, 3, 2, 2, 1, 3, 2),
    (1, 2, 3, 3, 2, 3, 1, 0, 1, 1, 2),      # output_padding 1 allowed by dilation 2
    (2, 3, 2, 3, 5, 2, 3, 0, 2, 1, 1),
]


@pytest.mark.parametrize("cfg", TRANSPOSE_CASES, ids=[str(i) for i in range(len(TRANSPOSE_CASES))])
def test_conv_transpose2d_vs_torch(backend, dtype, rng, cfg):
    n, cin, h, w, cout, k, stride, padding, output_padding, groups, dilation = cfg
    kh, kw = (k, k) if isinstance(k, int) else k
    x = random_array(rng, (n, cin, h, w), dtype)
    wt = random_array(rng, (cin, cout // groups, kh, kw), dtype)
    b = random_array(rng, (cout,), dtype)
    xt_, wt_, bt_ = _t(x), _t(wt), _t(b)
    yt = F.conv_transpose2d(xt_, wt_, bt_, stride, padding, output_padding, groups, dilation)
    y = faltung.conv_transpose2d(x, wt, b, stride, padding, output_padding, groups, dilation)
    assert_close(y, yt.detach().numpy(), dtype=dtype, what="forward")
    gy = random_array(rng, y.shape, dtype)
    yt.backward(torch.from_numpy(gy.astype(np.float64)))
    got = faltung.conv_transpose2d_backward(gy, x, wt, stride, padding, output_padding, groups,
                                            dilation)
    xa, wa = _t(np.abs(x)), _t(np.abs(wt))
    F.conv_transpose2d(xa, wa, None, stride, padding, output_padding, groups, dilation).backward(
        torch.from_numpy(np.abs(gy).astype(np.float64)))
    scales = (xa.grad.numpy(), wa.grad.numpy(), np.abs(gy).astype(np.float64).sum(axis=(0, 2, 3)))
    for g, e, s, what in zip(got, (xt_.grad, wt_.grad, bt_.grad), scales,
                             ("grad_input", "grad_weight", "grad_bias")):
        assert_close(g, e.numpy(), dtype=dtype, k=gy.size // gy.shape[1], scale=s, what=what)


def test_gemm_vs_torch(backend, dtype, rng):
    a, b, c = (random_array(rng, s, dtype) for s in ((37, 53), (29, 53), (37, 29)))
    expected = torch.addmm(torch.from_numpy(c.astype(np.float64)),
                           torch.from_numpy(a.astype(np.float64)),
                           torch.from_numpy(b.astype(np.float64)).T, beta=0.5, alpha=2.0)
    got = faltung.gemm(a, b, c, alpha=2.0, beta=0.5, trans_b=True)
    assert_close(got, expected.numpy(), dtype=dtype)
