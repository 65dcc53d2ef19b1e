"""depthwise_conv2d / depthwise_conv2d_backward and conv2d(groups=C) on the depthwise kernels:
the float64 reference (tests/reference.py), an edge-case grid, adjoint identities, central
finite differences, the backends against each other, PyTorch as a second reference, out= and
non-contiguous inputs. Validation messages: tests/test_depthwise_validation.py."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import faltung
from faltung import backends
from tests import reference as ref
from tests.conftest import BACKENDS, assert_close, random_array


@dataclass(frozen=True)
class DwCase:
    n: int = 1
    c: int = 3
    m: int = 1          # channel multiplier
    h: int = 7
    w: int = 7
    kh: int = 3
    kw: int = 3
    stride: object = 1
    padding: object = 0
    dilation: object = 1

    def pads(self):
        return ref.api_pads(self.padding, self.h, self.w, self.kh, self.kw, self.stride,
                            self.dilation)

    def out_size(self):
        t, b, l, r = self.pads()
        sh, sw = ref._pair(self.stride)
        dh, dw = ref._pair(self.dilation)
        return (ref.conv_out_size(self.h, self.kh, sh, t, b, dh),
                ref.conv_out_size(self.w, self.kw, sw, l, r, dw))

    def arrays(self, dtype, rng):
        x = random_array(rng, (self.n, self.c, self.h, self.w), dtype)
        w = random_array(rng, (self.c * self.m, 1, self.kh, self.kw), dtype)
        b = random_array(rng, (self.c * self.m,), dtype)
        gy = random_array(rng, (self.n, self.c * self.m) + self.out_size(), dtype)
        return x, w, b, gy

    def args(self):
        return self.stride, self.padding, self.dilation


# The named edge-case grid: kernel 1/3/5/3x1, stride 1/2/3, padding 0/1/2/asymmetric/"same",
# dilation 1/2, odd and prime sizes, multiplier 1/2/3, batch 1/2. In float32 on AVX-512 the C++
# chooses per pass between channel-blocked tiles and row operations by plane area (use_blocked,
# depthwise_blocked.cpp: forward up to 28x28 pixels, strided up to 112x112, input gradient up to
# 256 pixels, strided up to 112x112, weight gradient always); float64 and other ISAs take the
# rows. Most cases are small (blocked); "blocked_*" cross whole 16-channel blocks (full
# transposes, channel tails, 16+ pixels), and "rows_*" lie above the thresholds (row operations:
# maps at least 32 wide row by row, narrower ones as wide whole-plane rows). The float32 forward
# of a 3x3, dilation-1 case with stride 2, or stride 1 on more than 28x28 pixels, pad_left <= 1
# and output rows filling 7/8 of their vectors (e.g. 14, 28-32, 42-48 columns) takes the direct
# row kernels on AVX-512 (depthwise_direct*.cpp), as does the stride-1 input gradient with
# multiplier 1, pad_left 1 or 2 and at least 64 input columns, the stride-2 input gradient with
# multiplier 1 and at least 112 input columns ("s2input_*", and "rows_stride2_113x115"), the
# stride-1 weight gradient from 112 output columns and the stride-2 one from 56 ("s2wgrad_*",
# "s2input_*", "rows_stride2_113x115"); "s2rows_*" (stride 2) and
# "d1rows_*" (stride 1) cover their inner vectors (whole spans), both row ends, a last vector of
# exactly 16 pixels, rows skipped at the top, and narrow planes whose every vector is an edge.
GRID = {
    "k3": DwCase(),
    "k1": DwCase(kh=1, kw=1),
    "k1_stride2": DwCase(kh=1, kw=1, stride=2, h=9, w=11),
    "k5_pad2": DwCase(h=9, w=11, kh=5, kw=5, padding=2),
    "k3x1": DwCase(h=8, w=6, kh=3, kw=1, padding=(1, 0)),
    "k1x3_prime": DwCase(h=13, w=11, kh=1, kw=3),
    "stride2_pad1": DwCase(h=11, w=13, stride=2, padding=1),
    "stride2_even": DwCase(h=12, w=12, stride=2, padding=1),
    "stride3_remainder": DwCase(h=11, w=10, stride=3),
    "stride_2x1": DwCase(h=9, w=10, stride=(2, 1), padding=1),
    "stride_1x2": DwCase(h=9, w=10, stride=(1, 2), padding=1),
    "pad_asym_torch4": DwCase(h=8, w=9, padding=(0, 2, 1, 0)),
    "pad_asym_keras": DwCase(h=8, w=9, padding=((2, 0), (1, 3))),
    "pad_larger_than_kernel": DwCase(h=5, w=6, padding=3),
    "same_stride1": DwCase(h=9, w=8, padding="same"),
    "same_stride2_odd": DwCase(h=9, w=11, stride=2, padding="same"),
    "same_k5_stride3": DwCase(h=13, w=10, kh=5, kw=5, stride=3, padding="same"),
    "valid": DwCase(h=9, w=8, padding="valid"),
    "dilation2": DwCase(h=11, w=12, dilation=2, padding=2),
    "dilation2_stride2": DwCase(h=13, w=11, dilation=2, stride=2, padding=1),
    "dilation_2x1_k5": DwCase(h=13, w=9, kh=5, kw=5, dilation=(2, 1), padding=(4, 2)),
    "multiplier2": DwCase(m=2, padding=1),
    "multiplier3_stride2": DwCase(c=2, m=3, h=10, w=9, stride=2, padding=1),
    "multiplier2_k5": DwCase(c=2, m=2, h=9, w=9, kh=5, kw=5, padding=2),
    "batch2": DwCase(n=2, c=5, padding=1),
    "one_channel": DwCase(c=1, m=2, padding=1),
    "tiny_1x1_image": DwCase(h=1, w=1, padding=1),
    "wide_rows_k3": DwCase(c=2, h=9, w=37, padding=1),
    "wide_rows_stride2": DwCase(c=2, h=9, w=70, stride=2, padding=1),
    "wide_rows_multiplier2_asym": DwCase(c=2, m=2, h=7, w=41, kh=5, kw=3, dilation=2,
                                         padding=(1, 2)),
    "wide_rows_valid_batch2": DwCase(n=2, c=2, m=3, h=6, w=34),
    "mobilenet_3x3s2_pad_same": DwCase(n=2, c=4, h=14, w=14, stride=2, padding="same"),
    "blocked_c19_batch2": DwCase(n=2, c=19, h=7, w=9, padding=1),
    "blocked_c16_stride2_odd_same": DwCase(c=16, h=13, w=11, stride=2, padding="same"),
    "blocked_c35_m2_dilation2_asym": DwCase(c=35, m=2, h=10, w=12, dilation=2,
                                            padding=((2, 0), (1, 3))),
    "blocked_c17_m3_k5": DwCase(c=17, m=3, h=9, w=9, kh=5, kw=5, padding=2),
    "blocked_c32_tiny_3x4": DwCase(c=32, h=3, w=4, padding=1),
    "blocked_c33_stride_2x1_k3x1": DwCase(c=33, h=15, w=14, kh=3, kw=1, stride=(2, 1),
                                          padding=(1, 0)),
    "rows_wide_17x17": DwCase(c=2, h=17, w=17, padding=1),
    "rows_stride1_57x58": DwCase(c=2, m=2, h=57, w=58, padding=1),
    "rows_narrow_120x27": DwCase(c=2, h=120, w=27, padding="same"),
    "rows_stride2_113x115": DwCase(c=1, h=113, w=115, stride=2, padding=1),
    "s2rows_c3_m2_w90_pad1": DwCase(c=3, m=2, h=9, w=90, stride=2, padding=1),
    "s2rows_m3_w61_pad0": DwCase(c=2, m=3, h=11, w=61, stride=2, padding=0),
    "s2rows_same_even_w64": DwCase(n=2, c=2, h=10, w=64, stride=2, padding="same"),
    "s2rows_full_last_vector_w64": DwCase(c=1, h=8, w=64, stride=2, padding=1),
    "s2rows_pad_top2_w58": DwCase(c=2, h=9, w=58, stride=2, padding=((2, 0), (1, 0))),
    "s2rows_narrow_w5_pad155": DwCase(c=2, h=7, w=5, stride=2, padding=((1, 1), (1, 155))),
    "s2rows_narrow_w32_pad128": DwCase(c=1, h=5, w=32, stride=2, padding=((1, 1), (1, 128))),
    "d1rows_c2_m2_60x20": DwCase(c=2, m=2, h=20, w=60, padding=1),
    "d1rows_m3_pad0_62x16": DwCase(c=2, m=3, h=16, w=62),
    "d1rows_asym_46x20": DwCase(n=2, c=2, h=20, w=46, padding=((0, 2), (1, 1))),
    "d1rows_same_64x16": DwCase(c=1, h=16, w=64, padding="same"),
    "d1rows_30x30": DwCase(c=3, h=30, w=30, padding=1),
    "d1rows_narrow_w5_pad76": DwCase(c=1, h=160, w=5, padding=((1, 1), (1, 76))),
    "d1rows_pad2_70x9": DwCase(c=2, h=9, w=70, padding=((2, 0), (2, 0))),
    "d1rows_111x7_batch2": DwCase(n=2, c=3, h=7, w=111, padding=1),
    "d1rows_pad_right0_64x6": DwCase(c=2, h=6, w=64, padding=((1, 1), (1, 0))),
    "d1rows_wgrad_112x5": DwCase(n=2, c=2, h=5, w=112, padding=1),
    "d1rows_wgrad_m2_pad0_125x6": DwCase(c=2, m=2, h=6, w=125),
    "s2input_same_even_128x9": DwCase(c=2, h=9, w=128, stride=2, padding="same"),
    "s2input_odd_117x10_batch2": DwCase(n=2, c=3, h=10, w=117, stride=2, padding=1),
    "s2input_pad_top2_112x7": DwCase(c=2, h=7, w=112, stride=2, padding=((2, 1), (1, 1))),
    # stride-2 weight gradient on rows (from 56 output columns: speed change 22): channels not a
    # multiple of 16 over several images, multipliers 2 and 3, padding 0, 1 and "same" on odd
    # widths and heights (also "rows_stride2_113x115", "s2input_*", "s2rows_narrow_w32_pad128")
    "s2wgrad_c17_batch3_112x6": DwCase(n=3, c=17, h=6, w=112, stride=2, padding=1),
    "s2wgrad_m2_pad0_113x9_batch2": DwCase(n=2, c=5, m=2, h=9, w=113, stride=2, padding=0),
    "s2wgrad_m3_same_115x7": DwCase(c=3, m=3, h=7, w=115, stride=2, padding="same"),
    # flat planes (stride-1 3x3 padding 1, >= 196 pixels, < 64 columns: speed change 19):
    # planes that fill their last vector or not, one or two columns, four rows, channels not a
    # multiple of 16, multipliers 1-3 (the input gradient of 2 and 3 takes another form)
    "flat_c19_14x14_batch2": DwCase(n=2, c=19, h=14, w=14, padding=1),
    "flat_c1_16x16": DwCase(c=1, h=16, w=16, padding=1),
    "flat_m2_same_17x13": DwCase(c=3, m=2, h=17, w=13, padding="same"),
    "flat_m3_28x28": DwCase(c=2, m=3, h=28, w=28, padding=1),
    "flat_c33_same_19x19_batch2": DwCase(n=2, c=33, h=19, w=19, padding="same"),
    "flat_one_column_200x1": DwCase(c=2, h=200, w=1, padding=1),
    "flat_two_columns_99x2": DwCase(c=2, h=99, w=2, padding=1),
    "flat_four_rows_4x63": DwCase(c=3, h=4, w=63, padding="same"),
    "flat_few_inner_vectors_m2_5x40": DwCase(n=2, c=5, m=2, h=5, w=40, padding=1),
    "flat_56x56": DwCase(c=2, h=56, w=56, padding=1),
    "tiles_below_flat_13x15": DwCase(c=17, h=13, w=15, padding=1),
    "tiles_below_flat_11x9": DwCase(c=17, h=11, w=9, padding=1),
}


def check_forward(case, dtype, rng, fn=faltung.depthwise_conv2d):
    x, w, b, _ = case.arrays(dtype, rng)
    y = fn(x, w, b, *case.args())
    expected = ref.depthwise_conv2d(x, w, b, case.stride, case.pads(), case.dilation)
    scale = ref.depthwise_conv2d(np.abs(x), np.abs(w), np.abs(b), case.stride, case.pads(),
                                 case.dilation)
    assert_close(y, expected, dtype=dtype, k=case.kh * case.kw, scale=scale, what="forward")


def check_backward(case, dtype, rng, fn=faltung.depthwise_conv2d_backward):
    x, w, _, gy = case.arrays(dtype, rng)
    gx, gw, gb = fn(gy, x, w, *case.args())
    ex, ew, eb = ref.depthwise_conv2d_backward(gy, x, w, case.stride, case.pads(), case.dilation)
    sx, sw, sb = ref.depthwise_conv2d_backward(np.abs(gy), np.abs(x), np.abs(w), case.stride,
                                               case.pads(), case.dilation)
    pixels = gy.shape[0] * gy.shape[2] * gy.shape[3]
    assert_close(gx, ex, dtype=dtype, k=case.m * case.kh * case.kw, scale=sx, what="grad_input")
    assert_close(gw, ew, dtype=dtype, k=pixels, scale=sw, what="grad_weight")
    assert_close(gb, eb, dtype=dtype, k=pixels, scale=sb, what="grad_bias")


@pytest.mark.parametrize("case", list(GRID.values()), ids=list(GRID))
def test_forward_grid(backend, dtype, rng, case):
    check_forward(case, dtype, rng)


@pytest.mark.parametrize("case", list(GRID.values()), ids=list(GRID))
def test_backward_grid(backend, dtype, rng, case):
    check_backward(case, dtype, rng)


def _conv2d_groups(x, w, b, stride, padding, dilation):
    return faltung.conv2d(x, w, b, stride, padding, dilation, groups=x.shape[1])


def _conv2d_groups_backward(gy, x, w, stride, padding, dilation):
    return faltung.conv2d_backward(gy, x, w, stride, padding, dilation, groups=x.shape[1])


@pytest.mark.parametrize("name", ["k3", "stride2_pad1", "multiplier3_stride2", "same_stride2_odd",
                                  "dilation2", "wide_rows_k3", "batch2"])
def test_conv2d_groups_c_matches_reference(backend, dtype, rng, name):
    check_forward(GRID[name], dtype, rng, _conv2d_groups)
    check_backward(GRID[name], dtype, rng, _conv2d_groups_backward)


def test_conv2d_groups_c_runs_the_depthwise_kernels(backend, monkeypatch, rng):
    """conv2d and conv2d_backward with groups = C (one input channel per group) call the
    backend's depthwise kernels, never the grouped GEMM; groups < C stays on the GEMM."""
    calls = []
    impl = backends.current()
    for name in ("depthwise_forward", "depthwise_backward_input", "depthwise_backward_weight",
                 "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"):
        original = getattr(impl, name)
        monkeypatch.setattr(impl, name, lambda *a, _f=original, _n=name: (calls.append(_n), _f(*a)))
    x = random_array(rng, (1, 4, 6, 6), np.float64)
    w = random_array(rng, (8, 1, 3, 3), np.float64)
    y = faltung.conv2d(x, w, None, 1, 1, 1, 4)
    faltung.conv2d_backward(y, x, w, 1, 1, 1, 4)
    assert calls == ["depthwise_forward", "depthwise_backward_input", "depthwise_backward_weight"]
    calls.clear()
    faltung.conv2d(x, random_array(rng, (4, 2, 3, 3), np.float64), None, 1, 1, 1, 2)
    assert calls == ["conv2d_forward"]


