"""Benchmark module of the depthwise convolution (the memory-bound section of `faltung bench`,
docs/performance.md): the depthwise layers of MobileNet v1/v2 and Xception at batch 8, three
passes each, with faltung, a vectorised NumPy baseline and PyTorch (NCHW and channels_last) as
peers, and the bytes each pass must move.

Shapes (224x224 inputs for MobileNet, 299x299 for Xception; 3x3 kernels, zero padding 1, channel
multiplier 1 as in the networks; "/2" marks stride 2):
  MobileNet v1:  32@112, 64@112/2, 128@56, 128@56/2, 256@28, 512@14, 1024@7
  MobileNet v2:  96@112/2, 144@56, 192@28, 384@14, 576@14, 960@7 (expanded channels)
  Xception:      64@147 and 128@74 (entry flow), 728@19 (middle flow), 1024@10 (exit flow)
SEPARABLE_SHAPES are Xception's separable layers (depthwise + pointwise) for the separable pass.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import faltung

from .peers import torch_module

PASSES = ("forward", "input_grad", "weight_grad")
ITEMSIZE = 4  # bytes of float32: the unit of bytes_moved


@dataclass(frozen=True)
class DepthwiseShape:
    """`batch` images of channels x size x size, a kernel x kernel depthwise convolution with
    `multiplier` kernels per channel, square stride and zero padding."""
    name: str
    batch: int
    channels: int
    size: int
    stride: int = 1
    kernel: int = 3
    padding: int = 1
    multiplier: int = 1

    @property
    def out_size(self) -> int:
        return (self.size + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def label(self) -> str:
        mult = f" M={self.multiplier}" if self.multiplier != 1 else ""
        return (f"N={self.batch} {self.channels}x{self.size}x{self.size} "
                f"{self.kernel}x{self.kernel}/{self.stride}{mult}")

    def shapes(self) -> dict:
        n, c, s, o = self.batch, self.channels, self.size, self.out_size
        cm = c * self.multiplier
        return {"x": (n, c, s, s), "weight": (cm, 1, self.kernel, self.kernel),
                "grad_y": (n, cm, o, o)}

    def arrays(self, seed: int = 0, dtype=np.float32) -> dict:
        """Seeded x, weight and grad_y; the same on every call."""
        rng = np.random.default_rng(seed)
        return {name: rng.standard_normal(shape, dtype=np.float32).astype(dtype, copy=False)
                for name, shape in self.shapes().items()}


def _mobilenet_v1(name, channels, size, stride=1):
    return DepthwiseShape(f"mobilenet_v1.{name}", 8, channels, size, stride)


def _mobilenet_v2(name, channels, size, stride=1):
    return DepthwiseShape(f"mobilenet_v2.{name}", 8, channels, size, stride)


def _xception(name, channels, size):
    return DepthwiseShape(f"xception.{name}", 8, channels, size)


SHAPES = (
    _mobilenet_v1("dw1", 32, 112), _mobilenet_v1("dw2", 64, 112, 2),
    _mobilenet_v1("dw3", 128, 56), _mobilenet_v1("dw4", 128, 56, 2),
    _mobilenet_v1("dw5", 256, 28), _mobilenet_v1("dw7", 512, 14),
    _mobilenet_v1("dw13", 1024, 7),
    _mobilenet_v2("b2.dw", 96, 112, 2), _mobilenet_v2("b3.dw", 144, 56),
    _mobilenet_v2("b5.dw", 192, 28), _mobilenet_v2("b8.dw", 384, 14),
    _mobilenet_v2("b12.dw", 576, 14), _mobilenet_v2("b15.dw", 960, 7),
    _xception("entry.block1.dw", 64, 147), _xception("entry.block2.dw", 128, 74),
    _xception("middle.dw", 728, 19), _xception("exit.dw", 1024, 10),
)
QUICK = (DepthwiseShape("mobilenet_v1.dw5", 2, 256, 28),
         DepthwiseShape("mobilenet_v1.dw4", 2, 128, 56, 2),
         DepthwiseShape("mobilenet_v1.dw13", 2, 1024, 7))


@dataclass(frozen=True)
class SeparableShape:
    """A separable layer: the depthwise `depthwise` followed by a 1x1 conv to out_channels."""
    depthwise: DepthwiseShape
    out_channels: int

    @property
    def name(self) -> str:
        return self.depthwise.name.replace(".dw", ".sep")

    @property
    def label(self) -> str:
        return f"{self.depthwise.label} -> {self.out_channels}"


SEPARABLE_SHAPES = (
    SeparableShape(_xception("entry.block1.dw", 64, 147), 128),
    SeparableShape(_xception("entry.block2.dw", 128, 74), 256),
    SeparableShape(_xception("middle.dw", 728, 19), 728),
    SeparableShape(_xception("exit.dw", 1024, 10), 1536),
)


def _geometry(shape):
    return dict(stride=shape.stride, padding=shape.padding)


def bytes_moved(shape: DepthwiseShape, pass_name: str) -> int:
    """Compulsory traffic of a pass in bytes, counted in float32: every array the pass reads
    once, plus its output written once (forward: x, weight -> y; input_grad: grad_y, weight ->
    grad_x; weight_grad: grad_y, x -> grad_weight). No bias, no write-allocate reads."""
    sizes = {name: int(np.prod(s)) for name, s in shape.shapes().items()}
    arrays = {"forward": ("x", "weight", "grad_y"), "input_grad": ("grad_y", "weight", "x"),
              "weight_grad": ("grad_y", "x", "weight")}[pass_name]
    return ITEMSIZE * sum(sizes[a] for a in arrays)  # grad_y has y's size, grad_x x's


def macs(shape: DepthwiseShape, pass_name: str) -> int:
    """Multiply-accumulates, the same for each pass: every output pixel of every output
    channel meets kernel x kernel inputs."""
    return (shape.batch * shape.channels * shape.multiplier * shape.out_size ** 2
            * shape.kernel ** 2)


def faltung_ops(shape: DepthwiseShape, arrays: dict) -> dict:
    x, w, gy = arrays["x"], arrays["weight"], arrays["grad_y"]
    y, gx, gw = np.empty_like(gy), np.empty_like(x), np.empty_like(w)
    g = _geometry(shape)
    backward = faltung.depthwise_conv2d_backward
    return {
        "forward": lambda: faltung.depthwise_conv2d(x, w, None, **g, out=y),
        "input_grad": lambda: backward(gy, x, w, **g, needs_input_grad=(True, False, False),
                                       out=(gx, None, None))[0],
        "weight_grad": lambda: backward(gy, x, w, **g, needs_input_grad=(False, True, False),
                                        out=(None, gw, None))[1],
    }


class NumpyDepthwise:
    """The depthwise passes in vectorised NumPy: one multiply-add over the whole batch per
    kernel tap, on a zero-padded copy of the input; every buffer allocated once."""

    def __init__(self, shape: DepthwiseShape, dtype):
        n, c, s, o = shape.batch, shape.channels, shape.size, shape.out_size
        m, k, p, st = shape.multiplier, shape.kernel, shape.padding, shape.stride
        self.shape, self.k, self.p, self.st, self.o = shape, k, p, st, o
        self.padded = np.zeros((n, c, 1, s + 2 * p, s + 2 * p), dtype)  # borders stay 0
        self.grad_padded = np.empty_like(self.padded)  # input_grad accumulates here
        self.term = np.empty((n, c, m, o, o), dtype)
        self.reduced = np.empty((c, m), dtype)

    def _window(self, i, j, padded=None):
        st, o = self.st, self.o
        padded = self.padded if padded is None else padded
        return padded[..., i: i + st * (o - 1) + 1: st, j: j + st * (o - 1) + 1: st]

    def _taps(self):
        return ((i, j) for i in range(self.k) for j in range(self.k))

    def _pad(self, x):
        p, s = self.p, self.shape.size
        self.padded[:, :, 0, p:p + s, p:p + s] = x

    def forward(self, x, w, y):
        self._pad(x)
        c, m = self.shape.channels, self.shape.multiplier
        out = y.reshape(self.term.shape)
        out[...] = 0
        for i, j in self._taps():
            np.multiply(self._window(i, j), w[:, 0, i, j].reshape(1, c, m, 1, 1), out=self.term)
            out += self.term
        return y

    def input_grad(self, gy, w, gx):
        c, m = self.shape.channels, self.shape.multiplier
        g = gy.reshape(self.term.shape)
        self.grad_padded[...] = 0
        for i, j in self._taps():
            np.multiply(g, w[:, 0, i, j].reshape(1, c, m, 1, 1), out=self.term)
            self._window(i, j, self.grad_padded)[...] += self.term.sum(axis=2, keepdims=True)
        p, s = self.p, self.shape.size
        gx[...] = self.grad_padded[:, :, 0, p:p + s, p:p + s]
        return gx

    def weight_grad(self, gy, x, gw):
        self._pad(x)
        g = gy.reshape(self.term.shape)
        for i, j in self._taps():
            np.multiply(g, self._window(i, j), out=self.term)
            self.term.sum(axis=(0, 3, 4), out=self.reduced)
            gw[:, 0, i, j] = self.reduced.reshape(-1)
        return gw


def numpy_ops(shape: DepthwiseShape, arrays: dict) -> dict:
    x, w, gy = arrays["x"], arrays["weight"], arrays["grad_y"]
    conv = NumpyDepthwise(shape, x.dtype)
    y, gx, gw = np.empty_like(gy), np.empty_like(x), np.empty_like(w)
    return {"forward": lambda: conv.forward(x, w, y),
            "input_grad": lambda: conv.input_grad(gy, w, gx),
            "weight_grad": lambda: conv.weight_grad(gy, x, gw)}


def torch_ops(shape: DepthwiseShape, arrays: dict, channels_last: bool) -> dict:
    """F.conv2d with groups = C and aten.convolution_backward; channels_last converts the
    inputs once, here, outside the timed callables."""
    torch = torch_module()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    xt, wt, gyt = (torch.from_numpy(arrays[a]).contiguous(memory_format=fmt)
                   for a in ("x", "weight", "grad_y"))
    stride, padding, groups = (shape.stride,) * 2, (shape.padding,) * 2, shape.channels
    conv2d, backward = torch.nn.functional.conv2d, torch.ops.aten.convolution_backward

    def grads(mask):
        return backward(gyt, xt, wt, None, stride, padding, (1, 1), False, (0, 0), groups, mask)

    return {"forward": lambda: conv2d(xt, wt, None, stride, padding, 1, groups),
            "input_grad": lambda: grads((True, False, False))[0],
            "weight_grad": lambda: grads((False, True, False))[1]}
