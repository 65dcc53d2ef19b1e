"""Pooling geometry: argument normalisation, validation, output sizes and window tables.

The one place in Python where pooling's shape logic lives (the C++ twin is
``make_pool2d_params`` in cpp/include/faltung/pool.hpp and cpp/cpu/pool_params.cpp). Every backend
receives a :class:`Pool2dParams` built here and trusts it.

Rules (PyTorch's): stride defaults to kernel_size; padding (int, pair, four sides, Keras's nested
form, "valid" or "same") is at most half the dilated kernel per side; the output size is
``floor((in + pads - dilated_kernel) / stride) + 1``, or with ceil_mode the ceiling, minus a last
window that would start inside the right padding. "same" is TensorFlow's rule (out =
ceil(in / stride), the odd padding cell at the end). A window made of padding cells only (possible
with dilation) is refused.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from ._params import _is_int, explicit_padding, positive_pair, same_padding


class Pool2dParams(NamedTuple):
    batch: int
    channels: int
    in_h: int
    in_w: int
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
    ceil_mode: int          # 0/1
    adaptive: int           # 0/1: PyTorch's adaptive windows (kernel, stride, padding unused)
    count_include_pad: int  # 0/1
    divisor: int            # divisor_override, 0 for none
    out_h: int
    out_w: int


class AxisWindows(NamedTuple):
    """Windows of every output index along one axis: real taps lo, lo + dilation, ... < hi;
    span = the window's length inside the padded input; first_tap = kernel index of tap lo."""
    lo: np.ndarray
    hi: np.ndarray
    span: np.ndarray
    first_tap: np.ndarray


def flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {value!r}")
    return bool(value)


def _output_size(size, eff, stride, before, after, ceil_mode):
    out = (size + before + after - eff + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + before:
        out -= 1
    return out


def axis_windows(p: Pool2dParams, axis: int) -> AxisWindows:
    rows = axis == 0
    size, out = (p.in_h, p.out_h) if rows else (p.in_w, p.out_w)
    o = np.arange(out, dtype=np.int64)
    if p.adaptive:
        lo = o * size // out
        hi = ((o + 1) * size + out - 1) // out
        return AxisWindows(lo, hi, hi - lo, np.zeros_like(o))
    if rows:
        k, s, d = p.kernel_h, p.stride_h, p.dilation_h
    else:
        k, s, d = p.kernel_w, p.stride_w, p.dilation_w
    before, after = (p.pad_top, p.pad_bottom) if rows else (p.pad_left, p.pad_right)
    start = o * s - before
    end = start + (k - 1) * d + 1
    span = np.minimum(end, size + after) - start
    first_tap = np.where(start < 0, (-start + d - 1) // d, 0)
    return AxisWindows(start + first_tap * d, np.minimum(end, size), span, first_tap)


def _pads(padding, size_hw, kernel, stride, dilation):
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            return (same_padding(size_hw[0], kernel[0], stride[0], dilation[0])
                    + same_padding(size_hw[1], kernel[1], stride[1], dilation[1]))
        raise ValueError(f"padding: expected 'valid' or 'same' as a string, got {padding!r}")
    return explicit_padding(padding)


def make_pool2d_params(x_shape, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                       count_include_pad=True, divisor_override=None) -> Pool2dParams:
    """Validate a pooling geometry over x (N, C, H, W) and derive the output size."""
    n, c, h, w = _input_dims(x_shape)
    kh, kw = positive_pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if stride is None else positive_pair(stride, "stride")
    dh, dw = positive_pair(dilation, "dilation")
    ceil_mode = flag(ceil_mode, "ceil_mode")
    count_include_pad = flag(count_include_pad, "count_include_pad")
    if divisor_override is None:
        divisor = 0
    elif not _is_int(divisor_override):
        raise TypeError(f"divisor_override: expected None or an int, got {divisor_override!r}")
    elif int(divisor_override) < 1:
        raise ValueError(f"divisor_override: expected a positive int, got {divisor_override!r}")
    else:
        divisor = int(divisor_override)
    top, bottom, left, right = _pads(padding, (h, w), (kh, kw), (sh, sw), (dh, dw))
    eff_h, eff_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if 2 * max(top, bottom) > eff_h or 2 * max(left, right) > eff_w:
        raise ValueError(
            f"padding: expected 0 <= padding <= half the (dilated) kernel size "
            f"({eff_h // 2}, {eff_w // 2}), got (top, bottom, left, right) = "
            f"({top}, {bottom}, {left}, {right})")
    if eff_h > h + top + bottom or eff_w > w + left + right:
        raise ValueError(
            f"kernel_size: the (dilated) kernel {eff_h}x{eff_w} is larger than the padded input "
            f"{h + top + bottom}x{w + left + right}")
    oh = _output_size(h, eff_h, sh, top, bottom, ceil_mode)
    ow = _output_size(w, eff_w, sw, left, right, ceil_mode)
    p = Pool2dParams(n, c, h, w, kh, kw, sh, sw, top, bottom, left, right, dh, dw, int(ceil_mode),
                     0, int(count_include_pad), divisor, oh, ow)
    # Without dilation every window holds a real cell (padding is at most half the kernel, and
    # ceil_mode drops a window that would start in the right padding): only dilated taps can
    # jump over the whole input, so only dilated axes are checked (the check builds arrays:
    # most of a small layer's call time).
    for axis, name, dilation in ((0, "height", dh), (1, "width", dw)):
        if dilation == 1:
            continue
        win = axis_windows(p, axis)
        if np.any(win.lo >= win.hi):
            raise ValueError(f"dilation: a window along the {name} holds only padding cells; "
                             f"reduce padding or dilation")
    return p


def make_adaptive_pool2d_params(x_shape, output_size) -> Pool2dParams:
    """PyTorch's adaptive windows over x (N, C, H, W); output_size is an int or a pair whose
    entries may be None (keep that input size)."""
    n, c, h, w = _input_dims(x_shape)
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        sizes = tuple(size if v is None else v for v, size in zip(output_size, (h, w)))
    else:
        sizes = output_size
    oh, ow = positive_pair(sizes, "output_size")
    return _adaptive(n, c, h, w, oh, ow)


def make_global_pool2d_params(x_shape) -> Pool2dParams:
    """One window per (n, c) plane over x (N, C, H, W): adaptive windows to 1x1, without
    parsing an output_size (the cheap path of the global heads, docs/performance.md P20)."""
    return _global_params(tuple(x_shape))


@functools.lru_cache(maxsize=64)
def _global_params(x_shape: tuple) -> Pool2dParams:
    # a shape seen before was validated then (the params are immutable); a refused one raises
    # each time (lru_cache keeps no exception)
    return _adaptive(*_input_dims(x_shape), 1, 1)


def _adaptive(n, c, h, w, oh, ow) -> Pool2dParams:
    return Pool2dParams(n, c, h, w, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, oh, ow)


def _input_dims(x_shape):
    if len(x_shape) != 4:
        raise ValueError(f"input: expected a 4-D array (N, C, H, W), got shape {tuple(x_shape)}")
    dims = tuple(map(int, x_shape))
    if min(dims) < 1:
        raise ValueError(f"input: expected every dimension >= 1, got shape {dims}")
    return dims
