"""General matrix multiply, float32 and float64 (the Numba twin of cpp/cpu/gemm.cpp):

    C[M, N] = alpha * op(A)[M, K] @ op(B)[K, N] + beta * C,   op(X) = X or X.T

``gemm`` takes 2-D C-contiguous arrays. The kernel under it, ``gemm_flat``, takes each matrix as
a flat 1-D array with an offset and a row stride (ld), as the C++ takes a pointer and ld, so that
the convolutions multiply sub-blocks (one group, one column tile) in place, and every caller
shares one compiled signature per dtype. beta == 0 overwrites C without reading it; alpha
== 0 (or K == 0) gives C = beta * C without reading A and B, as in BLAS (NaN there stays out).

Cache blocking: C is computed in NC-column by KC-deep blocks. An MC x KC panel of alpha*op(A) is
packed contiguous, and so is the KC x NC panel of op(B) when B is transposed or more than MC rows
of C reuse it (otherwise B's rows are read in place). A kernel then updates two rows of C from
four k at a time; its innermost loop runs along a row of C, so LLVM vectorises it, and C is
loaded and stored once per four k. Large products split the rows of C over ``threads`` threads.
"""
from __future__ import annotations

import numba
import numpy as np

from ._jit import jit

MC, KC, NC = 64, 256, 512       # rows of an A panel, depth of both panels, columns of a B panel
PARALLEL_MIN_MACS = 1 << 20     # smaller products run on the calling thread


@jit
def _pack_a(ap, trans_a, alpha, a, a_off, lda, i0, mc, k0, kc):
    """ap[i*kc + k] = alpha * op(A)[i0 + i, k0 + k]."""
    if trans_a:
        for k in range(kc):
            for i in range(mc):
                ap[i * kc + k] = alpha * a[a_off + (k0 + k) * lda + i0 + i]
    else:
        for i in range(mc):
            for k in range(kc):
                ap[i * kc + k] = alpha * a[a_off + (i0 + i) * lda + k0 + k]


@jit
def _pack_b(bp, trans_b, b, b_off, ldb, k0, kc, j0, nc):
    """bp[k*nc + j] = op(B)[k0 + k, j0 + j]."""
    if trans_b:
        for jb in range(0, nc, 16):  # 16 rows of b at a time: reads and writes stay in cache
            for k in range(kc):
                for j in range(jb, min(jb + 16, nc)):
                    bp[k * nc + j] = b[b_off + (j0 + j) * ldb + k0 + k]
    else:
        for k in range(kc):
            for j in range(nc):
                bp[k * nc + j] = b[b_off + (k0 + k) * ldb + j0 + j]


@jit
def _update_rows(c0, c1, a0, a1, b, b_off, ldb, kc, nc):
    """c0 += a0 @ B and c1 += a1 @ B, B the kc x nc block of rows b[b_off + k*ldb:][:nc]."""
    k = 0
    while k + 4 <= kc:
        x0, x1, x2, x3 = a0[k], a0[k + 1], a0[k + 2], a0[k + 3]
        y0, y1, y2, y3 = a1[k], a1[k + 1], a1[k + 2], a1[k + 3]
        start = b_off + k * ldb
        b0 = b[start:start + nc]
        b1 = b[start + ldb:start + ldb + nc]
        b2 = b[start + 2 * ldb:start + 2 * ldb + nc]
        b3 = b[start + 3 * ldb:start + 3 * ldb + nc]
        for j in range(nc):
            c0[j] += (x0 * b0[j] + x1 * b1[j]) + (x2 * b2[j] + x3 * b3[j])
            c1[j] += (y0 * b0[j] + y1 * b1[j]) + (y2 * b2[j] + y3 * b3[j])
        k += 4
    while k < kc:
        x0, y0 = a0[k], a1[k]
        b0 = b[b_off + k * ldb:b_off + k * ldb + nc]
        for j in range(nc):
            c0[j] += x0 * b0[j]
            c1[j] += y0 * b0[j]
        k += 1


@jit
def _scale_c(beta, c, c_off, ldc, i_begin, i_end, n):
    """Rows [i_begin, i_end) of C = beta * C; beta == 0 writes zeros without reading C."""
    for i in range(i_begin, i_end):
        row = c[c_off + i * ldc:c_off + i * ldc + n]
        for j in range(n):
            row[j] = 0 if beta == 0 else beta * row[j]