# --------------------------------------------------------------- adjoints, finite differences

@pytest.mark.parametrize("name", ["k3", "stride2_pad1", "stride3_remainder", "pad_asym_keras",
                                  "blocked_c35_m2_dilation2_asym", "rows_wide_17x17",
                                  "dilation2_stride2", "multiplier3_stride2", "wide_rows_stride2",
                                  "wide_rows_multiplier2_asym", "same_k5_stride3",
                                  "d1rows_pad2_70x9", "d1rows_same_64x16",
                                  "s2input_same_even_128x9", "s2input_odd_117x10_batch2",
                                  "flat_c19_14x14_batch2", "flat_two_columns_99x2"])
def test_adjoint(backend, dtype, rng, name):
    """<f(x), y> = <x, f^T(y)> for the input, and the same for the weight (linear in each);
    float32 too: the C++ runs it on the channel-blocked tiles (float64 on the rows)."""
    case = GRID[name]
    x, w, _, gy = case.arrays(dtype, rng)
    y = faltung.depthwise_conv2d(x, w, None, *case.args())
    gx, gw, _ = faltung.depthwise_conv2d_backward(gy, x, w, *case.args())
    lhs = float(np.sum(y * gy, dtype=np.float64))
    scale = float(np.sum(np.abs(ref.depthwise_conv2d(np.abs(x), np.abs(w), None, case.stride,
                                                     case.pads(), case.dilation) * gy)))
    assert_close(lhs, float(np.sum(x * gx, dtype=np.float64)), dtype=dtype, kind="scalar",
                 scale=scale, what="input adjoint")
    assert_close(lhs, float(np.sum(w * gw, dtype=np.float64)), dtype=dtype, kind="scalar",
                 scale=scale, what="weight adjoint")


