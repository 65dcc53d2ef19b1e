"""conv2d (cross-correlation), the true convolution and conv_transpose2d, forward and backward.

Backward passes are public functions returning (grad_input, grad_weight, grad_bias) with None for
what was not asked for.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import backends
from .._params import make_conv2d_params, pair, positive_int, positive_pair
from .._validation import (as_float_array, check_shape, flag_triple, out_triple, output,
                          same_dtype)


def _conv_inputs(x, weight, stride, padding, dilation, groups, x_name="input"):
    x = as_float_array(x, x_name, ndim=4)
    weight = as_float_array(weight, "weight", ndim=4)
    same_dtype(x, weight=weight)
    params = make_conv2d_params(x.shape, weight.shape, stride, padding, dilation, groups)
    return x, weight, params


def _bias(bias, channels: int, dtype) -> np.ndarray | None:
    if bias is None:
        return None
    bias = as_float_array(bias, "bias", ndim=1)
    if bias.dtype != dtype:
        raise TypeError(f"bias: expected dtype {dtype} like the input, got {bias.dtype}")
    check_shape(bias, (channels,), "bias")
    return bias


ACTIVATIONS = (None, "relu")


def fused_relu(activation) -> bool:
    """True for a fused ReLU, False for none; anything else is refused."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected None or 'relu', got {activation!r}")
    return activation == "relu"


def _is_depthwise(p) -> bool:
    """groups = C > 1 with one input channel per group: the direct depthwise kernels run it
    (depthwise.py), not the grouped GEMM."""
    return p.groups > 1 and p.in_channels_per_group == 1


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, activation=None,
           out=None):
    """2-D cross-correlation of x (N, C, H, W) with weight (O, C/groups, kh, kw), plus bias (O,).

    activation="relu" applies max(., 0) to each output as it is written (fused: no second pass
    over y); its gradient is relu_backward(grad_out, y) before conv2d_backward."""
    relu = fused_relu(activation)
    x, weight, p = _conv_inputs(x, weight, stride, padding, dilation, groups)
    bias = _bias(bias, p.out_channels, x.dtype)
    y = output(out, (p.batch, p.out_channels, p.out_h, p.out_w), x.dtype)
    backend = backends.current()
    forward = backend.depthwise_forward if _is_depthwise(p) else backend.conv2d_forward
    forward(y, x, weight, bias, p, relu)
    return y


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1, *,
                    needs_input_grad=(True, True, True), out=(None, None, None)):
    """Gradients of conv2d with respect to (input, weight, bias) given grad_out = dL/dy."""
    x, weight, p = _conv_inputs(x, weight, stride, padding, dilation, groups)
    want_x, want_w, want_b = flag_triple(needs_input_grad, "needs_input_grad")
    out_x, out_w, out_b = out_triple(out)
    grad_out = as_float_array(grad_out, "grad_out", ndim=4)
    same_dtype(x, grad_out=grad_out)
    check_shape(grad_out, (p.batch, p.out_channels, p.out_h, p.out_w), "grad_out")
    backend = backends.current()
    depthwise = _is_depthwise(p)
    gx = gw = gb = None
    if want_x:
        gx = output(out_x, x.shape, x.dtype, "out[0]")
        (backend.depthwise_backward_input if depthwise
         else backend.conv2d_backward_input)(gx, grad_out, weight, p)
    if want_w:
        gw = output(out_w, weight.shape, x.dtype, "out[1]")
        (backend.depthwise_backward_weight if depthwise
         else backend.conv2d_backward_weight)(gw, grad_out, x, p)
    if want_b:
        gb = output(out_b, (p.out_channels,), x.dtype, "out[2]")
        backend.conv2d_backward_bias(gb, grad_out, p)
    return gx, gw, gb


# ---------------------------------------------------------------------------- true convolution

def _flipped(weight) -> np.ndarray:
    weight = as_float_array(weight, "weight", ndim=4)
    return np.ascontiguousarray(weight[:, :, ::-1, ::-1])


def convolve2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, out=None):
    """The true convolution of the lecture notes: the kernel is flipped in both spatial axes,
    then correlated (conv2d computes the cross-correlation, as every DL library does)."""
    return conv2d(x, _flipped(weight), bias, stride, padding, dilation, groups, out=out)


def convolve2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1, *,
                        needs_input_grad=(True, True, True), out=(None, None, None)):
    """Gradients of convolve2d with respect to (input, weight, bias)."""
    gx, gw, gb = conv2d_backward(grad_out, x, _flipped(weight), stride, padding, dilation, groups,
                                 needs_input_grad=needs_input_grad, out=out)
    if gw is not None:
        gw[...] = gw[:, :, ::-1, ::-1].copy()
    return gx, gw, gb


# --------------------------------------------------------------------------- conv_transpose2d

class _TransposeGeometry(NamedTuple):
    """conv_transpose2d as the adjoint of a conv2d: `params` is the conv2d whose input-gradient
    is the transposed convolution's output rows [0, rows) and columns [0, cols); the rest of the
    output (out_h x out_w) receives no contribution (only output_padding beyond the padding, i.e.
    dilation > stride, produces such rows). `params` is None when no output pixel receives any."""
    params: object
    out_h: int
    out_w: int
    batch: int
    out_channels: int

    @property
    def cropped(self) -> bool:
        return self.params is None or (self.params.in_h, self.params.in_w) != (self.out_h, self.out_w)


