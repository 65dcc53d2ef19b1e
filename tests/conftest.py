"""Shared fixtures and THE tolerance helper of the test suite.

* ``backend``: every test that takes it runs once per backend in faltung.available_backends();
  the backend is set for the test and the previous one restored afterwards.
* ``rng``: a seeded numpy Generator (seeded per test from its node id, so reruns are
  reproducible and tests do not depend on each other's order).
* ``assert_close``: the only place where tolerances live. Import it with
  ``from tests.conftest import assert_close``.

The suite tests the *installed* faltung (pip install, not an editable checkout); run it from the
repository root: ``python -m pytest tests``.
"""
from __future__ import annotations

import os
import sys
import zlib

import numpy as np
import pytest

# tests/ is a package (tests/__init__.py), so `from tests.reference import ...` works; putting
# tests/ itself on sys.path lets `from reference import ...` work too.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.append(_HERE)

import faltung  # noqa: E402  (the installed package under test)

BACKENDS = faltung.available_backends()

# ----------------------------------------------------------------------------------------------
# Tolerances. Everything compares against a float64 reference computed from the very same input
# values (float32 inputs are widened exactly), so the only error allowed is the rounding of the
# implementation's own arithmetic.
#
#   kind="exact"    data movement, or sums of small integers: bit-for-bit equal.
#   kind="forward"  results that are sums of products (conv, gemm, gradients): the largest
#                   absolute error must stay below rtol * (magnitude of the sums); elementwise
#                   relative error is meaningless where terms cancel. The magnitude is
#                   max|expected|, or `scale` when given: the same reference evaluated on the
#                   absolute values of its inputs (sum of |terms|), which keeps the bound honest
#                   when there are only a few outputs and they happen to cancel (a bias gradient
#                   of one channel, a 1x1 gemm). The rounding error of a K-term sum grows like
#                   sqrt(K): pass k=K for long reductions and the bound widens by sqrt(K / 1024)
#                   once K exceeds 1024.
#   kind="fd"       central finite differences in float64 against an analytic gradient.
#   kind="scalar"   one number (an inner product) against another; pass scale = the sum of the
#                   absolute values of the products, the natural size of its rounding error.
# ----------------------------------------------------------------------------------------------
RTOL = {
    "forward": {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12},
    "fd": {np.dtype(np.float64): 1e-7},  # h = 1e-4 and exact (linear) functions: pure rounding
    "scalar": {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12},
}


def assert_close(actual, expected, *, dtype, kind="forward", k=None, scale=None, what=""):
    """Assert that `actual` (computed by faltung in `dtype`) matches the float64 `expected`.

    Checks the dtype and shape of `actual` as well. NaN must sit exactly where expected has NaN,
    and +-Inf exactly where expected has +-Inf; the finite entries are compared by `kind`."""
    dtype = np.dtype(dtype)
    label = f"{what}: " if what else ""
    if kind == "scalar":
        actual, expected = float(actual), float(expected)
        assert scale is not None, "kind='scalar' needs scale="
        tol = RTOL["scalar"][dtype] * max(scale, np.finfo(np.float64).tiny)
        assert abs(actual - expected) <= tol, (
            f"{label}{actual!r} != {expected!r} (|diff| {abs(actual - expected):.3e} > {tol:.3e})")
        return
    assert isinstance(actual, np.ndarray), f"{label}expected a numpy.ndarray, got {type(actual)}"
    assert actual.dtype == dtype, f"{label}dtype {actual.dtype}, expected {dtype}"
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{label}shape {actual.shape}, expected {expected.shape}"
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    if kind == "exact":
        bad = ~((a == e) | (np.isnan(a) & np.isnan(e)))
        assert not bad.any(), (
            f"{label}{int(bad.sum())} of {a.size} entries differ (exact comparison); first at "
            f"{tuple(int(i) for i in np.argwhere(bad)[0])}: {a[bad][0]!r} vs {e[bad][0]!r}")
        return
    if kind not in ("forward", "fd"):
        raise ValueError(f"unknown tolerance kind {kind!r}")
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    assert np.array_equal(nan_a, nan_e), (
        f"{label}NaN pattern differs: {int(nan_a.sum())} NaN in actual, {int(nan_e.sum())} expected;"
        f" first mismatch at {tuple(int(i) for i in np.argwhere(nan_a != nan_e)[0])}")
    for sign, test in (("+Inf", np.isposinf), ("-Inf", np.isneginf)):
        assert np.array_equal(test(a), test(e)), f"{label}{sign} pattern differs"
    finite = np.isfinite(e)
    if not finite.any():
        return
    rtol = RTOL[kind][dtype]
    if k is not None and k > 1024:
        rtol *= np.sqrt(k / 1024)
    magnitude = np.abs(e[finite]).max()
    if scale is not None:
        sizes = np.abs(np.asarray(scale, dtype=np.float64))
        sizes = sizes[np.isfinite(sizes)]
        if sizes.size:
            magnitude = max(magnitude, float(sizes.max()))
    tol = rtol * magnitude if magnitude > 0 else rtol
    err = np.abs(a[finite] - e[finite])
    worst = int(np.argmax(err))
    assert err[worst] <= tol, (
        f"{label}max |actual - expected| = {err[worst]:.3e} > {tol:.3e} "
        f"(rtol {rtol:.1e} x magnitude {magnitude:.3e}); worst entry "
        f"{tuple(int(i) for i in np.argwhere(finite)[worst])}: {a[finite][worst]!r} vs "
        f"{e[finite][worst]!r}; {int((err > tol).sum())} of {err.size} entries out of tolerance")


# ----------------------------------------------------------------------------------------------
# Slow sweeps: skipped unless asked for (`pytest --runslow`, `-m slow`, or FALTUNG_SLOW_TESTS=1),
# so that a plain `pytest` (the README's and CI's command) stays well under 10 minutes on 2 cores.
# ----------------------------------------------------------------------------------------------
def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow (long sweeps)")


def pytest_collection_modifyitems(config, items):
    markexpr = config.getoption("markexpr", default="") or ""
    wants_slow = (config.getoption("--runslow") or os.environ.get("FALTUNG_SLOW_TESTS") == "1"
                  or ("slow" in markexpr and "not slow" not in markexpr))
    if wants_slow:
        return
    skip = pytest.mark.skip(reason="slow sweep: run with --runslow (or -m slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# ----------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------
@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run the test with each available backend; restore the previous backend afterwards."""
    previous = faltung.get_backend()
    faltung.set_backend(request.param)
    try:
        yield request.param
    finally:
        faltung.set_backend(previous)


@pytest.fixture
def rng(request):
    """A numpy Generator seeded from the test's node id (stable across runs and orderings)."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def restore_threads():
    """Restore faltung's thread count after a test that changes it."""
    before = faltung.get_num_threads()
    yield before
    faltung.set_num_threads(before)


def random_array(rng, shape, dtype):
    """Standard normal values in `dtype` (the reference reads the very same values)."""
    return rng.standard_normal(shape).astype(dtype)


def central_differences(loss, array, h=1e-5):
    """d loss() / d array, entry by entry, by central differences in float64. `loss` reads
    `array`, which is perturbed in place and restored."""
    numeric = np.zeros(array.shape)
    for idx in np.ndindex(array.shape):
        saved = array[idx]
        array[idx] = saved + h
        plus = loss()
        array[idx] = saved - h
        minus = loss()
        array[idx] = saved
        numeric[idx] = (plus - minus) / (2 * h)
    return numeric
