"""conv_transpose2d and its backward against the reference (PyTorch's definition, scatter form),
and conv_transpose2d as the adjoint of conv2d."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, random_array


@dataclass(frozen=True)
class TCase:
    n: int = 1
    cin: int = 3
    h: int = 4
    w: int = 4
    cout: int = 4          # total output channels (weight is (cin, cout/groups, kh, kw))
    kh: int = 3
    kw: int = 3
    stride: object = 1
    padding: object = 0
    output_padding: object = 0
    groups: int = 1
    dilation: object = 1
    bias: bool = True

    def args(self):
        return (self.stride, self.padding, self.output_padding, self.groups, self.dilation)


GRID = {
    "k3": TCase(),
    "k1": TCase(kh=1, kw=1),
    "k2_stride2": TCase(kh=2, kw=2, stride=2),           # the classic 2x upsampling
    "k3_stride2_pad1": TCase(stride=2, padding=1),
    "k3_stride2_pad1_outpad1": TCase(stride=2, padding=1, output_padding=1),
    "k4_stride2_pad1": TCase(h=5, w=3, kh=4, kw=4, stride=2, padding=1),
    "k5_stride3_outpad2": TCase(kh=5, kw=5, stride=3, padding=2, output_padding=2),
    "stride_2x3_outpad": TCase(h=3, w=5, stride=(2, 3), padding=(1, 0), output_padding=(1, 2)),
    "k3x1": TCase(kh=3, kw=1, stride=(2, 1), padding=(1, 0)),
    "stride_gt_kernel": TCase(kh=2, kw=2, stride=3),
    "pad2": TCase(h=5, w=5, padding=2),
    "dilation2": TCase(dilation=2),
    "dilation2_stride2_pad2": TCase(dilation=2, stride=2, padding=2, output_padding=1),
    "dilation_2x1": TCase(dilation=(2, 1), padding=(1, 0)),
    # output_padding may reach max(stride, dilation) - 1, so it can exceed stride - 1 when
    # dilation > stride (PyTorch accepts this)
    "outpad_via_dilation": TCase(dilation=2, output_padding=1),
    "outpad_via_dilation_stride2": TCase(dilation=3, stride=2, output_padding=2, padding=1),
    "groups2": TCase(cin=4, cout=6, groups=2, stride=2),
    "groups_depthwise": TCase(cin=3, cout=3, groups=3, stride=2, padding=1, output_padding=1),
    "groups3_multiplier2": TCase(cin=3, cout=6, groups=3, kh=2, kw=2, stride=2),
    "channels_17": TCase(cin=17, cout=9, h=3, w=3),
    "channels_1": TCase(cin=1, cout=1, h=5, w=6, stride=2),
    "one_pixel": TCase(h=1, w=1, stride=2),
    "prime_7x5": TCase(h=7, w=5, cin=5, cout=7, stride=2, padding=1),
    "batch2": TCase(n=2, stride=2, padding=1),
    "no_bias": TCase(bias=False, stride=2),
}


def _arrays(case: TCase, dtype, rng):
    x = random_array(rng, (case.n, case.cin, case.h, case.w), dtype)
    w = random_array(rng, (case.cin, case.cout // case.groups, case.kh, case.kw), dtype)
    b = random_array(rng, (case.cout,), dtype) if case.bias else None
    return x, w, b


def _abs_forward(x, w, b, case: TCase):
    """The sums of |terms| of each output: the magnitude the rounding error scales with."""
    return ref.conv_transpose2d(np.abs(x), np.abs(w), None if b is None else np.abs(b),
                                *case.args())


def _out_shape(case: TCase):
    sh, sw = ref._pair(case.stride)
    ph, pw = ref._pair(case.padding)
    oph, opw = ref._pair(case.output_padding)
    dh, dw = ref._pair(case.dilation)
    return (case.n, case.cout, ref.conv_transpose_out_size(case.h, case.kh, sh, ph, oph, dh),
            ref.conv_transpose_out_size(case.w, case.kw, sw, pw, opw, dw))


@pytest.mark.parametrize("case", list(GRID.values()), ids=list(GRID))
def test_conv_transpose2d_grid(backend, dtype, rng, case):
    x, w, b = _arrays(case, dtype, rng)
    y = faltung.conv_transpose2d(x, w, b, *case.args())
    assert y.shape == _out_shape(case)
    assert_close(y, ref.conv_transpose2d(x, w, b, *case.args()), dtype=dtype,
                 k=case.cin // case.groups * case.kh * case.kw, scale=_abs_forward(x, w, b, case))


@pytest.mark.parametrize("case", list(GRID.values()), ids=list(GRID))
def test_conv_transpose2d_backward_grid(backend, dtype, rng, case):
    x, w, _ = _arrays(case, dtype, rng)
    gy = random_array(rng, _out_shape(case), dtype)
    got = faltung.conv_transpose2d_backward(gy, x, w, *case.args())
    expected = ref.conv_transpose2d_backward(gy, x, w, *case.args())
    scales = ref.conv_transpose2d_backward(np.abs(gy), np.abs(x), np.abs(w), *case.args())
    k_pix = gy.shape[0] * gy.shape[2] * gy.shape[3]
    for g, e, s, what in zip(got, expected, scales, ("grad_input", "grad_weight", "grad_bias")):
        assert_close(g, e, dtype=dtype, k=k_pix, scale=s, what=what)


def _random_tcase(rng):
    groups = int(rng.choice([1, 1, 2]))
    stride = tuple(int(v) for v in rng.integers(1, 4, 2))
    dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
    kh, kw = (int(v) for v in rng.integers(1, 5, 2))
    padding = tuple(int(v) for v in rng.integers(0, 3, 2))
    # output_padding < stride here; the dilation-driven range up to max(stride, dilation) - 1
    # has its own named grid entries (outpad_via_dilation*)
    output_padding = tuple(int(rng.integers(0, s)) for s in stride)
    h, w = (int(v) for v in rng.integers(1, 7, 2))
    case = TCase(n=int(rng.integers(1, 3)), cin=groups * int(rng.integers(1, 4)), h=h, w=w,
                 cout=groups * int(rng.integers(1, 4)), kh=kh, kw=kw, stride=stride,
                 padding=padding, output_padding=output_padding, groups=groups,
                 dilation=dilation, bias=bool(rng.integers(0, 2)))
    return case if min(_out_shape(case)[2:]) >= 1 else None


@pytest.mark.parametrize("seed", range(4))
def test_conv_transpose2d_random(backend, dtype, seed):
    rng = np.random.default_rng(3000 + seed)
    done = 0
    while done < 4:
        case = _random_tcase(rng)
        if case is None:
            continue
        done += 1
        x, w, b = _arrays(case, dtype, rng)
        gy = random_array(rng, _out_shape(case), dtype)
        try:
            assert_close(faltung.conv_transpose2d(x, w, b, *case.args()),
                         ref.conv_transpose2d(x, w, b, *case.args()), dtype=dtype,
                         scale=_abs_forward(x, w, b, case), what="forward")
            got = faltung.conv_transpose2d_backward(gy, x, w, *case.args())
            expected = ref.conv_transpose2d_backward(gy, x, w, *case.args())
            scales = ref.conv_transpose2d_backward(np.abs(gy), np.abs(x), np.abs(w), *case.args())
            for g, e, s, what in zip(got, expected, scales,
                                     ("grad_input", "grad_weight", "grad_bias")):
                assert_close(g, e, dtype=dtype, scale=s, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{case}: {exc}") from None


# ----------------------------------------------------------------------- adjoint of conv2d

@pytest.mark.parametrize("h, w, k, stride, padding, dilation, groups", [
    (7, 7, 3, 1, 0, 1, 1), (7, 8, 3, 2, 1, 1, 1), (8, 8, 3, 2, 1, 1, 1), (10, 9, 4, 3, 1, 1, 2),
    (9, 9, 3, 2, 2, 2, 1), (6, 6, 1, 2, 0, 1, 3), (11, 10, 5, 3, 2, 1, 3), (5, 5, 2, 2, 0, 1, 1)])
def test_transpose_is_conv2d_input_gradient(backend, dtype, rng, h, w, k, stride, padding,
                                            dilation, groups):
    """conv_transpose2d(y, W) with the conv's weight W equals conv2d_backward's grad_input:
    output_padding = the rows/cols the strided conv never reached."""
    c, o = 2 * groups, 3 * groups
    x = random_array(rng, (2, c, h, w), dtype)
    wt = random_array(rng, (o, c // groups, k, k), dtype)
    conv_y_shape = faltung.conv2d(x, wt, None, stride, padding, dilation, groups).shape
    y = random_array(rng, conv_y_shape, dtype)
    gx, _, _ = faltung.conv2d_backward(y, x, wt, stride, padding, dilation, groups,
                                       needs_input_grad=(True, False, False))
    full = (conv_y_shape[2] - 1) * stride - 2 * padding + dilation * (k - 1) + 1
    op = (h - full, w - (conv_y_shape[3] - 1) * stride + 2 * padding - dilation * (k - 1) - 1)
    yt = faltung.conv_transpose2d(y, wt, None, stride, padding, op, groups, dilation)
    expected = ref.conv2d_backward(y, x, wt, stride, padding, dilation, groups)[0]
    assert_close(gx, expected, dtype=dtype, what="conv2d_backward grad_input")
    assert_close(yt, expected, dtype=dtype, what="conv_transpose2d")


@pytest.mark.parametrize("name", ["k3", "k3_stride2_pad1_outpad1", "k5_stride3_outpad2",
                                  "dilation2_stride2_pad2", "groups3_multiplier2",
                                  "outpad_via_dilation"])
def test_adjoint_transpose(backend, rng, name):
    """<convT(x), y> = <x, convT_backward_input(y)> and the same for the weight (float64)."""
    case = GRID[name]
    x, w, _ = _arrays(case, np.float64, rng)
    y = rng.standard_normal(_out_shape(case))
    lhs = faltung.conv_transpose2d(x, w, None, *case.args()) * y
    gx, gw, gb = faltung.conv_transpose2d_backward(y, x, w, *case.args())
    for terms in (x * gx, w * gw):
        assert_close(terms.sum(), lhs.sum(), dtype=np.float64, kind="scalar",
                     scale=np.abs(lhs).sum() + np.abs(terms).sum())
    assert_close(gb, y.sum(axis=(0, 2, 3)), dtype=np.float64)


def test_transpose_finite_differences(backend, rng):
    case = TCase(n=1, cin=2, h=3, w=2, cout=2, kh=2, kw=3, stride=2, padding=1, output_padding=1)
    x, w, b = _arrays(case, np.float64, rng)
    gy = rng.standard_normal(_out_shape(case))
    analytic = faltung.conv_transpose2d_backward(gy, x, w, *case.args())
    h = 1e-4
    for which, (arr, grad) in enumerate(zip((x, w, b), analytic)):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            vals = []
            for sign in (1, -1):
                args = [x, w, b]
                args[which] = arr.copy()
                args[which][idx] += sign * h
                vals.append((gy * faltung.conv_transpose2d(*args, *case.args())).sum())
            numeric[idx] = (vals[0] - vals[1]) / (2 * h)
        assert_close(grad, numeric, dtype=np.float64, kind="fd")


# ---------------------------------------------------------------------------- API behaviour

def test_transpose_out_and_inputs_untouched(backend, dtype, rng):
    case = GRID["k3_stride2_pad1_outpad1"]
    x, w, b = _arrays(case, dtype, rng)
    copies = [a.copy() for a in (x, w, b)]
    out = np.full(_out_shape(case), np.nan, dtype)
    y = faltung.conv_transpose2d(x, w, b, *case.args(), out=out)
    assert y is out
    assert_close(out, ref.conv_transpose2d(x, w, b, *case.args()), dtype=dtype)
    gy = random_array(rng, _out_shape(case), dtype)
    gy_copy = gy.copy()
    outs = (np.full(x.shape, np.nan, dtype), np.full(w.shape, np.nan, dtype),
            np.full(b.shape, np.nan, dtype))
    got = faltung.conv_transpose2d_backward(gy, x, w, *case.args(), out=outs)
    assert all(g is o for g, o in zip(got, outs))
    for g, e in zip(got, ref.conv_transpose2d_backward(gy, x, w, *case.args())):
        assert_close(g, e, dtype=dtype)
    for a, before in zip((x, w, b, gy), copies + [gy_copy]):
        assert_close(a, before, dtype=dtype, kind="exact")


@pytest.mark.parametrize("mask", [(True, False, False), (False, True, False),
                                  (False, False, True), (False, False, False)])
def test_transpose_needs_input_grad(backend, rng, mask):
    case = GRID["k3_stride2_pad1"]
    x, w, _ = _arrays(case, np.float64, rng)
    gy = rng.standard_normal(_out_shape(case))
    got = faltung.conv_transpose2d_backward(gy, x, w, *case.args(), needs_input_grad=mask)
    expected = ref.conv_transpose2d_backward(gy, x, w, *case.args())
    for wanted, g, e in zip(mask, got, expected):
        if wanted:
            assert_close(g, e, dtype=np.float64)
        else:
            assert g is None


def test_transpose_noncontiguous(backend, dtype, rng):
    case = GRID["groups2"]
    x, w, b = _arrays(case, dtype, rng)
    xv = np.asfortranarray(x)
    wv = np.ascontiguousarray(w.transpose(1, 0, 3, 2)).transpose(1, 0, 3, 2)
    assert not xv.flags.c_contiguous and not wv.flags.c_contiguous
    assert_close(faltung.conv_transpose2d(xv, wv, b, *case.args()),
                 ref.conv_transpose2d(x, w, b, *case.args()), dtype=dtype)