@pytest.mark.parametrize("name", ["stride2_pad1", "multiplier3_stride2", "dilation_2x1_k5"])
def test_finite_differences(backend, rng, name):
    """Central differences of L = <grad_out, f(x, w, b)> in float64 against the analytic
    gradients, every entry of x, w and b (tiny shapes)."""
    case = GRID[name]
    x, w, b, gy = case.arrays(np.float64, rng)
    gx, gw, gb = faltung.depthwise_conv2d_backward(gy, x, w, *case.args())
    h = 1e-4

    def loss(x_, w_, b_):
        return float(np.sum(gy * faltung.depthwise_conv2d(x_, w_, b_, *case.args())))

    for array, grad, what in ((x, gx, "x"), (w, gw, "w"), (b, gb, "b")):
        numeric = np.empty_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + h
            up = loss(x, w, b)
            array[index] = saved - h
            down = loss(x, w, b)
            array[index] = saved
            numeric[index] = (up - down) / (2 * h)
        assert_close(numeric, grad, dtype=np.float64, kind="fd", what=f"d/d{what}")


# ------------------------------------------------------------------ backends, PyTorch, out=

@pytest.mark.skipif(len(BACKENDS) < 2, reason="needs two backends")
@pytest.mark.parametrize("name", ["k3", "stride2_pad1", "multiplier2_k5", "wide_rows_k3",
                                  "flat_m3_28x28", "flat_c33_same_19x19_batch2",
                                  "blocked_c17_m3_k5", "rows_stride1_57x58",
                                  "wide_rows_stride2", "same_stride2_odd",
                                  "s2rows_c3_m2_w90_pad1", "d1rows_asym_46x20",
                                  "d1rows_pad2_70x9"])
