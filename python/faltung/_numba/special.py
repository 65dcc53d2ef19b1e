"""Special functions as NumPy ufuncs compiled by Numba, for the element-wise kernels of
faltung.functional that NumPy lacks: erf (GELU). Numba's math.erf is the C library's, so the
values equal Python's math.erf; compiled once (cached on disk where _jit allows)."""
from __future__ import annotations

import math

import numba

from ._jit import CACHE


@numba.vectorize(["float64(float64)"], cache=CACHE, nopython=True)
def erf(x):
    return math.erf(x)
