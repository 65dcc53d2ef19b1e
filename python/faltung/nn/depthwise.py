"""DepthwiseConv2d and SeparableConv2d layers (MobileNet, Xception) on the direct depthwise
kernels; PyTorch's default initialisation (fan_in of a depthwise weight: kh * kw)."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .._params import positive_int
from . import init
from .conv import _kernel
from .module import Module
from .parameter import Parameter


class DepthwiseConv2d(Module):
    """Each of the C input channels convolved with its own `multiplier` kernels: weight
    (C * multiplier, 1, kh, kw), output channel c * multiplier + j (PyTorch's Conv2d with
    groups=C, Keras's DepthwiseConv2D)."""

    def __init__(self, channels, kernel_size, stride=1, padding=0, dilation=1, multiplier=1,
                 bias=True, *, dtype=np.float32, rng=None):
        super().__init__()
        channels = positive_int(channels, "channels")
        multiplier = positive_int(multiplier, "multiplier")
        kh, kw = _kernel(kernel_size)
        out = channels * multiplier
        weight, bias_array = init.default_weight_and_bias((out, 1, kh, kw), out if bias else None,
                                                          dtype, rng)
        self.weight = Parameter(weight)
        self.bias = Parameter(bias_array) if bias else None
        self.geometry = dict(stride=stride, padding=padding, dilation=dilation)

    def forward(self, x):
        y = F.depthwise_conv2d(x, self.weight.data, None if self.bias is None else self.bias.data,
                               **self.geometry)
        self.save_for_backward(x)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        (x,) = self.saved()
        gx, gw, gb = F.depthwise_conv2d_backward(
            grad_out, x, self.weight.data, **self.geometry,
            needs_input_grad=(input_grad, True, self.bias is not None))
        self.accumulate_weight_and_bias(gw, gb)
        return gx

    def describe(self) -> str:
        return f"DepthwiseConv2d(weight {'x'.join(map(str, self.weight.shape))}, {self.geometry})"


class SeparableConv2d(Module):
    """Keras's SeparableConv2D: depthwise (C * multiplier, 1, kh, kw), then pointwise
    (out, C * multiplier, 1, 1), one bias (out,), no activation in between. Parameters are named
    depthwise_weight, pointwise_weight, bias."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 multiplier=1, bias=True, *, dtype=np.float32, rng=None):
        super().__init__()
        in_channels = positive_int(in_channels, "in_channels")
        out_channels = positive_int(out_channels, "out_channels")
        multiplier = positive_int(multiplier, "multiplier")
        kh, kw = _kernel(kernel_size)
        middle = in_channels * multiplier
        depthwise, _ = init.default_weight_and_bias((middle, 1, kh, kw), None, dtype, rng)
        pointwise, bias_array = init.default_weight_and_bias(
            (out_channels, middle, 1, 1), out_channels if bias else None, dtype, rng)
        self.depthwise_weight = Parameter(depthwise)
        self.pointwise_weight = Parameter(pointwise)
        self.bias = Parameter(bias_array) if bias else None
        self.geometry = dict(stride=stride, padding=padding, dilation=dilation)

    def forward(self, x):
        y = F.separable_conv2d(x, self.depthwise_weight.data, self.pointwise_weight.data,
                               None if self.bias is None else self.bias.data, **self.geometry)
        self.save_for_backward(x)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        (x,) = self.saved()
        gx, gdw, gpw, gb = F.separable_conv2d_backward(
            grad_out, x, self.depthwise_weight.data, self.pointwise_weight.data, **self.geometry,
            needs_input_grad=(input_grad, True, True, self.bias is not None))
        self.accumulate(self.depthwise_weight, gdw)
        self.accumulate(self.pointwise_weight, gpw)
        if self.bias is not None:
            self.accumulate(self.bias, gb)
        return gx

    def describe(self) -> str:
        return (f"SeparableConv2d(depthwise {'x'.join(map(str, self.depthwise_weight.shape))}, "
                f"pointwise {'x'.join(map(str, self.pointwise_weight.shape))}, {self.geometry})")
