"""conv2d_backward / convolve2d_backward: gradients against the reference, adjoint identities in
float64, central finite differences, needs_input_grad masks and out=."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, random_array
from tests.test_conv2d import GATHERED_TILES, GRID, Case, random_case


def _arrays(case: Case, dtype, rng):
    x = random_array(rng, (case.n, case.c, case.h, case.w), dtype)
    w = random_array(rng, (case.o, case.c // case.groups, case.kh, case.kw), dtype)
    t, b, l, r = case.pads()
    sh, sw = (case.stride, case.stride) if isinstance(case.stride, int) else case.stride
    dh, dw = (case.dilation, case.dilation) if isinstance(case.dilation, int) else case.dilation
    oh = ref.conv_out_size(case.h, case.kh, sh, t, b, dh)
    ow = ref.conv_out_size(case.w, case.kw, sw, l, r, dw)
    gy = random_array(rng, (case.n, case.o, oh, ow), dtype)
    return x, w, gy


def _check_backward(case: Case, dtype, rng, fn=faltung.conv2d_backward,
                    ref_fn=ref.conv2d_backward):
    x, w, gy = _arrays(case, dtype, rng)
    gx, gw, gb = fn(gy, x, w, case.stride, case.padding, case.dilation, case.groups)
    ex, ew, eb = ref_fn(gy, x, w, case.stride, case.pads(), case.dilation, case.groups)
    sx, sw, sb = ref_fn(np.abs(gy), np.abs(x), np.abs(w), case.stride, case.pads(),
                        case.dilation, case.groups)
    n_pix = gy.shape[0] * gy.shape[2] * gy.shape[3]
    assert_close(gx, ex, dtype=dtype, k=(case.o // case.groups) * case.kh * case.kw, scale=sx,
                 what="grad_input")
    assert_close(gw, ew, dtype=dtype, k=n_pix, scale=sw, what="grad_weight")
    assert_close(gb, eb, dtype=dtype, k=n_pix, scale=sb, what="grad_bias")


@pytest.mark.parametrize("case", list(GRID.values()), ids=list(GRID))
def test_conv2d_backward_grid(backend, dtype, rng, case):
    _check_backward(case, dtype, rng)


@pytest.mark.parametrize("name", ["k3", "k2_even", "pad_asym_keras", "same_stride2_odd",
                                  "dilation2_stride2", "depthwise_multiplier2", "batch2"])
def test_convolve2d_backward_grid(backend, dtype, rng, name):
    _check_backward(GRID[name], dtype, rng, faltung.convolve2d_backward, ref.convolve2d_backward)


@pytest.mark.parametrize("seed", range(4))
def test_conv2d_backward_random(backend, dtype, seed):
    rng = np.random.default_rng(2000 + seed)
    for _ in range(4):
        case = random_case(rng)
        try:
            _check_backward(case, dtype, rng)
        except AssertionError as exc:
            raise AssertionError(f"{case}: {exc}") from None


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(15))
def test_conv2d_backward_random_sweep(backend, dtype, seed):
    rng = np.random.default_rng(6000 + seed)
    for _ in range(10):
        case = random_case(rng, small=False)
        try:
            _check_backward(case, dtype, rng)
        except AssertionError as exc:
            raise AssertionError(f"{case}: {exc}") from None


@pytest.mark.slow
def test_conv2d_backward_realistic_layer(backend, dtype, rng):
    _check_backward(Case(n=2, c=48, o=64, h=20, w=20, padding=1), dtype, rng)
    _check_backward(Case(n=2, c=32, o=32, h=21, w=21, stride=2, padding="same", groups=32),
                    dtype, rng)


# ------------------------------------------------------------------------------ adjoint tests


# The stride-1 input gradient packs the rotated kernel straight from w, its threads taking K
# blocks: K = 53 output channels x 6 taps = 318 makes two blocks of 159, the boundary inside
# one channel's taps; 13 input channels per group fill the second 8-row panel partly.
@pytest.mark.parametrize("threads", [1, 2])
def test_conv2d_backward_rotated_kernel_blocks(backend, dtype, rng, threads, restore_threads):
    faltung.set_num_threads(threads)
    _check_backward(Case(n=2, c=26, o=106, h=9, w=8, kh=3, kw=2, padding=1, groups=2), dtype, rng)


# The weight is packed by all threads in pieces of whole panels (here one 8-row panel of
# K = 2160 per piece, the last panel partly filled; transposed for the strided input gradient).
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("threads", [1, 2])
def test_conv2d_backward_weight_packed_in_pieces(backend, dtype, rng, threads, stride,
                                                 restore_threads):
    faltung.set_num_threads(threads)
    _check_backward(Case(n=2, c=240, o=20, h=6, w=5, stride=stride, padding=1), dtype, rng)


# The stride-1 input gradient runs the gathered forward on grad_y: its tiles over 1-3 threads.
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_conv2d_backward_gathered_tiles_over_threads(backend, dtype, rng, threads,
                                                      restore_threads):
    faltung.set_num_threads(threads)
    _check_backward(GATHERED_TILES, dtype, rng)


ADJOINT_CASES = ["k3", "k5_pad2", "stride3_remainder", "pad_asym_torch4", "same_stride2_odd",
                 "same_k4_even", "dilation2_stride2", "groups3_stride2", "depthwise_multiplier2",
                 "channels_17", "batch2_groups2_pad", "k1_stride2", "pad_larger_than_kernel"]


@pytest.mark.parametrize("name", ADJOINT_CASES)
def test_adjoint_input(backend, rng, name):
    """<conv(x), y> = <x, conv_backward_input(y)> in float64: the input gradient is the exact
    adjoint (transpose) of the linear map x -> conv2d(x, w)."""
    case = GRID[name]
    x, w, y = _arrays(case, np.float64, rng)
    args = (case.stride, case.padding, case.dilation, case.groups)
    lhs_terms = faltung.conv2d(x, w, None, *args) * y
    gx, _, _ = faltung.conv2d_backward(y, x, w, *args, needs_input_grad=(True, False, False))
    rhs_terms = x * gx
    assert_close(rhs_terms.sum(), lhs_terms.sum(), dtype=np.float64, kind="scalar",
                 scale=np.abs(lhs_terms).sum() + np.abs(rhs_terms).sum())


@pytest.mark.parametrize("name", ADJOINT_CASES)
def test_adjoint_weight(backend, rng, name):
    """<conv(x, w), y> = <w, conv_backward_weight(y)> in float64."""
    case = GRID[name]
    x, w, y = _arrays(case, np.float64, rng)
    args = (case.stride, case.padding, case.dilation, case.groups)
    lhs_terms = faltung.conv2d(x, w, None, *args) * y
    _, gw, _ = faltung.conv2d_backward(y, x, w, *args, needs_input_grad=(False, True, False))
    rhs_terms = w * gw
    assert_close(rhs_terms.sum(), lhs_terms.sum(), dtype=np.float64, kind="scalar",
                 scale=np.abs(lhs_terms).sum() + np.abs(rhs_terms).sum())


@pytest.mark.parametrize("name", ["k3", "same_stride2_odd", "groups2"])
def test_adjoint_bias(backend, rng, name):
    """<conv(x, 0, b), y> = <b, grad_bias(y)>: the bias gradient sums grad_out."""
    case = GRID[name]
    x, w, y = _arrays(case, np.float64, rng)
    b = rng.standard_normal(case.o)
    args = (case.stride, case.padding, case.dilation, case.groups)
    lhs_terms = faltung.conv2d(x, np.zeros_like(w), b, *args) * y
    _, _, gb = faltung.conv2d_backward(y, x, w, *args, needs_input_grad=(False, False, True))
    assert_close((b * gb).sum(), lhs_terms.sum(), dtype=np.float64, kind="scalar",
                 scale=np.abs(lhs_terms).sum())


@pytest.mark.parametrize("name", ["k3", "same_stride2_odd", "depthwise"])
def test_adjoint_convolve2d(backend, rng, name):
    case = GRID[name]
    x, w, y = _arrays(case, np.float64, rng)
    args = (case.stride, case.padding, case.dilation, case.groups)
    lhs_terms = faltung.convolve2d(x, w, None, *args) * y
    gx, gw, _ = faltung.convolve2d_backward(y, x, w, *args)
    for terms in (x * gx, w * gw):
        assert_close(terms.sum(), lhs_terms.sum(), dtype=np.float64, kind="scalar",
                     scale=np.abs(lhs_terms).sum() + np.abs(terms).sum())


# ----------------------------------------------------------------------- finite differences

FD_CASES = {
    "plain": Case(n=1, c=2, h=4, w=4, o=2, kh=2, kw=3, bias=True),
    "stride2_pad_asym": Case(n=2, c=1, h=5, w=4, o=2, stride=2, padding=(1, 0, 0, 1)),
    "dilation_groups": Case(n=1, c=2, h=5, w=5, o=2, kh=2, kw=2, dilation=2, groups=2, padding=1),
    "same_stride2": Case(n=1, c=1, h=5, w=4, o=1, stride=2, padding="same"),
}


@pytest.mark.parametrize("fn", [faltung.conv2d, faltung.convolve2d], ids=["conv2d", "convolve2d"])
@pytest.mark.parametrize("name", list(FD_CASES))
def test_finite_differences(backend, rng, name, fn):
    """Central differences of L = sum(gy * f(x, w, b)) in float64, entry by entry."""
    case = FD_CASES[name]
    x, w, gy = _arrays(case, np.float64, rng)
    b = rng.standard_normal(case.o)
    args = (case.stride, case.padding, case.dilation, case.groups)
    backward = faltung.conv2d_backward if fn is faltung.conv2d else faltung.convolve2d_backward

    def loss(x_, w_, b_):
        return float((gy * fn(x_, w_, b_, *args)).sum())

    analytic = backward(gy, x, w, *args)
    h = 1e-4
    for which, (arr, grad) in enumerate(zip((x, w, b), analytic)):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            plus, minus = arr.copy(), arr.copy()
            plus[idx] += h
            minus[idx] -= h
            pa = [x, w, b]
            ma = [x, w, b]
            pa[which], ma[which] = plus, minus
            numeric[idx] = (loss(*pa) - loss(*ma)) / (2 * h)
        assert_close(grad, numeric, dtype=np.float64, kind="fd",
                     what=("grad_input", "grad_weight", "grad_bias")[which])


# ---------------------------------------------------------------------------- API behaviour

@pytest.mark.parametrize("mask", list(itertools.product([False, True], repeat=3)),
                         ids=lambda m: "".join("xwb"[i] if v else "-" for i, v in enumerate(m)))
@pytest.mark.parametrize("fn", [faltung.conv2d_backward, faltung.convolve2d_backward],
                         ids=["conv2d", "convolve2d"])
def test_needs_input_grad_mask(backend, rng, mask, fn):
    case = GRID["stride2"]
    x, w, gy = _arrays(case, np.float64, rng)
    ref_fn = ref.conv2d_backward if fn is faltung.conv2d_backward else ref.convolve2d_backward
    expected = ref_fn(gy, x, w, case.stride, case.pads())
    got = fn(gy, x, w, case.stride, case.padding, needs_input_grad=mask)
    assert isinstance(got, tuple) and len(got) == 3
    for wanted, g, e, what in zip(mask, got, expected, ("grad_input", "grad_weight", "grad_bias")):
        if wanted:
            assert_close(g, e, dtype=np.float64, what=what)
        else:
            assert g is None, f"{what} was not asked for but came back"


def test_backward_out_triple(backend, dtype, rng):
    case = GRID["groups2"]
    x, w, gy = _arrays(case, dtype, rng)
    outs = (np.full(x.shape, np.nan, dtype), np.full(w.shape, np.nan, dtype),
            np.full((case.o,), np.nan, dtype))
    got = faltung.conv2d_backward(gy, x, w, groups=2, out=outs)
    assert all(g is o for g, o in zip(got, outs))
    expected = ref.conv2d_backward(gy, x, w, groups=2)
    for g, e in zip(got, expected):
        assert_close(g, e, dtype=dtype)
    # partial out: only grad_weight preallocated, and grad_bias not wanted
    gw_out = np.full(w.shape, np.nan, dtype)
    got = faltung.conv2d_backward(gy, x, w, groups=2, needs_input_grad=(True, True, False),
                                  out=(None, gw_out, None))
    assert got[1] is gw_out and got[2] is None
    assert_close(got[0], expected[0], dtype=dtype)
    assert_close(got[1], expected[1], dtype=dtype)


def test_convolve2d_backward_out(backend, dtype, rng):
    """The weight gradient of the true convolution comes back mirrored, also into out=."""
    case = GRID["k2_even"]
    x, w, gy = _arrays(case, dtype, rng)
    outs = (np.empty(x.shape, dtype), np.empty(w.shape, dtype), np.empty((case.o,), dtype))
    got = faltung.convolve2d_backward(gy, x, w, out=outs)
    assert all(g is o for g, o in zip(got, outs))
    for g, e in zip(got, ref.convolve2d_backward(gy, x, w)):
        assert_close(g, e, dtype=dtype)


@pytest.mark.parametrize("fn", [faltung.conv2d_backward, faltung.convolve2d_backward],
                         ids=["conv2d", "convolve2d"])
def test_backward_inputs_not_modified(backend, dtype, rng, fn):
    for name in ("k3", "depthwise", "k1_pointwise"):
        case = GRID[name]
        x, w, gy = _arrays(case, dtype, rng)
        copies = [a.copy() for a in (x, w, gy)]
        fn(gy, x, w, case.stride, case.padding, case.dilation, case.groups)
        for a, before in zip((x, w, gy), copies):
            assert_close(a, before, dtype=dtype, kind="exact")


def test_backward_noncontiguous(backend, dtype, rng):
    case = Case(n=2, c=3, h=6, w=5, o=4, kh=3, kw=2, stride=(2, 1), padding=1)
    x, w, gy = _arrays(case, dtype, rng)
    expected = ref.conv2d_backward(gy, x, w, case.stride, case.pads())
    xv = np.asfortranarray(x)
    wv = np.ascontiguousarray(w[:, :, ::-1]).copy()[:, :, ::-1]  # same values, negative stride
    gyv = np.ascontiguousarray(gy.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    assert not (xv.flags.c_contiguous or wv.flags.c_contiguous or gyv.flags.c_contiguous)
    got = faltung.conv2d_backward(gyv, xv, wv, case.stride, case.padding)
    for g, e in zip(got, expected):
        assert_close(g, e, dtype=dtype)


def test_backward_nan_propagates(backend, rng):
    """A NaN in grad_out reaches the bias gradient of its channel, every weight-gradient entry
    of that output channel and the input pixels its window covers."""
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    gy = rng.standard_normal((1, 3, 3, 3))
    gy[0, 1, 1, 1] = np.nan
    got = faltung.conv2d_backward(gy, x, w)
    for g, e, what in zip(got, ref.conv2d_backward(gy, x, w), ("gx", "gw", "gb")):
        assert_close(g, e, dtype=np.float64, what=what)
