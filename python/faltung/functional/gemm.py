"""GEMM: alpha * op(a) @ op(b) + beta * c on the backend's packed, cache-blocked kernels."""
from __future__ import annotations

import numpy as np

from .. import backends
from .._validation import as_float_array, check_shape, output, same_dtype


def _matrix(value, name: str, trans: bool) -> tuple[np.ndarray, bool]:
    """A 2-D float array as a C-contiguous matrix plus its transpose flag; a transposed view
    (Fortran order) is used as it is with the flag flipped instead of being copied."""
    if isinstance(value, np.ndarray) and value.ndim == 2 and not value.flags.c_contiguous \
            and value.T.flags.c_contiguous:
        value, trans = value.T, not trans
    return as_float_array(value, name, ndim=2), trans


def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False, out=None):
    """alpha * op(a) @ op(b) + beta * c, where op(x) is x.T when trans_x is set.

    `c` is needed when beta != 0; `out` receives the result and may be `c` itself.
    """
    a_mat, ta = _matrix(a, "a", bool(trans_a))
    b_mat, tb = _matrix(b, "b", bool(trans_b))
    same_dtype(a_mat, b=b_mat)
    m, k = (a_mat.shape[1], a_mat.shape[0]) if ta else a_mat.shape
    kb, n = (b_mat.shape[1], b_mat.shape[0]) if tb else b_mat.shape
    if k != kb:
        raise ValueError(f"b: expected {k} rows in op(b) to match op(a) of shape ({m}, {k}), "
                         f"got op(b) of shape ({kb}, {n})")
    alpha, beta = float(alpha), float(beta)
    if beta != 0.0:
        if c is None:
            raise ValueError("c: required when beta != 0")
        c = as_float_array(c, "c", ndim=2) if c is not out else c
        same_dtype(a_mat, c=c)
        check_shape(c, (m, n), "c")
    result = output(out, (m, n), a_mat.dtype)
    if beta != 0.0 and c is not result:
        np.copyto(result, c)
    backends.current().gemm(ta, tb, alpha, a_mat, b_mat, beta, result)
    return result