def test_backends_agree(dtype, rng, name):
    case = GRID[name]
    x, w, b, gy = case.arrays(dtype, rng)
    results = {}
    previous = faltung.get_backend()
    try:
        for name_ in BACKENDS:
            faltung.set_backend(name_)
            results[name_] = (faltung.depthwise_conv2d(x, w, b, *case.args()),
                              *faltung.depthwise_conv2d_backward(gy, x, w, *case.args()))
    finally:
        faltung.set_backend(previous)
    first, *others = BACKENDS
    scales = (ref.depthwise_conv2d(np.abs(x), np.abs(w), np.abs(b), case.stride, case.pads(),
                                   case.dilation),
              *ref.depthwise_conv2d_backward(np.abs(gy), np.abs(x), np.abs(w), case.stride,
                                             case.pads(), case.dilation))
    for other in others:
        for what, a, e, s in zip(("y", "gx", "gw", "gb"), results[other], results[first], scales):
            assert_close(a, e.astype(np.float64), dtype=dtype, k=gy[0, 0].size * gy.shape[0],
                         scale=s, what=f"{other} vs {first}: {what}")


@pytest.mark.parametrize("name", ["k3", "k5_pad2", "stride2_pad1", "stride3_remainder",
                                  "flat_c19_14x14_batch2", "flat_m2_same_17x13",
                                  "blocked_c16_stride2_odd_same", "blocked_c19_batch2",
                                  "dilation2_stride2", "multiplier3_stride2", "wide_rows_stride2",
                                  "pad_asym_torch4", "same_stride2_odd",
                                  "s2rows_same_even_w64", "d1rows_same_64x16",
                                  "d1rows_111x7_batch2", "s2input_odd_117x10_batch2"])