def _transpose_axis(size, kernel, stride, padding, output_padding, dilation):
    """(output size, rows of it the adjoint conv2d covers, that conv2d's far-side padding)."""
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    pad_after = max(0, padding - output_padding)
    covered = (size - 1) * stride + dilation * (kernel - 1) + 1 - padding - pad_after
    return out, min(out, covered), pad_after


def _transpose_geometry(x, weight, stride, padding, output_padding, groups, dilation):
    x = as_float_array(x, "input", ndim=4)
    weight = as_float_array(weight, "weight", ndim=4)
    same_dtype(x, weight=weight)
    n, c_in, h, w = x.shape
    if weight.shape[0] != c_in:
        raise ValueError(f"weight: expected in_channels = {c_in} in dimension 0 "
                         f"(weight is (in, out/groups, kh, kw)), got shape {weight.shape}")
    groups = positive_int(groups, "groups")
    if c_in % groups:
        raise ValueError(f"groups: input channels ({c_in}) must be divisible by groups ({groups})")
    sh, sw = positive_pair(stride, "stride")
    dh, dw = positive_pair(dilation, "dilation")
    ph, pw = pair(padding, "padding")
    oph, opw = pair(output_padding, "output_padding")
    if min(ph, pw) < 0:
        raise ValueError(f"padding: expected non-negative padding, got {padding!r}")
    if min(oph, opw) < 0 or oph >= max(sh, dh) or opw >= max(sw, dw):
        raise ValueError(f"output_padding: expected 0 <= output_padding < max(stride, dilation) "
                         f"per axis, got {output_padding!r} with stride {stride!r}, dilation {dilation!r}")
    kh, kw = weight.shape[2], weight.shape[3]
    out_h, rows, pad_bottom = _transpose_axis(h, kh, sh, ph, oph, dh)
    out_w, cols, pad_right = _transpose_axis(w, kw, sw, pw, opw, dw)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"padding: the output would be {out_h}x{out_w}; reduce padding {padding!r}")
    c_out = weight.shape[1] * groups
    params = None
    if rows >= 1 and cols >= 1:
        params = make_conv2d_params((n, c_out, rows, cols), weight.shape, (sh, sw),
                                    ((ph, pad_bottom), (pw, pad_right)), (dh, dw), groups)
    return x, weight, _TransposeGeometry(params, out_h, out_w, n, c_out)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, out=None):
    """Transposed convolution (PyTorch's signature); weight is (in, out/groups, kh, kw)."""
    x, weight, geo = _transpose_geometry(x, weight, stride, padding, output_padding, groups,
                                         dilation)
    p = geo.params
    bias = _bias(bias, geo.out_channels, x.dtype)
    y = output(out, (geo.batch, geo.out_channels, geo.out_h, geo.out_w), x.dtype)
    if not geo.cropped:
        backends.current().conv2d_backward_input(y, x, weight, p)
    else:
        y.fill(0)
        if p is not None:
            covered = np.empty((p.batch, p.in_channels, p.in_h, p.in_w), dtype=x.dtype)
            backends.current().conv2d_backward_input(covered, x, weight, p)
            y[:, :, :p.in_h, :p.in_w] = covered
    if bias is not None:
        y += bias[:, None, None]
    return y


def conv_transpose2d_backward(grad_out, x, weight, stride=1, padding=0, output_padding=0,
                              groups=1, dilation=1, *, needs_input_grad=(True, True, True),
                              out=(None, None, None)):
    """Gradients of conv_transpose2d with respect to (input, weight, bias)."""
    x, weight, geo = _transpose_geometry(x, weight, stride, padding, output_padding, groups,
                                         dilation)
    p = geo.params
    want_x, want_w, want_b = flag_triple(needs_input_grad, "needs_input_grad")
    out_x, out_w, out_b = out_triple(out)
    grad_out = as_float_array(grad_out, "grad_out", ndim=4)
    same_dtype(x, grad_out=grad_out)
    check_shape(grad_out, (geo.batch, geo.out_channels, geo.out_h, geo.out_w), "grad_out")
    covered = grad_out
    if geo.cropped and p is not None:
        covered = np.ascontiguousarray(grad_out[:, :, :p.in_h, :p.in_w])
    backend = backends.current()
    gx = gw = gb = None
    if want_x:
        gx = output(out_x, x.shape, x.dtype, "out[0]")
        if p is None:
            gx.fill(0)
        else:
            backend.conv2d_forward(gx, covered, weight, None, p)
    if want_w:
        gw = output(out_w, weight.shape, x.dtype, "out[1]")
        if p is None:
            gw.fill(0)
        else:
            backend.conv2d_backward_weight(gw, x, covered, p)
    if want_b:
        gb = output(out_b, (geo.out_channels,), x.dtype, "out[2]")
        np.sum(grad_out, axis=(0, 2, 3), out=gb)
    return gx, gw, gb
