"""The kernel API: validate arguments, pick the backend, call it.

This package is the only door from Python to a backend (DESIGN.md §1); one module per kernel
family. Names, argument order and defaults follow torch.nn.functional; backward passes are public
functions (`*_backward`) that return one gradient per differentiable argument, None for what was
not asked for.
"""
from .conv import (conv2d, conv2d_backward, conv_transpose2d, conv_transpose2d_backward,
                   convolve2d, convolve2d_backward)
from .gemm import gemm
from .machine import gemm_kernel_name, get_num_threads, peak_gflops, set_num_threads
from .pool import (adaptive_avg_pool2d, adaptive_avg_pool2d_backward, avg_pool2d,
                   avg_pool2d_backward, global_avg_pool2d, global_avg_pool2d_backward,
                   global_max_pool2d, global_max_pool2d_backward, lp_pool2d, lp_pool2d_backward,
                   max_pool2d, max_pool2d_backward)

__all__ = [
    "conv2d", "conv2d_backward", "conv_transpose2d", "conv_transpose2d_backward", "convolve2d",
    "convolve2d_backward", "gemm", "gemm_kernel_name", "get_num_threads", "peak_gflops",
    "set_num_threads",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward", "lp_pool2d",
    "lp_pool2d_backward", "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward",
    "global_avg_pool2d", "global_avg_pool2d_backward", "global_max_pool2d",
    "global_max_pool2d_backward",
]