def test_torch(backend, dtype, rng, name):
    torch = pytest.importorskip("torch")
    case = GRID[name]
    x, w, b, gy = case.arrays(dtype, rng)
    top, bottom, left, right = case.pads()
    xt, wt, bt = (torch.from_numpy(a.astype(np.float64)).requires_grad_(True) for a in (x, w, b))
    yt = torch.nn.functional.conv2d(torch.nn.functional.pad(xt, (left, right, top, bottom)), wt,
                                    bt, case.stride, 0, case.dilation, case.c)
    yt.backward(torch.from_numpy(gy.astype(np.float64)))
    y = faltung.depthwise_conv2d(x, w, b, *case.args())
    gx, gw, gb = faltung.depthwise_conv2d_backward(gy, x, w, *case.args())
    pixels = gy.shape[0] * gy.shape[2] * gy.shape[3]
    assert_close(y, yt.detach().numpy(), dtype=dtype, k=case.kh * case.kw, what="forward")
    assert_close(gx, xt.grad.numpy(), dtype=dtype, k=case.m * case.kh * case.kw, what="grad_x")
    assert_close(gw, wt.grad.numpy(), dtype=dtype, k=pixels, what="grad_w")
    assert_close(gb, bt.grad.numpy(), dtype=dtype, k=pixels, what="grad_b")


