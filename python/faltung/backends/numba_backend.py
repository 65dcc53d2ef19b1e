"""The "numba" backend: the kernels of faltung/_numba, compiled on first use (and cached on disk
where the package folder or NUMBA_CACHE_DIR is writable).

Threads: Numba keeps its thread count per calling thread, so the backend keeps its own count and
applies it before every kernel, whichever Python thread calls. It starts at OMP_NUM_THREADS when
that is set, else at Numba's maximum (NUMBA_NUM_THREADS, by default the CPU count), and is
clamped to [1, NUMBA_NUM_THREADS].
"""
from __future__ import annotations

import os

import numba

from faltung._numba import conv2d, gemm
from faltung._numba import pool


def _clamp(n: int) -> int:
    return max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))


def _threads_from_env() -> int:
    """OMP_NUM_THREADS (its first entry, as OpenMP reads "4,2"), else Numba's maximum."""
    try:
        return _clamp(os.environ["OMP_NUM_THREADS"].split(",")[0])
    except (KeyError, ValueError):
        return numba.config.NUMBA_NUM_THREADS


class NumbaBackend:
    name = "numba"

    def __init__(self):
        self._threads = _threads_from_env()

    def set_num_threads(self, n: int) -> None:
        self._threads = _clamp(n)

    def get_num_threads(self) -> int:
        return self._threads

    def gemm(self, trans_a, trans_b, alpha, a, b, beta, c):
        numba.set_num_threads(self._threads)
        gemm.gemm(trans_a, trans_b, alpha, a, b, beta, c)

    def conv2d_forward(self, y, x, w, bias, params):
        numba.set_num_threads(self._threads)
        conv2d.conv2d_forward(y, x, w, bias, params)

    def conv2d_backward_input(self, grad_x, grad_y, w, params):
        numba.set_num_threads(self._threads)
        conv2d.conv2d_backward_input(grad_x, grad_y, w, params)

    def conv2d_backward_weight(self, grad_w, grad_y, x, params):
        numba.set_num_threads(self._threads)
        conv2d.conv2d_backward_weight(grad_w, grad_y, x, params)

    def conv2d_backward_bias(self, grad_b, grad_y, params):
        numba.set_num_threads(self._threads)
        conv2d.conv2d_backward_bias(grad_b, grad_y, params)

    def max_pool2d_forward(self, y, indices, x, params):
        numba.set_num_threads(self._threads)
        pool.max_pool2d_forward(y, indices, x, params)

    def max_pool2d_backward(self, grad_x, grad_y, indices, params):
        numba.set_num_threads(self._threads)
        pool.max_pool2d_backward(grad_x, grad_y, indices, params)

    def avg_pool2d_forward(self, y, x, params):
        numba.set_num_threads(self._threads)
        pool.avg_pool2d_forward(y, x, params)

    def avg_pool2d_backward(self, grad_x, grad_y, params):
        numba.set_num_threads(self._threads)
        pool.avg_pool2d_backward(grad_x, grad_y, params)

    def lp_pool2d_forward(self, y, x, norm_type, params):
        numba.set_num_threads(self._threads)
        pool.lp_pool2d_forward(y, x, norm_type, params)

    def lp_pool2d_backward(self, grad_x, grad_y, x, norm_type, params):
        numba.set_num_threads(self._threads)
        pool.lp_pool2d_backward(grad_x, grad_y, x, norm_type, params)


BACKEND = NumbaBackend()
