"""Depthwise and depthwise-separable convolution, forward and backward.

Depthwise: every input channel c is correlated with its own M kernels (M, the channel multiplier,
is weight.shape[0] // C); output channel c*M + j comes from input channel c and kernel c*M + j.
The geometry is a conv2d with groups = C, so stride, padding ("same": TensorFlow's rule) and
dilation mean what they mean for conv2d; the kernels are direct (no grouped im2col).

Separable (Keras's SeparableConv2D): the depthwise convolution, then a 1x1 convolution mixing
its C*M channels into O, one bias (O,) after it, no activation in between. The forward is one
backend call (the C++ consumes the depthwise output tile by tile in the pointwise GEMM on maps
of >= 256 pixels, else materialises it; docs/performance.md); the backward composes the
depthwise and conv2d kernels and recomputes the depthwise output.
"""
from __future__ import annotations

import numpy as np

from .. import backends
from .._params import make_conv2d_params
from .._validation import (as_float_array, check_shape, flag_triple, out_triple, output,
                          same_dtype)
from .conv import _bias


def depthwise_params(x_shape, w_shape, stride, padding, dilation, weight_name="weight"):
    """The Conv2dParams (groups = C) of a depthwise convolution of x by a (C*M, 1, kh, kw) weight."""
    c, (o, one) = x_shape[1], w_shape[:2]
    if one != 1 or o % c != 0:
        raise ValueError(
            f"{weight_name}: expected shape (C*M, 1, kh, kw) with C = {c} input channels and a "
            f"channel multiplier M >= 1, got {tuple(w_shape)}")
    return make_conv2d_params(x_shape, w_shape, stride, padding, dilation, groups=c)


def _depthwise_inputs(x, weight, stride, padding, dilation, weight_name="weight"):
    x = as_float_array(x, "input", ndim=4)
    weight = as_float_array(weight, weight_name, ndim=4)
    same_dtype(x, **{weight_name: weight})
    return x, weight, depthwise_params(x.shape, weight.shape, stride, padding, dilation,
                                       weight_name)


def _grad_out(grad_out, x, shape):
    grad_out = as_float_array(grad_out, "grad_out", ndim=4)
    same_dtype(x, grad_out=grad_out)
    check_shape(grad_out, shape, "grad_out")
    return grad_out


def depthwise_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, *, out=None):
    """Depthwise cross-correlation of x (N, C, H, W) with weight (C*M, 1, kh, kw), plus bias (C*M,)."""
    x, weight, p = _depthwise_inputs(x, weight, stride, padding, dilation)
    bias = _bias(bias, p.out_channels, x.dtype)
    y = output(out, (p.batch, p.out_channels, p.out_h, p.out_w), x.dtype)
    backends.current().depthwise_forward(y, x, weight, bias, p)
    return y


def depthwise_conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, *,
                              needs_input_grad=(True, True, True), out=(None, None, None)):
    """Gradients of depthwise_conv2d with respect to (input, weight, bias) given grad_out = dL/dy."""
    x, weight, p = _depthwise_inputs(x, weight, stride, padding, dilation)
    want_x, want_w, want_b = flag_triple(needs_input_grad, "needs_input_grad")
    out_x, out_w, out_b = out_triple(out)
    grad_out = _grad_out(grad_out, x, (p.batch, p.out_channels, p.out_h, p.out_w))
    backend = backends.current()
    gx = gw = gb = None
    if want_x:
        gx = output(out_x, x.shape, x.dtype, "out[0]")
        backend.depthwise_backward_input(gx, grad_out, weight, p)
    if want_w:
        gw = output(out_w, weight.shape, x.dtype, "out[1]")
        backend.depthwise_backward_weight(gw, grad_out, x, p)
    if want_b:
        gb = output(out_b, (p.out_channels,), x.dtype, "out[2]")
        backend.conv2d_backward_bias(gb, grad_out, p)
    return gx, gw, gb


# ------------------------------------------------------------------------------------ separable

