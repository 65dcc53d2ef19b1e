"""faltung.gemm against float64 NumPy: every trans combination, alpha/beta, beta=0 ignoring NaN
in c, in-place out=c, shapes around the micro-kernel's edges, non-contiguous inputs."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, random_array

TRANS = list(itertools.product([False, True], repeat=2))
TRANS_IDS = ["NN", "NT", "TN", "TT"]


def _operands(rng, m, n, k, dtype, trans_a, trans_b):
    a = random_array(rng, (k, m) if trans_a else (m, k), dtype)
    b = random_array(rng, (n, k) if trans_b else (k, n), dtype)
    return a, b


def _check(rng, m, n, k, dtype, trans_a, trans_b, alpha=1.0, beta=0.0):
    a, b = _operands(rng, m, n, k, dtype, trans_a, trans_b)
    c = random_array(rng, (m, n), dtype) if beta != 0 else None
    got = faltung.gemm(a, b, c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    expected = ref.gemm(a, b, c, alpha, beta, trans_a, trans_b)
    scale = ref.gemm(np.abs(a), np.abs(b), None if c is None else np.abs(c), abs(alpha),
                     abs(beta), trans_a, trans_b)
    assert_close(got, expected, dtype=dtype, k=k, scale=scale,
                 what=f"M={m} N={n} K={k} trans=({trans_a}, {trans_b}) alpha={alpha} beta={beta}")


# shapes around register-tile edges (micro-kernels are typically 4..16 wide, 6..14 tall)
EDGE_SIZES = [1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 33, 48, 70]


@pytest.mark.parametrize("trans_a, trans_b", TRANS, ids=TRANS_IDS)
def test_gemm_edge_shapes(backend, dtype, rng, trans_a, trans_b):
    """M and N over the edge sizes, K over a few, all in one test per trans combination."""
    for m, n in itertools.product(EDGE_SIZES, repeat=2):
        for k in (1, 7, 17) if (m + n) % 2 else (3, 16, 70):
            _check(rng, m, n, k, dtype, trans_a, trans_b)


@pytest.mark.parametrize("trans_a, trans_b", TRANS, ids=TRANS_IDS)
@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 9, 16, 17, 29, 32, 33, 64, 65, 70])
def test_gemm_k_sizes(backend, dtype, rng, trans_a, trans_b, k):
    _check(rng, 13, 11, k, dtype, trans_a, trans_b)


@pytest.mark.parametrize("trans_a, trans_b", TRANS, ids=TRANS_IDS)
def test_gemm_larger(backend, dtype, rng, trans_a, trans_b):
    """Past the cache blocks: 257 x 300 x 129 (prime-ish and off every tile)."""
    _check(rng, 257, 300, 129, dtype, trans_a, trans_b, alpha=0.75, beta=-0.5)


@pytest.mark.slow
@pytest.mark.parametrize("trans_a, trans_b", TRANS, ids=TRANS_IDS)
def test_gemm_all_small_shapes(backend, dtype, trans_a, trans_b):
    """Every M in 1..70 with N, K drawn at random from 1..70 (and vice versa)."""
    rng = np.random.default_rng(42)
    for s in range(1, 71):
        n, k = (int(v) for v in rng.integers(1, 71, 2))
        _check(rng, s, n, k, dtype, trans_a, trans_b)
        m, k = (int(v) for v in rng.integers(1, 71, 2))
        _check(rng, m, s, k, dtype, trans_a, trans_b)
        m, n = (int(v) for v in rng.integers(1, 71, 2))
        _check(rng, m, n, s, dtype, trans_a, trans_b, alpha=-1.5, beta=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("m, n, k", [(512, 384, 576), (1000, 31, 777), (33, 1029, 300),
                                     (64, 3136, 576)])
def test_gemm_big(backend, dtype, rng, m, n, k):
    for trans_a, trans_b in TRANS:
        _check(rng, m, n, k, dtype, trans_a, trans_b, alpha=1.0, beta=1.0)


@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (2.5, 0.0), (-1.0, 1.0), (0.5, -2.0),
                                         (1.0, 1.0), (0.0, 1.0), (0.0, 0.5), (3, 2)])
@pytest.mark.parametrize("trans_a, trans_b", TRANS, ids=TRANS_IDS)
def test_gemm_alpha_beta(backend, dtype, rng, alpha, beta, trans_a, trans_b):
    _check(rng, 19, 23, 21, dtype, trans_a, trans_b, alpha, beta)


@pytest.mark.parametrize("trans_a, trans_b", TRANS, ids=TRANS_IDS)
def test_gemm_beta0_ignores_nan_in_c(backend, dtype, rng, trans_a, trans_b):
    """beta = 0 means c is not read (BLAS semantics): NaN/Inf there must not leak."""
    a, b = _operands(rng, 9, 10, 11, dtype, trans_a, trans_b)
    c = np.full((9, 10), np.nan, dtype)
    c[0, 0] = np.inf
    got = faltung.gemm(a, b, c, beta=0.0, trans_a=trans_a, trans_b=trans_b)
    assert_close(got, ref.gemm(a, b, None, 1.0, 0.0, trans_a, trans_b), dtype=dtype, k=11)
    # the same into out=c: the NaN buffer is overwritten, never read
    got = faltung.gemm(a, b, c, beta=0.0, trans_a=trans_a, trans_b=trans_b, out=c)
    assert got is c
    assert_close(c, ref.gemm(a, b, None, 1.0, 0.0, trans_a, trans_b), dtype=dtype, k=11)


def test_gemm_out_garbage_is_overwritten(backend, dtype, rng):
    a, b = random_array(rng, (6, 5), dtype), random_array(rng, (5, 7), dtype)
    out = np.full((6, 7), np.nan, dtype)
    got = faltung.gemm(a, b, out=out)
    assert got is out
    assert_close(out, ref.gemm(a, b), dtype=dtype)


@pytest.mark.parametrize("trans_a, trans_b", TRANS, ids=TRANS_IDS)
def test_gemm_inplace_out_is_c(backend, dtype, rng, trans_a, trans_b):
    """out=c with beta != 0: c <- alpha*op(a)@op(b) + beta*c in place."""
    a, b = _operands(rng, 17, 15, 9, dtype, trans_a, trans_b)
    c = random_array(rng, (17, 15), dtype)
    c_before = c.copy()
    got = faltung.gemm(a, b, c, alpha=1.5, beta=0.25, trans_a=trans_a, trans_b=trans_b, out=c)
    assert got is c
    assert_close(c, ref.gemm(a, b, c_before, 1.5, 0.25, trans_a, trans_b), dtype=dtype)
    # accumulate twice: beta = 1 is the im2col backward's accumulation pattern
    faltung.gemm(a, b, c, beta=1.0, trans_a=trans_a, trans_b=trans_b, out=c)
    expected = ref.gemm(a, b, ref.gemm(a, b, c_before, 1.5, 0.25, trans_a, trans_b), 1.0, 1.0,
                        trans_a, trans_b)
    assert_close(c, expected, dtype=dtype)


def test_gemm_out_separate_from_c(backend, dtype, rng):
    a, b = random_array(rng, (8, 4), dtype), random_array(rng, (4, 6), dtype)
    c = random_array(rng, (8, 6), dtype)
    c_before = c.copy()
    out = np.full((8, 6), np.nan, dtype)
    got = faltung.gemm(a, b, c, beta=2.0, out=out)
    assert got is out
    assert_close(out, ref.gemm(a, b, c_before, 1.0, 2.0), dtype=dtype)
    assert_close(c, c_before, dtype=dtype, kind="exact")


def test_gemm_inputs_not_modified(backend, dtype, rng):
    a, b = random_array(rng, (12, 9), dtype), random_array(rng, (9, 10), dtype)
    c = random_array(rng, (12, 10), dtype)
    copies = [v.copy() for v in (a, b, c)]
    got = faltung.gemm(a, b, c, alpha=2.0, beta=3.0)
    assert not any(np.shares_memory(got, v) for v in (a, b, c))
    for v, before in zip((a, b, c), copies):
        assert_close(v, before, dtype=dtype, kind="exact")


def _views(rng, shape, dtype):
    """Non-C-contiguous arrays with `shape`: Fortran order, transposed view, stepped slice,
    reversed, and a slice out of a wider row (row stride > number of columns)."""
    r, c = shape
    yield "fortran", np.asfortranarray(random_array(rng, shape, dtype))
    yield "transposed_view", random_array(rng, (c, r), dtype).T
    yield "step_slice", random_array(rng, (2 * r, 3 * c), dtype)[::2, ::3]
    yield "reversed", random_array(rng, shape, dtype)[::-1, ::-1]
    yield "wide_rows", random_array(rng, (r, c + 5), dtype)[:, 2:c + 2]


@pytest.mark.parametrize("trans_a, trans_b", TRANS, ids=TRANS_IDS)
def test_gemm_noncontiguous(backend, dtype, rng, trans_a, trans_b):
    m, n, k = 11, 9, 13
    a_shape = (k, m) if trans_a else (m, k)
    b_shape = (n, k) if trans_b else (k, n)
    for (na, a), (nb, b), (nc, c) in zip(_views(rng, a_shape, dtype), _views(rng, b_shape, dtype),
                                         _views(rng, (m, n), dtype)):
        assert not a.flags.c_contiguous or a.shape[0] == 1
        got = faltung.gemm(a, b, c, alpha=0.5, beta=1.5, trans_a=trans_a, trans_b=trans_b)
        expected = ref.gemm(a, b, c, 0.5, 1.5, trans_a, trans_b)
        assert_close(got, expected, dtype=dtype, what=f"a {na}, b {nb}, c {nc}")
        contiguous = faltung.gemm(np.ascontiguousarray(a), np.ascontiguousarray(b),
                                  np.ascontiguousarray(c), alpha=0.5, beta=1.5,
                                  trans_a=trans_a, trans_b=trans_b)
        assert_close(got, contiguous.astype(np.float64), dtype=dtype,
                     what=f"vs contiguous: a {na}, b {nb}, c {nc}")


def test_gemm_same_array_twice(backend, dtype, rng):
    """a @ a.T with both operands the same buffer."""
    a = random_array(rng, (10, 7), dtype)
    assert_close(faltung.gemm(a, a, trans_b=True), ref.gemm(a, a, None, 1.0, 0.0, False, True),
                 dtype=dtype)
    assert_close(faltung.gemm(a.T, a), ref.gemm(a.T, a), dtype=dtype)


def test_gemm_nan_inf_propagate(backend, dtype, rng):
    a, b = random_array(rng, (5, 4), dtype), rng.uniform(0.5, 1.5, (4, 6)).astype(dtype)
    a[1, 2] = np.nan
    a[3, 0] = np.inf
    got = faltung.gemm(a, b)
    expected = ref.gemm(a, b)
    assert np.isnan(expected[1]).all() and np.isposinf(expected[3]).all()
    assert_close(got, expected, dtype=dtype)


def test_gemm_exact_small_integers(backend, dtype):
    """Small integers are exact in every summation order."""
    a = np.arange(12, dtype=dtype).reshape(3, 4)
    b = np.arange(8, dtype=dtype).reshape(4, 2) - 3
    c = np.ones((3, 2), dtype)
    got = faltung.gemm(a, b, c, alpha=2.0, beta=-1.0)
    assert_close(got, np.array([[19, 31], [19, 63], [19, 95]], float), dtype=dtype,
                 kind="exact")
