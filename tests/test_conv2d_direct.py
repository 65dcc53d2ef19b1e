"""conv2d and conv2d_backward on the shapes that take the direct convolution (cpp/cpu/
conv2d_direct.hpp: float32 on AVX-512, at most 16 output channels, a batch that leaves at most
1/9 of its 16-image blocks empty; for the forward, an output block of at most 1 MiB) and on
their neighbours that do not, in both dtypes and both backends, against the float64 reference."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, random_array
from tests.test_conv2d import Case, _run
from tests.test_conv2d_backward import _check_backward

CASES = {
    # LeNet-5's layers (the stride-1 input gradients are forward convolutions with 16 -> 6 and
    # 6 -> 1 channels)
    "lenet_c1": Case(n=64, c=1, o=6, h=32, w=32, kh=5, kw=5),
    "lenet_c3": Case(n=64, c=6, o=16, h=14, w=14, kh=5, kw=5),
    # the thresholds: 16 output channels (direct), 17 (the GEMM paths);
    # one output channel; 8 and 9 (one or two register tile rows)
    "o16": Case(n=16, c=3, o=16, h=9, w=9),
    "o17": Case(n=16, c=3, o=17, h=9, w=9),
    "o15": Case(n=16, c=2, o=15, h=8, w=7),
    "o1": Case(n=16, c=4, o=1, h=6, w=11),
    "o8": Case(n=16, c=5, o=8, h=7, w=7, padding=1),
    "o9": Case(n=16, c=5, o=9, h=7, w=7, padding=1),
    # batches: 30 = 16 + 14 (a part-filled block), 20 (too empty: the GEMM paths), 48
    "batch30": Case(n=30, c=2, o=6, h=10, w=10, kh=5, kw=5, padding=2),
    "batch20": Case(n=20, c=2, o=6, h=10, w=10, kh=5, kw=5, padding=2),
    "batch48_pointwise": Case(n=48, c=7, o=5, h=5, w=9, kh=1, kw=1),
    # odd sizes, asymmetric padding, stride, dilation, kernels larger than the image
    "odd_pad_asym": Case(n=16, c=3, o=7, h=11, w=13, kh=3, kw=5, padding=(0, 1, 2, 3)),
    "stride2_same": Case(n=16, c=3, o=6, h=13, w=12, kh=5, kw=5, stride=2, padding="same"),
    "stride_2x3": Case(n=16, c=2, o=4, h=11, w=14, stride=(2, 3), padding=1),
    "dilation2": Case(n=16, c=3, o=5, h=12, w=10, dilation=2, padding=2),
    "kernel_over_padded_edge": Case(n=16, c=2, o=3, h=3, w=4, kh=5, kw=5, padding=2),
    "pad_larger_than_kernel": Case(n=16, c=2, o=3, h=4, w=4, padding=3),
    "one_pixel_out": Case(n=16, c=16, o=6, h=5, w=5, kh=5, kw=5),
    "wide_rows": Case(n=16, c=1, o=6, h=3, w=70, kh=3, kw=3, padding=1),
    "no_bias": Case(n=16, c=3, o=6, h=8, w=8, bias=False),
    # the forward's output block: 16 x 16 x 1024 floats = 1 MiB (direct), 1056 pixels (GEMM)
    "out_block_1mib": Case(n=16, c=1, o=16, h=32, w=32, padding=1),
    "out_block_over": Case(n=16, c=1, o=16, h=32, w=33, padding=1),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_forward(backend, dtype, rng, case):
    _run(case, dtype, rng)


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_backward(backend, dtype, rng, case):
    _check_backward(case, dtype, rng)


def test_relu_epilogue(backend, dtype, rng):
    x = random_array(rng, (32, 6, 14, 14), dtype)
    w = random_array(rng, (16, 6, 5, 5), dtype)
    b = random_array(rng, (16,), dtype)
    y = faltung.conv2d(x, w, b, activation="relu")
    expected = np.maximum(ref.conv2d(x, w, b), 0.0)
    scale = ref.conv2d(np.abs(x), np.abs(w), np.abs(b))
    assert_close(y, expected, dtype=dtype, k=150, scale=scale)


def test_nan_inf_reach_only_their_images(backend, dtype, rng):
    """Each image is one lane of a vector: its NaN or Inf must not reach another image."""
    x = random_array(rng, (17 + 15, 2, 8, 8), dtype)
    x[3, 0, 1, 1] = np.nan
    x[20, 1, 5, 6] = np.inf
    w = rng.uniform(0.5, 1.5, (6, 2, 3, 3)).astype(dtype)
    y = faltung.conv2d(x, w, padding=1)
    expected = ref.conv2d(x, w, pads=1)
    assert np.isnan(expected[3]).any() and np.isinf(expected[20]).any()
    assert_close(y, expected, dtype=dtype)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads(dtype, rng, restore_threads, threads):
    """Blocks of 16 images spread over the threads (the weight gradient adds their sums)."""
    faltung.set_num_threads(threads)
    case = Case(n=64, c=3, o=6, h=9, w=9, kh=5, kw=5, padding=1)
    _run(case, dtype, rng)
    _check_backward(case, dtype, rng)
