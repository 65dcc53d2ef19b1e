"""The decorator of every Numba kernel in faltung.

``jit`` is ``numba.njit`` with fastmath off (no reassociation and no FMA contraction, so results
do not depend on the CPU), the GIL released, and the on-disk cache on only where it can be
written: NUMBA_CACHE_DIR when set, else the ``__pycache__`` folder beside these modules. On a
read-only installation the kernels then compile on first use instead of failing at import.

Numba compiles a callee once more for every pattern of constants at its call sites (``f(x, 0)``
and ``f(x, 1)`` are two specialisations, each compiling everything below it), so a kernel
passes constants to another one as ``np.int64(0)`` or ``np.bool_(True)``, which Numba types as
run-time values: each kernel then compiles once per dtype.

Numba checks a cached function against its own source file only: after editing one kernel file,
delete ``_numba/__pycache__`` (or the NUMBA_CACHE_DIR) so that its callers in other files recompile.
"""
from __future__ import annotations

import os
import tempfile

import numba


def can_cache_in(path: str) -> bool:
    """True if a file can be created in ``path`` (made if missing). Tried for real: permission
    bits say nothing for root or on a read-only mount."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        return False
    return True


def cache_location() -> str:
    """Where Numba would write this package's cache."""
    return numba.config.CACHE_DIR or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "__pycache__")


CACHE = can_cache_in(cache_location())


def jit(function=None, *, parallel: bool = False, error_model: str = "python"):
    """``@jit`` or ``@jit(parallel=True)``. ``error_model="numpy"`` makes a float division by
    zero give inf/NaN (data, as in NumPy and PyTorch) instead of raising ZeroDivisionError; it
    also drops the check that Numba puts before every division (20x on a loop of 1/sqrt)."""
    decorator = numba.njit(cache=CACHE, fastmath=False, nogil=True, parallel=parallel,
                           error_model=error_model)
    return decorator if function is None else decorator(function)

