"""Convolution geometry: argument normalisation, validation and output sizes.

The one place in Python where a convolution's shape logic lives (the C++ twin is
``make_conv2d_params`` in cpp/include/faltung/params.hpp). Every backend receives a
:class:`Conv2dParams` built here and trusts it.
"""
from __future__ import annotations

import math
from typing import NamedTuple


class Conv2dParams(NamedTuple):
    batch: int
    in_channels: int
    in_h: int
    in_w: int
    out_channels: int
    kernel_h: int
    kernel_w: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int
    dilation_h: int
    dilation_w: int
    groups: int
    out_h: int
    out_w: int

    @property
    def in_channels_per_group(self) -> int:
        return self.in_channels // self.groups

    @property
    def out_channels_per_group(self) -> int:
        return self.out_channels // self.groups

    @property
    def col_rows(self) -> int:
        """Rows of one group's im2col matrix: (c, kh, kw) in Caffe's order."""
        return self.in_channels_per_group * self.kernel_h * self.kernel_w

    @property
    def is_pointwise(self) -> bool:
        """1x1, stride 1, no padding: a plain GEMM on the input, no im2col."""
        return (self.kernel_h == 1 and self.kernel_w == 1 and self.stride_h == 1
                and self.stride_w == 1 and self.pad_top == 0 and self.pad_bottom == 0
                and self.pad_left == 0 and self.pad_right == 0)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the forward pass (FLOPs = 2 x MACs)."""
        return (self.batch * self.out_channels * self.out_h * self.out_w
                * self.in_channels_per_group * self.kernel_h * self.kernel_w)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) or (
        hasattr(value, "__index__") and not isinstance(value, (bool, float)))


def positive_int(value, name: str) -> int:
    """A positive int (TypeError for other types, ValueError for values < 1)."""
    if not _is_int(value):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    if int(value) < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def pair(value, name: str) -> tuple[int, int]:
    """An int or a pair of ints -> (height, width)."""
    if _is_int(value):
        return (int(value), int(value))
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        return (int(value[0]), int(value[1]))
    raise TypeError(f"{name}: expected an int or a pair of ints, got {value!r}")


def positive_pair(value, name: str) -> tuple[int, int]:
    h, w = pair(value, name)
    if h < 1 or w < 1:
        raise ValueError(f"{name}: expected positive values, got {value!r}")
    return h, w


def explicit_padding(padding, name: str = "padding") -> tuple[int, int, int, int]:
    """int, (ph, pw), (left, right, top, bottom) as torch.nn.functional.pad orders it, or
    ((top, bottom), (left, right)) as Keras/TensorFlow write it -> (top, bottom, left, right)."""
    if _is_int(padding):
        sides = (int(padding),) * 4
    elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
            isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_int(s) for s in v)
            for v in padding):
        (top, bottom), (left, right) = padding
        sides = (int(top), int(bottom), int(left), int(right))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(_is_int(v) for v in padding):
        ph, pw = int(padding[0]), int(padding[1])
        sides = (ph, ph, pw, pw)
    elif isinstance(padding, (tuple, list)) and len(padding) == 4 and all(_is_int(v) for v in padding):
        left, right, top, bottom = (int(v) for v in padding)
        sides = (top, bottom, left, right)
    else:
        raise TypeError(
            f"{name}: expected an int, a pair (ph, pw), four sides (left, right, top, bottom), "
            f"((top, bottom), (left, right)), 'valid' or 'same', got {padding!r}")
    if min(sides) < 0:
        raise ValueError(f"{name}: expected non-negative padding, got {padding!r}")
    return sides


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's 'same' rule: out = ceil(size / stride); the odd pixel goes at the end.
    For stride 1 this is PyTorch's padding='same'."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def conv_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int,
                     dilation: int) -> int:
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def make_conv2d_params(x_shape, w_shape, stride=1, padding=0, dilation=1, groups=1) -> Conv2dParams:
    """Validate a conv2d geometry (x NCHW, weight OIHW) and derive the output size."""
    if len(x_shape) != 4:
        raise ValueError(f"input: expected a 4-D array (N, C, H, W), got shape {tuple(x_shape)}")
    if len(w_shape) != 4:
        raise ValueError(
            f"weight: expected a 4-D array (out_channels, in_channels/groups, kh, kw), "
            f"got shape {tuple(w_shape)}")
    n, c, h, w = (int(v) for v in x_shape)
    o, cg, kh, kw = (int(v) for v in w_shape)
    groups = positive_int(groups, "groups")
    if c % groups != 0:
        raise ValueError(f"groups: input channels ({c}) must be divisible by groups ({groups})")
    if o % groups != 0:
        raise ValueError(f"groups: weight's out_channels ({o}) must be divisible by groups ({groups})")
    if cg * groups != c:
        raise ValueError(
            f"weight: expected in_channels/groups = {c}/{groups} = {c // groups} in dimension 1, "
            f"got weight shape {tuple(w_shape)} for input shape {tuple(x_shape)}")
    for name, v in (("input", (n, c, h, w)), ("weight", (o, cg, kh, kw))):
        if min(v) < 1:
            raise ValueError(f"{name}: expected every dimension >= 1, got shape {v}")
    sh, sw = positive_pair(stride, "stride")
    dh, dw = positive_pair(dilation, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            top = bottom = left = right = 0
        elif padding == "same":
            top, bottom = same_padding(h, kh, sh, dh)
            left, right = same_padding(w, kw, sw, dw)
        else:
            raise ValueError(f"padding: expected 'valid' or 'same' as a string, got {padding!r}")
    else:
        top, bottom, left, right = explicit_padding(padding)
    eff_h, eff_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if eff_h > h + top + bottom or eff_w > w + left + right:
        raise ValueError(
            f"weight: kernel (dilated size {eff_h}x{eff_w}) is larger than the padded input "
            f"({h + top + bottom}x{w + left + right})")
    oh = conv_output_size(h, kh, sh, top, bottom, dh)
    ow = conv_output_size(w, kw, sw, left, right, dw)
    return Conv2dParams(n, c, h, w, o, kh, kw, sh, sw, top, bottom, left, right, dh, dw, groups, oh, ow)
