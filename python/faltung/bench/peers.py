"""The peers faltung is compared with, and the float64 references it is checked against.

- NumPy: conv2d as im2col + matmul, one image at a time in Caffe's loop (a 1x1/stride-1/pad-0
  layer skips im2col, as faltung does), its two gradient passes the same way (col2im by strided
  adds); GEMM as np.matmul. Every buffer is allocated once, outputs go through out=.
- PyTorch (when installed): torch.nn.functional.conv2d and torch.ops.aten.convolution_backward
  on NCHW (contiguous) or channels_last tensors; GEMM as torch.matmul(out=). PyTorch's convolution
  has no out=, so it allocates its result on every call: that is the cost its users pay.

Each builder returns {pass or layout: callable}; a callable runs the op and returns its result
(a NumPy array or a torch tensor).
"""
from __future__ import annotations

import functools

import numpy as np

from .shapes import ConvShape, GemmShape


@functools.lru_cache(maxsize=None)
def torch_module():
    """The torch module, or None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


class NumpyConv:
    """im2col + np.matmul for one conv shape and dtype, every buffer allocated once."""

    def __init__(self, shape: ConvShape, dtype=np.float32):
        s = self.shape = shape
        k, os_, padded = s.kernel, s.out_size, s.size + 2 * s.padding
        self.pointwise = k == 1 and s.stride == 1 and s.padding == 0
        self.padded = np.zeros((s.in_ch, padded, padded), dtype)
        self.grad_padded = np.zeros((s.in_ch, padded, padded), dtype)
        self.col = np.empty((s.in_ch, k, k, os_, os_), dtype)
        self.col2d = self.col.reshape(s.in_ch * k * k, os_ * os_)
        self.partial_w = np.empty((s.out_ch, s.in_ch * k * k), dtype)

    def _windows(self):
        """(i, j, rows, cols): kernel tap (i, j) and the padded-input slices it reads."""
        s, last = self.shape, self.shape.stride * (self.shape.out_size - 1) + 1
        for i in range(s.kernel):
            for j in range(s.kernel):
                yield i, j, slice(i, i + last, s.stride), slice(j, j + last, s.stride)

    def _im2col(self, image):
        """(C, H, W) -> (C*kh*kw, OH*OW) in Caffe's order."""
        if self.pointwise:
            return image.reshape(self.shape.in_ch, -1)
        p, size = self.shape.padding, self.shape.size
        self.padded[:, p:p + size, p:p + size] = image
        for i, j, rows, cols in self._windows():
            self.col[:, i, j] = self.padded[:, rows, cols]
        return self.col2d

    def forward(self, x, w, out):
        w2d = w.reshape(self.shape.out_ch, -1)
        for n in range(self.shape.batch):
            np.matmul(w2d, self._im2col(x[n]), out=out[n].reshape(self.shape.out_ch, -1))
        return out

    def input_grad(self, gy, w, out):
        s, p = self.shape, self.shape.padding
        w2d_t = w.reshape(s.out_ch, -1).T
        for n in range(s.batch):
            gy2d = gy[n].reshape(s.out_ch, -1)
            if self.pointwise:
                np.matmul(w2d_t, gy2d, out=out[n].reshape(s.in_ch, -1))
                continue
            np.matmul(w2d_t, gy2d, out=self.col2d)
            self.grad_padded.fill(0)
            for i, j, rows, cols in self._windows():
                self.grad_padded[:, rows, cols] += self.col[:, i, j]
            out[n] = self.grad_padded[:, p:p + s.size, p:p + s.size]
        return out

    def weight_grad(self, gy, x, out):
        s = self.shape
        gw2d = out.reshape(s.out_ch, -1)
        for n in range(s.batch):
            col_t = self._im2col(x[n]).T
            if n == 0:
                np.matmul(gy[n].reshape(s.out_ch, -1), col_t, out=gw2d)
            else:
                np.matmul(gy[n].reshape(s.out_ch, -1), col_t, out=self.partial_w)
                gw2d += self.partial_w
        return out


def numpy_conv(shape: ConvShape, x, w, gy) -> dict:
    conv = NumpyConv(shape, x.dtype)
    y, gx, gw = np.empty_like(gy), np.empty_like(x), np.empty_like(w)
    return {"forward": lambda: conv.forward(x, w, y),
            "input_grad": lambda: conv.input_grad(gy, w, gx),
            "weight_grad": lambda: conv.weight_grad(gy, x, gw)}


def torch_conv(shape: ConvShape, x, w, gy, channels_last: bool) -> dict:
    torch = torch_module()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    xt, wt, gyt = (torch.from_numpy(a).contiguous(memory_format=fmt) for a in (x, w, gy))
    stride, padding, dilation = (shape.stride,) * 2, (shape.padding,) * 2, (1, 1)
    conv2d, backward = torch.nn.functional.conv2d, torch.ops.aten.convolution_backward

    def grads(mask):
        return backward(gyt, xt, wt, None, stride, padding, dilation, False, (0, 0), 1, mask)

    return {"forward": lambda: conv2d(xt, wt, None, stride, padding),
            "input_grad": lambda: grads((True, False, False))[0],
            "weight_grad": lambda: grads((False, True, False))[1]}


def _operands(a, b, layout: str):
    return (a.T if layout[0] == "t" else a), (b.T if layout[1] == "t" else b)


def numpy_gemm(shape: GemmShape, a, b, layout: str):
    op_a, op_b = _operands(a, b, layout)
    c = np.empty((shape.m, shape.n), a.dtype)
    return lambda: np.matmul(op_a, op_b, out=c)


def torch_gemm(shape: GemmShape, a, b, layout: str):
    torch = torch_module()
    op_a, op_b = _operands(torch.from_numpy(a), torch.from_numpy(b), layout)
    c = torch.empty((shape.m, shape.n), dtype=op_a.dtype)
    return lambda: torch.matmul(op_a, op_b, out=c)


def reference_name() -> str:
    return "torch float64" if torch_module() is not None else "numpy float64"


def reference_conv(shape: ConvShape, x, w, gy) -> dict:
    """{pass: float64 result} for float32 data, computed in float64 (PyTorch if installed)."""
    x, w, gy = (a.astype(np.float64) for a in (x, w, gy))
    ops = (torch_conv(shape, x, w, gy, channels_last=False) if torch_module() is not None
           else numpy_conv(shape, x, w, gy))
    return {name: np.asarray(op()) for name, op in ops.items()}


def float64_references(family, shape, arrays: dict) -> dict:
    """{pass: float64 result} of a memory-bound family's case (pool.py, norm.py, depthwise.py):
    its float32 data widened and run through PyTorch in float64 when installed, else through
    the family's NumPy baseline (neither uses faltung)."""
    wide = {name: a.astype(np.float64) for name, a in arrays.items()}
    ops = (family.torch_ops(shape, wide, channels_last=False) if torch_module() is not None
           else family.numpy_ops(shape, wide))
    return {name: np.asarray(op(), dtype=np.float64) for name, op in ops.items()}


def reference_gemm(shape: GemmShape, a, b, layout: str) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    build = torch_gemm if torch_module() is not None else numpy_gemm
    return np.asarray(build(shape, a, b, layout)())
