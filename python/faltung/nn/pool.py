"""Pooling layers on faltung.functional's pooling kernels (PyTorch's arguments): MaxPool2d,
AvgPool2d, LPPool2d, AdaptiveAvgPool2d, GlobalAvgPool2d and GlobalMaxPool2d (the lecture's
"edge lover" net pools over the whole map)."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class _Pool(Module):
    """A pooling layer without parameters: `options` are passed to both kernels."""

    def __init__(self, **options):
        super().__init__()
        self.options = options

    def describe(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.options.items())})"


class MaxPool2d(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__(kernel_size=kernel_size, stride=stride, padding=padding,
                         dilation=dilation, ceil_mode=ceil_mode)

    def forward(self, x):
        y, indices = F.max_pool2d(x, **self.options, return_indices=True)
        self.save_for_backward(x, indices)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        x, indices = self.saved()
        return F.max_pool2d_backward(grad_out, x, indices, **self.options) if input_grad else None


class GlobalMaxPool2d(_Pool):
    """(N, C, H, W) -> (N, C, 1, 1): the maximum of each map."""

    def forward(self, x):
        y, indices = F.global_max_pool2d(x, return_indices=True)
        self.save_for_backward(x, indices)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        x, indices = self.saved()
        return F.global_max_pool2d_backward(grad_out, x, indices) if input_grad else None


class _InputOnlyPool(_Pool):
    """Pooling whose backward needs only the input: forward_fn(x, **options),
    backward_fn(grad_out, x, **options)."""
    forward_fn = backward_fn = None

    def forward(self, x):
        y = type(self).forward_fn(x, **self.options)
        self.save_for_backward(x)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        (x,) = self.saved()
        return type(self).backward_fn(grad_out, x, **self.options) if input_grad else None


class AvgPool2d(_InputOnlyPool):
    """padding may also be "same" (Keras: the average over the real cells only) or "valid"."""
    forward_fn, backward_fn = F.avg_pool2d, F.avg_pool2d_backward

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__(kernel_size=kernel_size, stride=stride, padding=padding,
                         ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                         divisor_override=divisor_override)


class LPPool2d(_InputOnlyPool):
    """(sum over the window of x^p)^(1/p); norm_type 2 is the lecture's L2 pooling."""
    forward_fn, backward_fn = F.lp_pool2d, F.lp_pool2d_backward

    def __init__(self, norm_type, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__(norm_type=norm_type, kernel_size=kernel_size, stride=stride,
                         padding=padding, ceil_mode=ceil_mode)


class AdaptiveAvgPool2d(_InputOnlyPool):
    forward_fn, backward_fn = F.adaptive_avg_pool2d, F.adaptive_avg_pool2d_backward

    def __init__(self, output_size):
        super().__init__(output_size=output_size)


class GlobalAvgPool2d(_InputOnlyPool):
    """(N, C, H, W) -> (N, C, 1, 1): the mean of each map."""
    forward_fn, backward_fn = F.global_avg_pool2d, F.global_avg_pool2d_backward
