"""faltung: compiled convolution kernels (convolution as GEMM on our own AVX2/AVX-512
micro-kernels, OpenMP) with Numba fallbacks, called on NumPy arrays. See docs/api.md."""
from .backends import available_backends, get_backend, set_backend
from .functional import (conv2d, conv2d_backward, conv_transpose2d, conv_transpose2d_backward,
                         convolve2d, convolve2d_backward, gemm, gemm_kernel_name,
                         get_num_threads, peak_gflops, set_num_threads)
from .functional import (adaptive_avg_pool2d, adaptive_avg_pool2d_backward, avg_pool2d,
                         avg_pool2d_backward, global_avg_pool2d, global_avg_pool2d_backward,
                         global_max_pool2d, global_max_pool2d_backward, lp_pool2d,
                         lp_pool2d_backward, max_pool2d, max_pool2d_backward)

__version__ = "0.1.0"

__all__ = [
    "available_backends", "conv2d", "conv2d_backward", "conv_transpose2d",
    "conv_transpose2d_backward", "convolve2d", "convolve2d_backward", "gemm",
    "gemm_kernel_name", "get_backend", "peak_gflops",
    "get_num_threads", "set_backend", "set_num_threads", "__version__",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward", "lp_pool2d",
    "lp_pool2d_backward", "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward",
    "global_avg_pool2d", "global_avg_pool2d_backward", "global_max_pool2d",
    "global_max_pool2d_backward",
]