def _separable_inputs(x, depthwise_weight, pointwise_weight, stride, padding, dilation):
    x, dw, p = _depthwise_inputs(x, depthwise_weight, stride, padding, dilation,
                                 "depthwise_weight")
    pw = as_float_array(pointwise_weight, "pointwise_weight", ndim=4)
    same_dtype(x, pointwise_weight=pw)
    if pw.shape[1:] != (p.out_channels, 1, 1):
        raise ValueError(
            f"pointwise_weight: expected shape (O, {p.out_channels}, 1, 1) (the depthwise "
            f"output has C*M = {p.out_channels} channels), got {pw.shape}")
    pointwise = make_conv2d_params((p.batch, p.out_channels, p.out_h, p.out_w), pw.shape)
    return x, dw, pw, p, pointwise


def separable_conv2d(x, depthwise_weight, pointwise_weight, bias=None, stride=1, padding=0,
                     dilation=1, *, out=None):
    """Keras's separable convolution: depthwise (C*M, 1, kh, kw), then pointwise (O, C*M, 1, 1),
    then one bias (O,); no activation in between."""
    x, dw, pw, p, pointwise = _separable_inputs(x, depthwise_weight, pointwise_weight, stride,
                                                padding, dilation)
    bias = _bias(bias, pointwise.out_channels, x.dtype)
    y = output(out, (p.batch, pointwise.out_channels, p.out_h, p.out_w), x.dtype)
    backends.current().separable_forward(y, x, dw, pw, bias, p, pointwise)
    return y


def separable_conv2d_backward(grad_out, x, depthwise_weight, pointwise_weight, stride=1,
                              padding=0, dilation=1, *,
                              needs_input_grad=(True, True, True, True), out=None):
    """Gradients of separable_conv2d with respect to (input, depthwise_weight, pointwise_weight,
    bias); the depthwise output is recomputed (it is not an argument)."""
    x, dw, pw, p, pointwise = _separable_inputs(x, depthwise_weight, pointwise_weight, stride,
                                                padding, dilation)
    if not isinstance(needs_input_grad, (tuple, list)) or len(needs_input_grad) != 4:
        raise TypeError(f"needs_input_grad: expected four booleans (input, depthwise_weight, "
                        f"pointwise_weight, bias), got {needs_input_grad!r}")
    want_x, want_dw, want_pw, want_b = (bool(v) for v in needs_input_grad)
    if out is None:
        out = (None,) * 4
    if not isinstance(out, (tuple, list)) or len(out) != 4:
        raise TypeError(f"out: expected a 4-tuple (grad_x, grad_depthwise, grad_pointwise, "
                        f"grad_bias) of arrays or None, got {out!r}")
    grad_out = _grad_out(grad_out, x, (p.batch, pointwise.out_channels, p.out_h, p.out_w))
    backend = backends.current()
    gx = gdw = gpw = gb = None
    mid_shape = (p.batch, p.out_channels, p.out_h, p.out_w)
    if want_pw:
        t = np.empty(mid_shape, dtype=x.dtype)
        backend.depthwise_forward(t, x, dw, None, p)
        gpw = output(out[2], pw.shape, x.dtype, "out[2]")
        backend.conv2d_backward_weight(gpw, grad_out, t, pointwise)
    if want_b:
        gb = output(out[3], (pointwise.out_channels,), x.dtype, "out[3]")
        backend.conv2d_backward_bias(gb, grad_out, pointwise)
    if want_x or want_dw:
        grad_t = np.empty(mid_shape, dtype=x.dtype)
        backend.conv2d_backward_input(grad_t, grad_out, pw, pointwise)
        if want_x:
            gx = output(out[0], x.shape, x.dtype, "out[0]")
            backend.depthwise_backward_input(gx, grad_t, dw, p)
        if want_dw:
            gdw = output(out[1], dw.shape, x.dtype, "out[1]")
            backend.depthwise_backward_weight(gdw, grad_t, x, p)
    return gx, gdw, gpw, gb
