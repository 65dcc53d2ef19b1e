"""conv2d (and convolve2d) forward against the float64 reference: a named edge-case grid, seeded
random configurations, out=, untouched inputs, non-contiguous inputs, NaN/Inf."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, random_array


@dataclass(frozen=True)
class Case:
    n: int = 1
    c: int = 3
    h: int = 7
    w: int = 7
    o: int = 4
    kh: int = 3
    kw: int = 3
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: int = 1
    bias: bool = True

    def pads(self):
        return ref.api_pads(self.padding, self.h, self.w, self.kh, self.kw, self.stride,
                            self.dilation)

    @property
    def k(self):  # length of each output's reduction
        return (self.c // self.groups) * self.kh * self.kw


# the named edge-case grid (DESIGN.md §4): each id says what it exercises
GRID = {
    # kernel sizes
    "k1_pointwise": Case(kh=1, kw=1),
    "k1_stride2": Case(kh=1, kw=1, stride=2),
    "k1_pad1": Case(kh=1, kw=1, padding=1),
    "k3": Case(),
    "k5": Case(h=9, w=9, kh=5, kw=5),
    "k5_pad2": Case(h=9, w=8, kh=5, kw=5, padding=2),
    "k3x1": Case(kh=3, kw=1),
    "k1x3": Case(kh=1, kw=3),
    "k3x1_pad_pair": Case(kh=3, kw=1, padding=(1, 0)),
    "k2_even": Case(h=6, w=6, kh=2, kw=2),
    "k_equals_input": Case(h=5, w=5, kh=5, kw=5),
    "k11_stride4_alexnet": Case(h=35, w=35, c=3, o=8, kh=11, kw=11, stride=4),
    "k7_stride2_pad3_resnet": Case(h=20, w=19, c=3, o=8, kh=7, kw=7, stride=2, padding=3),
    "k_larger_than_input_padded": Case(h=3, w=3, kh=5, kw=5, padding=1),
    # strides
    "stride2": Case(h=9, w=9, stride=2),
    "stride3": Case(h=11, w=11, stride=3),
    "stride3_remainder": Case(h=10, w=12, stride=3, padding=1),
    "stride_2x3": Case(h=9, w=11, stride=(2, 3)),
    "stride_gt_kernel": Case(h=9, w=9, kh=2, kw=2, stride=3),
    # padding
    "pad1": Case(padding=1),
    "pad2": Case(padding=2),
    "pad_pair": Case(padding=(1, 2)),
    "pad_asym_torch4": Case(padding=(0, 1, 2, 3)),       # (left, right, top, bottom)
    "pad_asym_keras": Case(padding=((2, 0), (1, 0))),    # ((top, bottom), (left, right))
    "pad_asym_stride2": Case(h=8, w=9, padding=(1, 0, 0, 2), stride=2),
    "pad_larger_than_kernel": Case(h=4, w=4, padding=3),
    "valid": Case(padding="valid"),
    "same_k3": Case(padding="same"),
    "same_k5": Case(h=8, w=8, kh=5, kw=5, padding="same"),
    "same_k4_even": Case(h=7, w=6, kh=4, kw=4, padding="same"),   # odd pixel at the end
    "same_k2x3": Case(kh=2, kw=3, padding="same"),
    "same_stride2_even": Case(h=8, w=8, stride=2, padding="same"),  # out = ceil(8/2) = 4
    "same_stride2_odd": Case(h=7, w=9, stride=2, padding="same"),   # out = 4, 5
    "same_stride3": Case(h=10, w=11, kh=5, kw=5, stride=3, padding="same"),
    "same_stride2_k1": Case(h=7, w=7, kh=1, kw=1, stride=2, padding="same"),
    "same_stride_gt_kernel": Case(h=9, w=9, kh=2, kw=2, stride=3, padding="same"),
    "same_dilation2": Case(h=9, w=9, dilation=2, padding="same"),
    "same_dilation2_stride2": Case(h=9, w=10, dilation=2, stride=2, padding="same"),
    # dilation
    "dilation2": Case(h=9, w=9, dilation=2),
    "dilation2_pad2": Case(h=7, w=7, dilation=2, padding=2),
    "dilation_1x2": Case(h=7, w=9, dilation=(1, 2)),
    "dilation2_stride2": Case(h=11, w=11, dilation=2, stride=2, padding=1),
    # odd and prime sizes
    "prime_13x17": Case(h=13, w=17, c=5, o=7),
    "prime_stride2": Case(h=17, w=13, stride=2, padding=1),
    "height1": Case(h=1, w=11, kh=1, kw=3),
    "width1": Case(h=11, w=1, kh=3, kw=1, padding=(1, 0)),
    "one_pixel": Case(h=1, w=1, kh=1, kw=1),
    "one_pixel_pad1_k3": Case(h=1, w=1, padding=1),
    # channels around GEMM tile sizes (both the reduction side c and the row side o)
    **{f"channels_{c}": Case(h=6, w=6, c=c, o=c) for c in (1, 7, 8, 9, 15, 16, 17, 31, 33)},
    "c1_o1": Case(c=1, o=1),
    "c3_o1": Case(c=3, o=1),
    "c1_o8": Case(c=1, o=8),
    "o_tile_edges": Case(h=5, w=5, c=2, o=23),
    "pixels_tile_edge": Case(h=4, w=17, c=2, o=5),
    # groups
    "groups2": Case(c=4, o=6, groups=2),
    "groups3_stride2": Case(h=9, w=9, c=6, o=9, groups=3, stride=2, padding=1),
    "depthwise": Case(c=5, o=5, groups=5, padding=1),
    "depthwise_multiplier2": Case(c=3, o=6, groups=3, padding=1),
    "depthwise_k5_stride2": Case(h=10, w=10, c=4, o=4, kh=5, kw=5, groups=4, stride=2, padding=2),
    "depthwise_dilation2": Case(h=9, w=9, c=3, o=3, groups=3, dilation=2, padding="same"),
    "groups_pointwise": Case(kh=1, kw=1, c=8, o=4, groups=4),
    # batch and bias
    "batch2": Case(n=2),
    "batch2_groups2_pad": Case(n=2, c=4, o=4, groups=2, padding=(1, 0, 0, 1)),
    "batch3_pointwise": Case(n=3, kh=1, kw=1, c=5, o=6),
    "no_bias": Case(bias=False),
    "no_bias_depthwise": Case(c=3, o=3, groups=3, bias=False),
    "no_bias_batch2_stride2": Case(n=2, h=8, w=8, stride=2, bias=False),
}


def _run(case: Case, dtype, rng, fn=faltung.conv2d, ref_fn=ref.conv2d):
    x = random_array(rng, (case.n, case.c, case.h, case.w), dtype)
    w = random_array(rng, (case.o, case.c // case.groups, case.kh, case.kw), dtype)
    b = random_array(rng, (case.o,), dtype) if case.bias else None
    y = fn(x, w, b, case.stride, case.padding, case.dilation, case.groups)
    expected = ref_fn(x, w, b, case.stride, case.pads(), case.dilation, case.groups)
    scale = ref_fn(np.abs(x), np.abs(w), None if b is None else np.abs(b), case.stride,
                   case.pads(), case.dilation, case.groups)
    assert_close(y, expected, dtype=dtype, k=case.k, scale=scale)
    return y


@pytest.mark.parametrize("case", list(GRID.values()), ids=list(GRID))
def test_conv2d_grid(backend, dtype, rng, case):
    _run(case, dtype, rng)


@pytest.mark.parametrize("name", ["k3", "k2_even", "pad_asym_torch4", "same_stride2_odd",
                                  "dilation_1x2", "groups2", "depthwise_multiplier2",
                                  "channels_17"])
def test_convolve2d_grid(backend, dtype, rng, name):
    """The true convolution (kernel flipped) on a subset of the grid."""
    _run(GRID[name], dtype, rng, faltung.convolve2d, ref.convolve2d)


@pytest.mark.parametrize("h, w, kh, kw, stride, dilation", [
    (7, 7, 3, 3, 1, 1), (8, 8, 3, 3, 2, 1), (7, 8, 3, 3, 2, 1), (6, 6, 1, 1, 2, 1),
    (9, 9, 2, 2, 3, 1), (10, 11, 4, 5, 3, 1), (5, 5, 3, 3, 4, 1), (3, 3, 5, 5, 2, 1),
    (9, 9, 3, 3, 2, 2), (7, 7, 4, 4, 1, 1), (1, 1, 3, 3, 2, 1)])
def test_same_padding_output_size(backend, h, w, kh, kw, stride, dilation):
    """'same' gives out = ceil(in / stride) whatever the kernel (TensorFlow's rule)."""
    x = np.ones((1, 1, h, w))
    y = faltung.conv2d(x, np.ones((1, 1, kh, kw)), stride=stride, padding="same",
                       dilation=dilation)
    assert y.shape == (1, 1, -(-h // stride), -(-w // stride))


def test_same_padding_odd_pixel_at_the_end(backend, dtype):
    """A 2x2 kernel of ones with stride 1: the one padding pixel goes to the bottom/right, so
    the last row/column of the output sums only what is inside (PyTorch's 'same' agrees)."""
    x = np.arange(1, 10, dtype=dtype).reshape(1, 1, 3, 3)
    y = faltung.conv2d(x, np.ones((1, 1, 2, 2), dtype), padding="same")
    # [[1,2,3],[4,5,6],[7,8,9]] padded at the bottom and right only
    assert_close(y, np.array([[12, 16, 9], [24, 28, 15], [15, 17, 9]], float)[None, None],
                 dtype=dtype, kind="exact")


# ------------------------------------------------------------------------ random configurations

def random_case(rng, small=True) -> Case:
    groups = int(rng.choice([1, 1, 2, 3]))
    c = groups * int(rng.integers(1, 4 if small else 9))
    o = groups * int(rng.integers(1, 4 if small else 9))
    kh, kw = (int(v) for v in rng.integers(1, 5 if small else 7, 2))
    stride = tuple(int(v) for v in rng.integers(1, 4, 2))
    dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
    style = int(rng.integers(0, 4))
    if style == 0:
        padding = int(rng.integers(0, 3))
    elif style == 1:
        padding = tuple(int(v) for v in rng.integers(0, 3, 4))
    elif style == 2:
        padding = "same"
    else:
        padding = "valid"
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    h = eh + int(rng.integers(0, 8 if small else 20))
    w = ew + int(rng.integers(0, 8 if small else 20))
    n = int(rng.integers(1, 3))
    return Case(n=n, c=c, h=h, w=w, o=o, kh=kh, kw=kw, stride=stride, padding=padding,
                dilation=dilation, groups=groups, bias=bool(rng.integers(0, 2)))


@pytest.mark.parametrize("seed", range(6))
def test_conv2d_random(backend, dtype, seed):
    rng = np.random.default_rng(1000 + seed)
    for _ in range(4):
        case = random_case(rng)
        try:
            _run(case, dtype, rng)
        except AssertionError as exc:
            raise AssertionError(f"{case}: {exc}") from None


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20))
def test_conv2d_random_sweep(backend, dtype, seed):
    rng = np.random.default_rng(5000 + seed)
    for _ in range(15):
        case = random_case(rng, small=False)
        try:
            _run(case, dtype, rng)
        except AssertionError as exc:
            raise AssertionError(f"{case}: {exc}") from None


@pytest.mark.slow
@pytest.mark.parametrize("c", [7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65])
def test_conv2d_channels_sweep(backend, dtype, rng, c):
    """Larger channel counts and images past the GEMM's cache blocks."""
    _run(Case(n=2, c=c, o=c + 3, h=19, w=23, padding=1), dtype, rng)
    _run(Case(n=1, c=c, o=2 * c, h=12, w=12, kh=1, kw=1), dtype, rng)


@pytest.mark.slow
def test_conv2d_realistic_layer(backend, dtype, rng):
    """A VGG-like layer large enough for every blocking level of the GEMM."""
    _run(Case(n=2, c=64, o=96, h=28, w=28, padding=1), dtype, rng)


@pytest.mark.parametrize("threads", [1, 2])
def test_conv2d_weight_packed_in_pieces(backend, dtype, rng, threads, restore_threads):
    """The threads pack the weight in pieces of whole panels: here one 8-row panel of
    K = 2160 each, the last of three panels partly filled."""
    faltung.set_num_threads(threads)
    _run(Case(n=2, c=240, o=20, h=6, w=5, padding=1), dtype, rng)


# Gathered tiles cut at panel edges, as many per thread (performance.md entry 31): 29 images of
# 9 x 7 are 1827 columns (57 full 32-wide panels and 3 columns), 4 tiles, 6 at three threads;
# 24 output channels per group make the forward gather (2 of 9 padded columns dropped).
GATHERED_TILES = Case(n=29, c=48, o=48, h=9, w=7, padding=1, groups=2)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_conv2d_gathered_tiles_over_threads(backend, dtype, rng, threads, restore_threads):
    faltung.set_num_threads(threads)
    _run(GATHERED_TILES, dtype, rng)


# ----------------------------------------------------------------------------- API behaviour

def test_result_dtype_and_new_array(backend, dtype, rng):
    x = random_array(rng, (1, 2, 5, 5), dtype)
    w = random_array(rng, (3, 2, 3, 3), dtype)
    y = faltung.conv2d(x, w)
    assert isinstance(y, np.ndarray) and y.dtype == dtype and y.shape == (1, 3, 3, 3)
    assert not np.shares_memory(y, x) and not np.shares_memory(y, w)
    # pointwise conv may be a plain GEMM on the input: still a new array
    y1 = faltung.conv2d(x, random_array(rng, (2, 2, 1, 1), dtype))
    assert not np.shares_memory(y1, x)


@pytest.mark.parametrize("fn, ref_fn", [(faltung.conv2d, ref.conv2d),
                                        (faltung.convolve2d, ref.convolve2d)],
                         ids=["conv2d", "convolve2d"])
def test_out_is_filled_and_returned(backend, dtype, rng, fn, ref_fn):
    x = random_array(rng, (2, 3, 6, 7), dtype)
    w = random_array(rng, (4, 3, 3, 3), dtype)
    b = random_array(rng, (4,), dtype)
    out = np.full((2, 4, 4, 4), np.nan, dtype)  # garbage must be overwritten, never read
    y = fn(x, w, b, stride=(1, 2), padding=(0, 1), out=out)
    assert y is out
    assert_close(out, ref_fn(x, w, b, (1, 2), (0, 0, 1, 1)), dtype=dtype, k=27)
    # and again, without bias, into the same buffer
    y = fn(x, w, None, stride=(1, 2), padding=(0, 1), out=out)
    assert y is out
    assert_close(out, ref_fn(x, w, None, (1, 2), (0, 0, 1, 1)), dtype=dtype, k=27)


def test_out_pointwise(backend, dtype, rng):
    x = random_array(rng, (2, 5, 4, 3), dtype)
    w = random_array(rng, (6, 5, 1, 1), dtype)
    out = np.full((2, 6, 4, 3), np.inf, dtype)
    assert faltung.conv2d(x, w, out=out) is out
    assert_close(out, ref.conv2d(x, w), dtype=dtype)


@pytest.mark.parametrize("name", ["k3", "k1_pointwise", "depthwise", "same_stride2_odd",
                                  "batch2_groups2_pad"])
def test_inputs_not_modified(backend, dtype, rng, name):
    case = GRID[name]
    x = random_array(rng, (case.n, case.c, case.h, case.w), dtype)
    w = random_array(rng, (case.o, case.c // case.groups, case.kh, case.kw), dtype)
    b = random_array(rng, (case.o,), dtype)
    copies = [a.copy() for a in (x, w, b)]
    faltung.conv2d(x, w, b, case.stride, case.padding, case.dilation, case.groups)
    faltung.convolve2d(x, w, b, case.stride, case.padding, case.dilation, case.groups)
    for a, before in zip((x, w, b), copies):
        assert_close(a, before, dtype=dtype, kind="exact")


def _noncontiguous_views(rng, shape, dtype):
    """Views with the values of a C-contiguous array of `shape`, but not C-contiguous."""
    n, c, h, w = shape
    base = random_array(rng, (n, c, h, w), dtype)
    yield "transposed_hw", np.ascontiguousarray(base.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    yield "channels_last", np.ascontiguousarray(base.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    big = random_array(rng, (n, 2 * c, 2 * h + 1, 3 * w), dtype)
    yield "step_slices", big[:, ::2, 1::2, ::3]
    yield "reversed", random_array(rng, shape, dtype)[:, :, ::-1, ::-1]
    yield "fortran", np.asfortranarray(base)


def test_noncontiguous_inputs(backend, dtype, rng):
    shape_x, shape_w = (2, 3, 6, 5), (4, 3, 3, 2)
    for (name_x, x), (name_w, w) in zip(_noncontiguous_views(rng, shape_x, dtype),
                                        _noncontiguous_views(rng, shape_w, dtype)):
        assert not x.flags.c_contiguous and not w.flags.c_contiguous
        b_full = random_array(rng, (8,), dtype)
        b = b_full[::2]
        for args in [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=(2, 1))]:
            y = faltung.conv2d(x, w, b, **args)
            y_contig = faltung.conv2d(np.ascontiguousarray(x), np.ascontiguousarray(w),
                                      np.ascontiguousarray(b), **args)
            pads = ref.api_pads(args.get("padding", 0), 6, 5, 3, 2, args.get("stride", 1),
                                args.get("dilation", 1))
            expected = ref.conv2d(x, w, b, args.get("stride", 1), pads, args.get("dilation", 1))
            label = f"x {name_x}, w {name_w}, {args}"
            assert_close(y, expected, dtype=dtype, what=label)
            assert_close(y, y_contig.astype(np.float64), dtype=dtype, what=label)


def test_noncontiguous_pointwise(backend, dtype, rng):
    """1x1 convolutions may skip im2col and read x directly: views must still be read right."""
    base = random_array(rng, (2, 6, 5, 8), dtype)
    x = base[:, ::2, :, ::2]           # (2, 3, 5, 4)
    w = random_array(rng, (5, 3, 1, 1), dtype)[::-1]
    assert_close(faltung.conv2d(x, w), ref.conv2d(x, w), dtype=dtype)


def test_nan_and_inf_propagate(backend, dtype, rng):
    """NaN and Inf are data: they reach exactly the outputs whose windows contain them. Weights
    are positive, so an Inf cannot meet a -Inf, and padded zeros never meet an Inf."""
    x = random_array(rng, (1, 2, 8, 8), dtype)
    x[0, 0, 1, 1] = np.nan
    x[0, 1, 5, 6] = np.inf
    x[0, 0, 7, 0] = -np.inf
    w = rng.uniform(0.5, 1.5, (3, 2, 3, 3)).astype(dtype)
    b = random_array(rng, (3,), dtype)
    for args in [dict(), dict(padding=1), dict(stride=2, padding="same")]:
        y = faltung.conv2d(x, w, b, **args)
        expected = ref.conv2d(x, w, b, args.get("stride", 1),
                              ref.api_pads(args.get("padding", 0), 8, 8, 3, 3,
                                           args.get("stride", 1)))
        assert np.isnan(expected).any() and np.isinf(expected).any() and np.isfinite(expected).any()
        assert_close(y, expected, dtype=dtype, what=str(args))


@pytest.mark.parametrize("n", [2, 16])  # 16: the direct path (a NaN times padding is NaN too)
def test_nan_in_weight_propagates(backend, dtype, rng, n):
    x = random_array(rng, (n, 2, 5, 5), dtype)
    w = random_array(rng, (3, 2, 3, 3), dtype)
    w[1, 0, 2, 2] = np.nan
    y = faltung.conv2d(x, w, padding=1)
    expected = ref.conv2d(x, w, pads=1)
    assert np.isnan(expected[:, 1]).all() and not np.isnan(expected[:, [0, 2]]).any()
    assert_close(y, expected, dtype=dtype)


def test_nan_in_bias_propagates(backend, dtype, rng):
    x = random_array(rng, (1, 2, 4, 4), dtype)
    w = random_array(rng, (3, 2, 3, 3), dtype)
    b = np.array([0.5, np.nan, -1.0], dtype)
    y = faltung.conv2d(x, w, b)
    assert np.isnan(y[:, 1]).all() and np.isfinite(y[:, [0, 2]]).all()


def test_integer_numpy_scalars_as_arguments(backend, rng):
    """np.int64 strides/paddings (e.g. from shape arithmetic) are ints like any other."""
    x = random_array(rng, (1, 2, 7, 7), np.float64)
    w = random_array(rng, (2, 2, 3, 3), np.float64)
    y = faltung.conv2d(x, w, stride=np.int64(2), padding=(np.int64(1), np.int32(0)),
                       dilation=np.int64(1), groups=np.int64(1))
    assert_close(y, ref.conv2d(x, w, stride=2, pads=(1, 1, 0, 0)), dtype=np.float64)


# ------------------------------------------------------------------------ fused ReLU epilogue

RELU_CASES = ["k1_pointwise", "k3", "k5_pad2", "stride2", "k7_stride2_pad3_resnet",
              "dilation2", "groups2", "batch2_groups2_pad", "depthwise_multiplier2"]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("name", RELU_CASES)
def test_fused_relu_epilogue(backend, dtype, rng, name, bias):
    case = replace(GRID[name], bias=bias)
    x = random_array(rng, (case.n, case.c, case.h, case.w), dtype)
    w = random_array(rng, (case.o, case.c // case.groups, case.kh, case.kw), dtype)
    b = random_array(rng, (case.o,), dtype) if case.bias else None
    expected = np.maximum(ref.conv2d(x, w, b, case.stride, case.pads(), case.dilation,
                                     case.groups), 0)
    y = faltung.conv2d(x, w, b, case.stride, case.padding, case.dilation, case.groups,
                       activation="relu")
    assert_close(y, expected, dtype=dtype, k=case.k)


@pytest.mark.parametrize("shape", [(2, 64, 6, 6, 96), (1, 4, 40, 40, 8)],
                         ids=["gathered_small_image", "indirect_wide_image"])
def test_fused_relu_both_forward_variants(backend, rng, shape):
    """Small images with many channels take the gathered variant, wide ones the in-place one."""
    n, c, size, _, o = shape
    x = random_array(rng, (n, c, size, size), np.float32)
    w = random_array(rng, (o, c, 3, 3), np.float32)
    b = random_array(rng, (o,), np.float32)
    y = faltung.conv2d(x, w, b, padding=1, activation="relu")
    expected = np.maximum(ref.conv2d(x, w, b, 1, ref.api_pads(1, size, size, 3, 3)), 0)
    assert_close(y, expected, dtype=np.float32, k=9 * c)


def test_fused_relu_keeps_nan(backend):
    x = np.ones((1, 1, 3, 3))
    x[0, 0, 1, 1] = np.nan
    y = faltung.conv2d(x, -np.ones((1, 1, 1, 1)), activation="relu")
    assert np.isnan(y[0, 0, 1, 1]) and (y[0, 0][~np.isnan(y[0, 0])] == 0).all()


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match=r"activation: expected None or 'relu', got 'gelu'"):
        faltung.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 1, 1)), activation="gelu")
