"""Pooling at one, two and three threads (docs/performance.md P20): with one thread the compiled
kernels call their loops directly instead of entering an OpenMP region, with more they split the
planes (or blocks of rows) into one contiguous range per thread. Every path that does so - global
average forward and backward, 2x2/2 windows tiling whole rows (one tall plane and plane by
plane), the channel-blocked max forward with indices, the max backward (band stores, the scatter
into planes zeroed a few KiB ahead (P21), and the count of indices outside their plane) - gives
the float64 reference's result at each thread count, more threads than planes included. Also the
binding's params check (the params are read by position), the compiled geometry checks, whose
messages are built only on failure, and the global heads' params kept per shape."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, random_array
from tests.test_pool_validation import expect

THREADS = [1, 2, 3]


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("shape", [(2, 3, 7, 7), (1, 2, 5, 4)], ids=["2x3x7x7", "1x2x5x4"])
def test_global_avg(backend, dtype, rng, restore_threads, threads, shape):
    faltung.set_num_threads(threads)
    x = random_array(rng, shape, dtype)
    assert_close(faltung.global_avg_pool2d(x), ref.adaptive_avg_pool2d(x, 1), dtype=dtype)
    gy = random_array(rng, shape[:2] + (1, 1), dtype)
    expected = np.broadcast_to(gy.astype(np.float64) / (shape[2] * shape[3]), shape)
    assert_close(faltung.global_avg_pool2d_backward(gy, x), expected, dtype=dtype)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("shape", [(1, 40, 4, 14), (2, 3, 7, 16), (1, 1, 4, 6)],
                         ids=["tall", "odd_height", "one_plane"])
def test_max_avg_2x2(backend, dtype, rng, restore_threads, threads, shape):
    faltung.set_num_threads(threads)
    x = random_array(rng, shape, dtype)
    values, idx = ref.max_pool2d(x, 2)
    assert_close(faltung.max_pool2d(x, 2), values, dtype=dtype, kind="exact")
    assert_close(faltung.avg_pool2d(x, 2), ref.avg_pool2d(x, 2), dtype=dtype)
    gy = random_array(rng, values.shape, dtype)
    assert_close(faltung.max_pool2d_backward(gy, x, idx, 2),
                 ref.max_pool2d_backward(gy, x.shape, idx), dtype=dtype, kind="exact")


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("shape", [(2, 20, 13, 13), (1, 1, 9, 9), (1, 3, 47, 47)],
                         ids=["alexnet5", "one_plane", "planes_over_8k"])
def test_max_3x3s2(backend, dtype, rng, restore_threads, threads, shape):
    """Channel-blocked forward (float32, AVX-512: 16 planes a tile, a partial last tile) and the
    zero-and-scatter backward of overlapping windows: planes zeroed 8 KiB ahead of the scatter
    (many planes ahead, fewer planes than that, one plane ahead when a plane is larger)."""
    faltung.set_num_threads(threads)
    x = random_array(rng, shape, dtype)
    values, idx = ref.max_pool2d(x, 3, 2)
    y, got_idx = faltung.max_pool2d(x, 3, 2, return_indices=True)
    assert_close(y, values, dtype=dtype, kind="exact")
    np.testing.assert_array_equal(got_idx, idx)
    gy = random_array(rng, values.shape, dtype)
    assert_close(faltung.max_pool2d_backward(gy, x, idx, 3, 2),
                 ref.max_pool2d_backward(gy, x.shape, idx), dtype=dtype)


@pytest.mark.parametrize("threads", THREADS)
def test_max_backward_counts_bad_indices(backend, restore_threads, threads):
    """Indices outside the plane in planes of different threads' ranges are all counted."""
    faltung.set_num_threads(threads)
    x = np.zeros((1, 4, 6, 6))
    idx = np.zeros((1, 4, 2, 2), np.int64)
    idx[0, 0, 0, 0] = 36
    idx[0, 3, 1, 1] = -1
    expect(ValueError, lambda: faltung.max_pool2d_backward(np.ones((1, 4, 2, 2)), x, idx, 3, 2),
           r"indices", r"2 entries", r"outside \[0, 36\)")


def test_binding_refuses_other_params():
    if "cpp" not in faltung.available_backends():
        pytest.skip("compiled backend not built")
    from faltung import _core
    from faltung._pool_params import make_pool2d_params
    x, y = np.zeros((1, 1, 4, 4)), np.empty((1, 1, 2, 2))
    p = make_pool2d_params(x.shape, 2)
    expect(ValueError, lambda: _core.avg_pool2d_forward(y, x, tuple(p)[:-1]), r"params", r"20")
    expect(ValueError, lambda: _core.avg_pool2d_forward(y, x, dict(p._asdict())), r"params")
    _core.avg_pool2d_forward(y, x, tuple(p))   # a plain tuple in the field order is read alike
    assert_close(y, ref.avg_pool2d(x, 2), dtype=np.dtype(np.float64), kind="exact")


def test_compiled_checks_dilated_all_padding_window():
    """The compiled geometry check of a window holding only padding (only dilation makes one)."""
    if "cpp" not in faltung.available_backends():
        pytest.skip("compiled backend not built")
    from faltung import _core
    from faltung._pool_params import make_pool2d_params
    x, y = np.zeros((1, 1, 1, 1)), np.empty((1, 1, 1, 2))
    p = make_pool2d_params(x.shape, (1, 2), 1, (0, 1))   # Python accepts it without dilation
    bad = p._replace(dilation_w=2, out_w=2)
    with pytest.raises(ValueError, match=r"window"):
        make_pool2d_params(x.shape, (1, 2), 1, (0, 1), dilation=(1, 2))
    expect(ValueError, lambda: _core.max_pool2d_forward(y, None, x, bad), r"dilation",
           r"the width", r"only padding")


def test_global_params_per_shape(backend):
    """The global heads' params are kept per input shape: a refused shape is refused every time,
    and shapes met in turn each get their own windows."""
    for _ in range(2):
        expect(ValueError, lambda: faltung.global_avg_pool2d(np.zeros((1, 0, 3, 3))), r"input",
               r"dimension >= 1")
    for shape in [(1, 2, 3, 3), (2, 1, 4, 5), (1, 2, 3, 3)]:
        x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
        assert_close(faltung.global_avg_pool2d(x), x.mean(axis=(2, 3), keepdims=True),
                     dtype=np.dtype(np.float64))
        gy = np.ones(shape[:2] + (1, 1))
        assert_close(faltung.global_avg_pool2d_backward(gy, x),
                     np.full(shape, 1.0 / (shape[2] * shape[3])), dtype=np.dtype(np.float64))