@jit
def _gemm_rows(trans_a, trans_b, n, k, alpha, a, a_off, lda, b, b_off, ldb, beta, c, c_off, ldc,
               i_begin, i_end):
    """Rows [i_begin, i_end) of C, on the calling thread."""
    _scale_c(beta, c, c_off, ldc, i_begin, i_end, n)
    pack_b = trans_b or i_end - i_begin > MC  # op(B) rows strided, or the panel much reused
    ap = np.empty(min(MC, i_end - i_begin) * min(KC, k), c.dtype)
    bp = np.empty(min(KC, k) * min(NC, n) if pack_b else 0, c.dtype)
    spare = np.empty(min(NC, n), c.dtype)  # partner of an odd last row
    for j0 in range(0, n, NC):
        nc = min(NC, n - j0)
        for k0 in range(0, k, KC):
            kc = min(KC, k - k0)
            if pack_b:
                _pack_b(bp, trans_b, b, b_off, ldb, k0, kc, j0, nc)
                panel, panel_off, ld = bp, np.int64(0), nc
            else:
                panel, panel_off, ld = b, b_off + k0 * ldb + j0, ldb
            for i0 in range(i_begin, i_end, MC):
                mc = min(MC, i_end - i0)
                _pack_a(ap, trans_a, alpha, a, a_off, lda, i0, mc, k0, kc)
                for i in range(0, mc, 2):
                    start = c_off + (i0 + i) * ldc + j0
                    c0 = c[start:start + nc]
                    a0 = ap[i * kc:(i + 1) * kc]
                    if i + 1 < mc:
                        c1, a1 = c[start + ldc:start + ldc + nc], ap[(i + 1) * kc:(i + 2) * kc]
                    else:
                        c1, a1 = spare[:nc], a0
                    _update_rows(c0, c1, a0, a1, panel, panel_off, ld, kc, nc)


@jit(parallel=True)
def gemm_flat(trans_a, trans_b, m, n, k, alpha, a, a_off, lda, b, b_off, ldb, beta, c, c_off, ldc,
              threads):
    """C = alpha*op(A)@op(B) + beta*C on flat arrays: element (i, j) of the stored matrix X is
    x[x_off + i*ldx + j]; alpha and beta are float64. Splits the rows of C over ``threads``
    threads when the product is large; threads=1 never starts a parallel region (callers inside
    one pass 1). alpha == 0 or k == 0 gives C = beta * C without reading A and B (BLAS)."""
    if m <= 0 or n <= 0:
        return
    if k <= 0 or alpha == 0:
        _scale_c(beta, c, c_off, ldc, np.int64(0), m, n)
        return
    chunks = min(threads, (m + 1) // 2) if m * n * k >= PARALLEL_MIN_MACS else 1
    if chunks <= 1:
        _gemm_rows(trans_a, trans_b, n, k, alpha, a, a_off, lda, b, b_off, ldb, beta, c, c_off,
                   ldc, np.int64(0), m)
        return
    for t in numba.prange(chunks):
        _gemm_rows(trans_a, trans_b, n, k, alpha, a, a_off, lda, b, b_off, ldb, beta, c, c_off,
                   ldc, t * m // chunks, (t + 1) * m // chunks)


@jit
def _gemm_2d(trans_a, trans_b, alpha, a, b, beta, c, threads):
    m, n = c.shape
    k = a.shape[0] if trans_a else a.shape[1]
    zero = np.int64(0)
    gemm_flat(trans_a, trans_b, m, n, k, alpha, a.reshape(-1), zero, a.shape[1], b.reshape(-1),
              zero, b.shape[1], beta, c.reshape(-1), zero, n, threads)


def gemm(trans_a, trans_b, alpha, a, b, beta, c):
    """c[M, N] = alpha * op(a) @ op(b) + beta * c on 2-D C-contiguous arrays of one dtype."""
    _gemm_2d(bool(trans_a), bool(trans_b), float(alpha), a, b, float(beta), c,
             numba.get_num_threads())
