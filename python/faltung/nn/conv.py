"""Convolution layers: Conv2d and ConvTranspose2d (PyTorch's arguments, weight layouts and
default initialisation), on faltung.functional's kernels."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .._params import pair, positive_int
from . import init
from .module import Module
from .parameter import Parameter


def _kernel(kernel_size) -> tuple[int, int]:
    kh, kw = pair(kernel_size, "kernel_size")
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel_size: expected positive values, got {kernel_size!r}")
    return kh, kw


def _divisible(channels: int, groups: int, name: str) -> None:
    if channels % groups:
        raise ValueError(f"groups: {name} ({channels}) must be divisible by groups ({groups})")


class _ConvBase(Module):
    """Weight, optional bias and geometry shared by the convolution layers; subclasses name
    their kernels and whether the weight is stored transposed ((in, out/groups, kh, kw))."""
    forward_fn = backward_fn = None
    transposed = False
    activation = None  # "relu": fused into the forward kernel (Conv2d only)

    def __init__(self, in_channels, out_channels, kernel_size, groups, bias, geometry: dict,
                 dtype, rng):
        super().__init__()
        in_channels = positive_int(in_channels, "in_channels")
        out_channels = positive_int(out_channels, "out_channels")
        groups = positive_int(groups, "groups")
        _divisible(in_channels, groups, "in_channels")
        _divisible(out_channels, groups, "out_channels")
        kh, kw = _kernel(kernel_size)
        weight_shape = ((in_channels, out_channels // groups, kh, kw) if self.transposed
                        else (out_channels, in_channels // groups, kh, kw))
        weight, bias_array = init.default_weight_and_bias(
            weight_shape, out_channels if bias else None, dtype, rng)
        self.weight = Parameter(weight)
        self.bias = Parameter(bias_array) if bias else None
        self.geometry = dict(geometry, groups=groups)

    def forward(self, x):
        bias = None if self.bias is None else self.bias.data
        fused = {"activation": self.activation} if self.activation else {}
        y = type(self).forward_fn(x, self.weight.data, bias, **self.geometry, **fused)
        self.save_for_backward(x, y if self.activation else None)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        x, y = self.saved()
        if self.activation:
            grad_out = F.relu_backward(grad_out, y)
        gx, gw, gb = type(self).backward_fn(
            grad_out, x, self.weight.data, **self.geometry,
            needs_input_grad=(bool(input_grad), True, self.bias is not None))
        self.accumulate_weight_and_bias(gw, gb)
        return gx

    def describe(self) -> str:
        shape = "x".join(map(str, self.weight.shape))
        options = ", ".join(f"{k}={v}" for k, v in self.geometry.items())
        if self.activation:
            options += f", activation={self.activation}"
        return f"{type(self).__name__}(weight {shape}, {options}, bias={self.bias is not None})"


class Conv2d(_ConvBase):
    """y = conv2d(x, weight, bias): weight (out_channels, in_channels/groups, kh, kw).
    activation="relu" fuses a ReLU into the convolution (one pass over y instead of two)."""
    forward_fn, backward_fn = F.conv2d, F.conv2d_backward

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, *, activation=None, dtype=np.float32, rng=None):
        F.conv.fused_relu(activation)  # refuses an unknown activation now, not at forward
        super().__init__(in_channels, out_channels, kernel_size, groups, bias,
                         dict(stride=stride, padding=padding, dilation=dilation), dtype, rng)
        self.activation = activation


class ConvTranspose2d(_ConvBase):
    """y = conv_transpose2d(x, weight, bias): weight (in_channels, out_channels/groups, kh, kw)."""
    forward_fn, backward_fn = F.conv_transpose2d, F.conv_transpose2d_backward
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, *, dtype=np.float32,
                 rng=None):
        super().__init__(in_channels, out_channels, kernel_size, groups, bias,
                         dict(stride=stride, padding=padding, output_padding=output_padding,
                              dilation=dilation), dtype, rng)
