"""The kernel API: validate arguments, pick the backend, call it.

This package is the only door from Python to a backend (DESIGN.md §1); one module per kernel
family. Names, argument order and defaults follow torch.nn.functional; backward passes are public
functions (`*_backward`) that return one gradient per differentiable argument, None for what was
not asked for.
"""
from .activation import (log_softmax, log_softmax_backward, relu, relu_backward, sigmoid,
                         sigmoid_backward, softmax, softmax_backward, tanh, tanh_backward)
from .conv import (conv2d, conv2d_backward, conv_transpose2d, conv_transpose2d_backward,
                   convolve2d, convolve2d_backward)
from .gemm import gemm
from .linear import dropout, dropout_backward, linear, linear_backward
from .loss import cross_entropy, cross_entropy_backward
from .machine import gemm_kernel_name, get_num_threads, peak_gflops, set_num_threads
from .pool import (adaptive_avg_pool2d, adaptive_avg_pool2d_backward, avg_pool2d,
                   avg_pool2d_backward, global_avg_pool2d, global_avg_pool2d_backward,
                   global_max_pool2d, global_max_pool2d_backward, lp_pool2d, lp_pool2d_backward,
                   max_pool2d, max_pool2d_backward)
from .norm import (batch_norm, batch_norm_backward, local_contrast_norm,
                   local_contrast_norm_backward, local_response_norm, local_response_norm_backward)
from .depthwise import (depthwise_conv2d, depthwise_conv2d_backward, separable_conv2d,
                        separable_conv2d_backward)
from .activation import gelu, gelu_backward, relu6, relu6_backward
from .layer_norm import layer_norm, layer_norm_backward
from .attention import attention, attention_backward

# every kernel imported above (the public API; faltung re-exports this list)
__all__ = sorted(name for name, value in globals().items()
                 if callable(value) and not name.startswith("_"))
