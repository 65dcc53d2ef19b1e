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
import numpy as np

from faltung._numba import conv2d, depthwise, gemm, norm_batch, norm_lcn, norm_lrn, pool, separable


def _clamp(n: int) -> int:
    return max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))


def _threads_from_env() -> int:
    """OMP_NUM_THREADS (its first entry, as OpenMP reads "4,2"), else Numba's maximum."""
    try:
        return _clamp(os.environ["OMP_NUM_THREADS"].split(",")[0])
    except (KeyError, ValueError):
        return numba.config.NUMBA_NUM_THREADS


def _or_empty(array, like):
    return np.empty(0, like.dtype) if array is None else array


def _float64(array):
    """Statistics (saved or running, C values) as float64: one compilation per dtype of x."""
    return np.empty(0) if array is None else array.astype(np.float64)


def _or_fill(array, value, shape, like):
    return np.full(shape[1], value, like.dtype) if array is None else array


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

    def conv2d_forward(self, y, x, w, bias, params, relu=False):
        numba.set_num_threads(self._threads)
        conv2d.conv2d_forward(y, x, w, bias, params, relu)

    def conv2d_backward_input(self, grad_x, grad_y, w, params):
        numba.set_num_threads(self._threads)
        conv2d.conv2d_backward_input(grad_x, grad_y, w, params)

    def conv2d_backward_weight(self, grad_w, grad_y, x, params):
        numba.set_num_threads(self._threads)
        conv2d.conv2d_backward_weight(grad_w, grad_y, x, params)

    def conv2d_backward_bias(self, grad_b, grad_y, params):
        numba.set_num_threads(self._threads)
        conv2d.conv2d_backward_bias(grad_b, grad_y, params)

    # Normalization: None becomes a placeholder array (ones for a missing weight, zeros for a
    # missing bias, empty otherwise) plus a flag, and per-channel statistics read by the
    # backward are float64, so each kernel compiles once per dtype.
    def batch_norm_forward_train(self, y, save_mean, save_invstd, running_mean, running_var, x,
                                 weight, bias, shape, eps, momentum):
        numba.set_num_threads(self._threads)
        update = running_mean is not None
        norm_batch.batch_norm_forward(
            y, save_mean, save_invstd, _or_empty(running_mean, x), _or_empty(running_var, x),
            np.bool_(True), np.bool_(update), x, _or_fill(weight, 1, shape, x),
            _or_fill(bias, 0, shape, x), *shape, eps, momentum)

    def batch_norm_forward_eval(self, y, x, running_mean, running_var, weight, bias, shape, eps):
        numba.set_num_threads(self._threads)
        norm_batch.batch_norm_forward(
            y, np.empty(0), np.empty(0), running_mean, running_var,
            np.bool_(False), np.bool_(False), x, _or_fill(weight, 1, shape, x),
            _or_fill(bias, 0, shape, x), *shape, eps, 0.0)

    def batch_norm_backward(self, training, grad_x, grad_weight, grad_bias, grad_y, x, stat1,
                            stat2, weight, shape, eps):
        numba.set_num_threads(self._threads)
        wants = (np.bool_(grad_x is not None), np.bool_(grad_weight is not None),
                 np.bool_(grad_bias is not None))
        norm_batch.batch_norm_backward(
            _or_empty(grad_x, x), _or_empty(grad_weight, x), _or_empty(grad_bias, x), wants,
            np.bool_(training), grad_y, x, _float64(stat1), _float64(stat2),
            np.bool_(stat1 is not None), _or_fill(weight, 1, shape, x), *shape, eps)

    def lrn(self, result, grad_y, x, shape, size, alpha, beta, k):
        numba.set_num_threads(self._threads)
        norm_lrn.lrn(result, _or_empty(grad_y, x), np.bool_(grad_y is not None), x, *shape,
                     size, alpha, beta, k, self._threads)

    def lcn(self, result, grad_y, x, shape, eps):
        numba.set_num_threads(self._threads)
        norm_lcn.lcn(result, _or_empty(grad_y, x), np.bool_(grad_y is not None), x, *shape, eps)

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
    def depthwise_forward(self, y, x, w, bias, params, relu=False):
        numba.set_num_threads(self._threads)
        depthwise.depthwise_forward(y, x, w, bias, params, relu)

    def depthwise_backward_input(self, grad_x, grad_y, w, params):
        numba.set_num_threads(self._threads)
        depthwise.depthwise_backward_input(grad_x, grad_y, w, params)

    def depthwise_backward_weight(self, grad_w, grad_y, x, params):
        numba.set_num_threads(self._threads)
        depthwise.depthwise_backward_weight(grad_w, grad_y, x, params)

    def separable_forward(self, y, x, dw, pw, bias, params, pointwise):
        numba.set_num_threads(self._threads)
        separable.separable_forward(y, x, dw, pw, bias, params, pointwise)


BACKEND = NumbaBackend()
