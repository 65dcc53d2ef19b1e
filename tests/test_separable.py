"""separable_conv2d / separable_conv2d_backward (Keras's SeparableConv2D: depthwise, then 1x1,
one bias, no activation between): equal to the depthwise convolution followed by a 1x1 conv2d
(faltung's own and the float64 reference), gradients against the chain-rule reference, the
adjoint identity, PyTorch, masks and out=."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, random_array
from tests.test_depthwise import GRID, DwCase

# Maps of >= 256 output pixels take the C++'s fused variant (tiles of whole output rows, several
# per image here), smaller ones the materialised one.
GRID = dict(GRID, fused_tiles=DwCase(n=2, c=2, m=2, h=70, w=45, padding=1),
            fused_tiles_stride2_same=DwCase(c=3, h=61, w=66, stride=2, padding="same",
                                            dilation=(1, 2)))
CASES = ["k3", "stride2_pad1", "multiplier3_stride2", "same_stride2_odd", "dilation2",
         "wide_rows_k3", "batch2", "fused_tiles", "fused_tiles_stride2_same"]
OUT_CHANNELS = 5


def _arrays(case, dtype, rng):
    x = random_array(rng, (case.n, case.c, case.h, case.w), dtype)
    dw = random_array(rng, (case.c * case.m, 1, case.kh, case.kw), dtype)
    pw = random_array(rng, (OUT_CHANNELS, case.c * case.m, 1, 1), dtype)
    b = random_array(rng, (OUT_CHANNELS,), dtype)
    gy = random_array(rng, (case.n, OUT_CHANNELS) + case.out_size(), dtype)
    return x, dw, pw, b, gy


def _reference(case, x, dw, pw, b, gy):
    args = (case.stride, case.pads(), case.dilation)
    return (ref.separable_conv2d(x, dw, pw, b, *args),
            ref.separable_conv2d_backward(gy, x, dw, pw, *args))


@pytest.mark.parametrize("name", CASES)
def test_forward_and_backward(backend, dtype, rng, name):
    case = GRID[name]
    x, dw, pw, b, gy = _arrays(case, dtype, rng)
    y = faltung.separable_conv2d(x, dw, pw, b, *case.args())
    grads = faltung.separable_conv2d_backward(gy, x, dw, pw, *case.args())
    expected_y, expected = _reference(case, x, dw, pw, b, gy)
    scale_y, scales = _reference(case, *(np.abs(a) for a in (x, dw, pw, b, gy)))
    k = case.c * case.m * case.kh * case.kw
    assert_close(y, expected_y, dtype=dtype, k=k, scale=scale_y, what="forward")
    pixels = gy.shape[0] * gy.shape[2] * gy.shape[3]
    for what, g, e, s, kk in zip(("grad_x", "grad_depthwise", "grad_pointwise", "grad_bias"),
                                 grads, expected, scales,
                                 (OUT_CHANNELS * k, OUT_CHANNELS * pixels, pixels, pixels)):
        assert_close(g, e, dtype=dtype, k=kk, scale=s, what=what)


@pytest.mark.parametrize("name", ["k3", "multiplier3_stride2"])
def test_equals_depthwise_then_pointwise(backend, dtype, rng, name):
    """The same as faltung's depthwise_conv2d followed by conv2d with the 1x1 kernel, forward
    and gradients (the composition's gradients by the chain rule through faltung's own passes)."""
    case = GRID[name]
    x, dw, pw, b, gy = _arrays(case, dtype, rng)
    t = faltung.depthwise_conv2d(x, dw, None, *case.args())
    y = faltung.conv2d(t, pw, b)
    g_t, g_pw, g_b = faltung.conv2d_backward(gy, t, pw)
    g_x, g_dw, _ = faltung.depthwise_conv2d_backward(g_t, x, dw, *case.args(),
                                                     needs_input_grad=(True, True, False))
    k = case.c * case.m * case.kh * case.kw * OUT_CHANNELS
    assert_close(faltung.separable_conv2d(x, dw, pw, b, *case.args()), y.astype(np.float64),
                 dtype=dtype, k=k)
    for what, got, want in zip(("x", "dw", "pw", "b"),
                               faltung.separable_conv2d_backward(gy, x, dw, pw, *case.args()),
                               (g_x, g_dw, g_pw, g_b)):
        assert_close(got, want.astype(np.float64), dtype=dtype, k=gy.size, what=what)


def test_adjoint(backend, rng):
    case = GRID["multiplier3_stride2"]
    x, dw, pw, _, gy = _arrays(case, np.float64, rng)
    y = faltung.separable_conv2d(x, dw, pw, None, *case.args())
    gx, gdw, gpw, _ = faltung.separable_conv2d_backward(gy, x, dw, pw, *case.args())
    lhs = float(np.sum(y * gy))
    scale = float(np.sum(np.abs(gy) * ref.separable_conv2d(
        np.abs(x), np.abs(dw), np.abs(pw), None, case.stride, case.pads(), case.dilation)))
    for what, array, grad in (("x", x, gx), ("depthwise", dw, gdw), ("pointwise", pw, gpw)):
        assert_close(lhs, float(np.sum(array * grad)), dtype=np.float64, kind="scalar",
                     scale=scale, what=f"{what} adjoint")


def test_torch(backend, dtype, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    case = GRID["multiplier3_stride2"]
    x, dw, pw, b, gy = _arrays(case, dtype, rng)
    xt, dwt, pwt, bt = (torch.from_numpy(a.astype(np.float64)).requires_grad_(True)
                        for a in (x, dw, pw, b))
    yt = F.conv2d(F.conv2d(xt, dwt, None, case.stride, case.padding, case.dilation, case.c),
                  pwt, bt)
    yt.backward(torch.from_numpy(gy.astype(np.float64)))
    y = faltung.separable_conv2d(x, dw, pw, b, *case.args())
    assert_close(y, yt.detach().numpy(), dtype=dtype, k=case.c * case.m * 9)
    for got, t in zip(faltung.separable_conv2d_backward(gy, x, dw, pw, *case.args()),
                      (xt, dwt, pwt, bt)):
        assert_close(got, t.grad.numpy(), dtype=dtype, k=gy.size)


def test_out_and_needs_input_grad(backend, dtype, rng):
    case = GRID["stride2_pad1"]
    x, dw, pw, b, gy = _arrays(case, dtype, rng)
    y = np.full(gy.shape, np.nan, dtype)
    assert faltung.separable_conv2d(x, dw, pw, b, *case.args(), out=y) is y
    expected_y, expected = _reference(case, x, dw, pw, b, gy)
    assert_close(y, expected_y, dtype=dtype, k=case.c * 9)
    outs = tuple(np.full(a.shape, np.nan, dtype) for a in (x, dw, pw, b))
    got = faltung.separable_conv2d_backward(gy, x, dw, pw, *case.args(), out=outs)
    assert all(g is o for g, o in zip(got, outs))
    for g, e in zip(got, expected):
        assert_close(g, e, dtype=dtype, k=gy.size)
    for i in range(4):
        mask = tuple(j == i for j in range(4))
        got = faltung.separable_conv2d_backward(gy, x, dw, pw, *case.args(), needs_input_grad=mask)
        assert [g is not None for g in got] == list(mask)
        assert_close(got[i], expected[i], dtype=dtype, k=gy.size)