def test_out_and_needs_input_grad(backend, dtype, rng):
    case = GRID["multiplier3_stride2"]
    x, w, b, gy = case.arrays(dtype, rng)
    y = np.full(gy.shape, np.nan, dtype)
    assert faltung.depthwise_conv2d(x, w, b, *case.args(), out=y) is y
    check = ref.depthwise_conv2d(x, w, b, case.stride, case.pads(), case.dilation)
    assert_close(y, check, dtype=dtype, k=9)
    outs = (np.full(x.shape, np.nan, dtype), np.full(w.shape, np.nan, dtype),
            np.full(b.shape, np.nan, dtype))
    got = faltung.depthwise_conv2d_backward(gy, x, w, *case.args(), out=outs)
    assert all(g is o for g, o in zip(got, outs))
    expected = ref.depthwise_conv2d_backward(gy, x, w, case.stride, case.pads(), case.dilation)
    for g, e in zip(got, expected):
        assert_close(g, e, dtype=dtype, k=gy.size)
    for mask in [(True, False, False), (False, True, False), (False, False, True)]:
        got = faltung.depthwise_conv2d_backward(gy, x, w, *case.args(), needs_input_grad=mask)
        assert [g is not None for g in got] == list(mask)


def test_non_contiguous_inputs(backend, dtype, rng):
    case = GRID["stride2_pad1"]
    x, w, b, gy = case.arrays(dtype, rng)
    xs = np.asfortranarray(x)
    ws = np.repeat(w, 2, axis=0)[::2]
    gys = np.stack([gy, gy], axis=-1)[..., 0]
    assert not (xs.flags.c_contiguous or ws.flags.c_contiguous or gys.flags.c_contiguous)
    x_before = xs.copy()
    assert_close(faltung.depthwise_conv2d(xs, ws, b, *case.args()),
                 faltung.depthwise_conv2d(x, w, b, *case.args()).astype(np.float64),
                 dtype=dtype, kind="exact")
    for a, e in zip(faltung.depthwise_conv2d_backward(gys, xs, ws, *case.args()),
                    faltung.depthwise_conv2d_backward(gy, x, w, *case.args())):
        assert_close(a, e.astype(np.float64), dtype=dtype, kind="exact")
    assert np.array_equal(xs, x_before)


@pytest.mark.parametrize("name", ["k3", "wide_rows_k3", "stride2_pad1", "blocked_c19_batch2",
                                  "rows_stride1_57x58", "rows_stride2_113x115",
                                  "s2rows_c3_m2_w90_pad1", "d1rows_c2_m2_60x20",
                                  "d1rows_wgrad_112x5", "d1rows_wgrad_m2_pad0_125x6",
                                  "flat_c19_14x14_batch2", "flat_m2_same_17x13",
                                  "flat_four_rows_4x63", "flat_one_column_200x1",
                                  "s2wgrad_m3_same_115x7"])
