"""conv2d forward and backward on shapes chosen to take each way the compiled kernels cut their
work (cpp/cpu/conv2d.cpp), at one and two threads, against the float64 reference:

- several tiles per image and several K blocks of the GEMM (an image wider than a tile, im2col
  rows past one K block), the input read in place from a padded copy (wide images);
- small images gathered side by side into one tile, the batch not a multiple of a tile's images
  (choose_forward picks gathering for them by a wide margin);
- too few tiles for the threads: an item cut along M (forward), along input channels (input
  gradient) or along dW's columns (weight gradient); dW too narrow to share: private partials;
- few output channels: the weight gradient with the taps along the vectors (gathered);
- pointwise layers, direct (one image per tile) and batched; groups; edge panels (sizes that are
  no multiple of the register tile); the gathered forward's weight read in place over two K
  blocks, per group; more than four gather runs sharing a vector (output rows two pixels wide,
  kernel rows three taps wide).
"""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, random_array

# (n, c, o, size, kernel, stride, padding, groups)
SHAPES = {
    "tiles_and_k_blocks": (2, 40, 24, 37, 3, 1, 1, 1),
    "batched_small_images": (13, 20, 64, 7, 3, 1, 1, 1),
    "one_small_image_m_parts": (1, 48, 72, 6, 3, 1, 1, 1),
    "stride2_wide": (1, 8, 40, 61, 5, 2, 2, 1),
    "narrow_dw_partials": (6, 1, 16, 23, 5, 1, 0, 1),
    "few_output_channels": (6, 1, 6, 23, 5, 1, 0, 1),
    "pointwise_direct": (2, 70, 33, 30, 1, 1, 0, 1),
    "pointwise_batched": (11, 33, 70, 5, 1, 1, 0, 1),
    "groups_batched": (9, 12, 18, 8, 3, 2, 1, 3),
    "odd_everything": (3, 17, 29, 19, 3, 1, 2, 1),
    "gathered_groups_k_blocks": (5, 80, 100, 6, 3, 1, 1, 2),
    "gathered_two_wide_rows": (7, 40, 64, 4, 3, 1, 0, 1),
    "few_output_channels_3x3": (4, 3, 6, 9, 3, 1, 1, 1),
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", list(SHAPES))
def test_conv2d_blocking_paths(backend, dtype, rng, restore_threads, name, threads):
    n, c, o, size, k, stride, padding, groups = SHAPES[name]
    faltung.set_num_threads(threads)
    x = random_array(rng, (n, c, size, size), dtype)
    w = random_array(rng, (o, c // groups, k, k), dtype)
    b = random_array(rng, (o,), dtype)
    y = faltung.conv2d(x, w, b, stride, padding, 1, groups)
    pads = (padding,) * 4
    expected = ref.conv2d(x, w, b, stride, pads, 1, groups)
    scale = ref.conv2d(np.abs(x), np.abs(w), np.abs(b), stride, pads, 1, groups)
    reduction = (c // groups) * k * k
    assert_close(y, expected, dtype=dtype, k=reduction, scale=scale, what="forward")

    gy = random_array(rng, y.shape, dtype)
    gx, gw, gb = faltung.conv2d_backward(gy, x, w, stride, padding, 1, groups)
    ex, ew, eb = ref.conv2d_backward(gy, x, w, stride, pads, 1, groups)
    sx, sw, sb = ref.conv2d_backward(np.abs(gy), np.abs(x), np.abs(w), stride, pads, 1, groups)
    pixels = gy.shape[0] * gy.shape[2] * gy.shape[3]
    assert_close(gx, ex, dtype=dtype, k=(o // groups) * k * k, scale=sx, what="grad_input")
    assert_close(gw, ew, dtype=dtype, k=pixels, scale=sw, what="grad_weight")
    assert_close(gb, eb, dtype=dtype, k=pixels, scale=sb, what="grad_bias")