def test_inf_and_nan_propagate_like_the_reference(backend, dtype, rng, name):
    """Inf/NaN in x reach exactly the outputs and weight gradients whose sums contain them (an
    Inf in the first column is met by taps k = 0, 1 but never by k = 2, whose gradient stays
    finite); float32 takes the C++'s channel-blocked tiles, float64 its rows."""
    case = GRID[name]
    x, w, b, gy = case.arrays(dtype, rng)
    x[0, 0, 2, 0] = np.inf
    x[0, -1, -1, -1] = np.nan
    y = faltung.depthwise_conv2d(x, w, b, *case.args())
    gx, gw, gb = faltung.depthwise_conv2d_backward(gy, x, w, *case.args())
    assert_close(y, ref.depthwise_conv2d(x, w, b, case.stride, case.pads(), case.dilation),
                 dtype=dtype, k=9, what="forward")
    ex, ew, eb = ref.depthwise_conv2d_backward(gy, x, w, case.stride, case.pads(), case.dilation)
    assert np.isfinite(ew).sum() > 0
    assert_close(gw, ew, dtype=dtype, k=gy.size, what="grad_weight")
    assert_close(gx, ex, dtype=dtype, k=9, what="grad_input")


@pytest.mark.parametrize("name", ["blocked_c19_batch2", "blocked_c35_m2_dilation2_asym",
                                  "blocked_c16_stride2_odd_same", "rows_wide_17x17",
                                  "rows_stride1_57x58", "s2rows_c3_m2_w90_pad1",
                                  "d1rows_asym_46x20", "flat_c19_14x14_batch2",
                                  "flat_m3_28x28"])
def test_fused_relu_on_both_forms(backend, dtype, rng, name):
    """conv2d(groups=C, activation="relu") on the channel-blocked, the row and the direct row
    forms."""
    case = GRID[name]
    x, w, b, _ = case.arrays(dtype, rng)
    y = faltung.conv2d(x, w, b, *case.args(), groups=case.c, activation="relu")
    expected = np.maximum(ref.depthwise_conv2d(x, w, b, case.stride, case.pads(),
                                               case.dilation), 0)
    assert_close(y, expected, dtype=dtype, k=case.kh * case.kw, what="forward + relu")


@pytest.mark.parametrize("name", ["blocked_c19_batch2", "blocked_c16_stride2_odd_same",
                                  "blocked_c35_m2_dilation2_asym", "rows_stride1_57x58",
                                  "s2rows_m3_w61_pad0", "d1rows_m3_pad0_62x16",
                                  "d1rows_wgrad_m2_pad0_125x6", "flat_c33_same_19x19_batch2",
                                  "flat_m2_same_17x13", "s2wgrad_c17_batch3_112x6",
                                  "s2wgrad_m2_pad0_113x9_batch2"])
def test_results_do_not_depend_on_the_thread_count(backend, dtype, rng, restore_threads, name):
    """Every pass splits its work so that no sum depends on the threads (the weight gradient:
    each thread owns whole channels or 16-channel blocks): 1, 2 and 3 threads agree exactly."""
    case = GRID[name]
    x, w, b, gy = case.arrays(dtype, rng)
    results = []
    for threads in (1, 2, 3):
        faltung.set_num_threads(threads)
        results.append((faltung.depthwise_conv2d(x, w, b, *case.args()),
                        *faltung.depthwise_conv2d_backward(gy, x, w, *case.args())))
    for other in results[1:]:
        for a, e in zip(other, results[0]):
            assert_close(a, e, dtype=dtype, kind="exact")


# ------------------------------------------------------------------------------ slow sweep

def random_case(rng) -> DwCase:
    kh, kw = (int(v) for v in rng.choice([1, 2, 3, 5], 2))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    padding = tuple(int(v) for v in rng.integers(0, 3, 4)) if rng.random() < 0.7 else "same"
    h = int(rng.integers((kh - 1) * dilation[0] + 1, 40))
    w = int(rng.integers((kw - 1) * dilation[1] + 1, 40))
    return DwCase(n=int(rng.integers(1, 3)), c=int(rng.integers(1, 5)), m=int(rng.integers(1, 4)),
                  h=h, w=w, kh=kh, kw=kw, stride=stride, padding=padding, dilation=dilation)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_random_sweep(backend, dtype, seed):
    rng = np.random.default_rng(7000 + seed)
    for _ in range(15):
        case = random_case(rng)
        try:
            check_forward(case, dtype, rng)
            check_backward(case, dtype, rng)
        except AssertionError as exc:
            raise AssertionError(f"{case}: {exc}") from exc
