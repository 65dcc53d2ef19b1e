"""Pooling benchmarks: the pooling layers of VGG-16, ResNet, AlexNet, DenseNet and Inception and
the global-average-pooling heads, forward and backward, for faltung, a NumPy baseline and PyTorch
(NCHW and channels_last). The interface of the memory-bound sections of `faltung bench`
(see benchmarks/bench_pool.py): SHAPES, QUICK, PASSES, faltung_ops, numpy_ops,
torch_ops, bytes_moved, macs.

Pooling is memory-bound: the figure of merit is GB/s of compulsory traffic (bytes_moved) against
the machine's measured memory bandwidth, and the ratio to PyTorch measured in the same run.
Max-pool backward takes indices computed once, outside the timed call, by each implementation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import faltung

PASSES = ("forward", "backward")
KINDS = ("max", "avg", "global_avg")


@dataclass(frozen=True)
class PoolShape:
    """One pooling layer: `batch` x channels x height x width input (NCHW), a square kernel
    with square stride and symmetric zero padding (count_include_pad=True, PyTorch's default);
    kind "global_avg" averages each whole plane (kernel, stride, padding unused)."""
    name: str
    batch: int
    channels: int
    height: int
    width: int
    kind: str
    kernel: int = 2
    stride: int = 2
    padding: int = 0

    @property
    def out_hw(self) -> tuple[int, int]:
        if self.kind == "global_avg":
            return 1, 1
        return tuple((s + 2 * self.padding - self.kernel) // self.stride + 1
                     for s in (self.height, self.width))

    @property
    def x_shape(self) -> tuple:
        return (self.batch, self.channels, self.height, self.width)

    @property
    def y_shape(self) -> tuple:
        return (self.batch, self.channels, *self.out_hw)

    @property
    def label(self) -> str:
        size = f"N={self.batch} {self.channels}x{self.height}x{self.width}"
        if self.kind == "global_avg":
            return f"{size} global avg"
        pad = f" p{self.padding}" if self.padding else ""
        return f"{size} {self.kind} {self.kernel}x{self.kernel}/{self.stride}{pad}"

    def arrays(self, seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
        """Seeded input x and output gradient grad_y; the same on every call."""
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(self.x_shape, dtype=np.float32)
        gy = rng.standard_normal(self.y_shape, dtype=np.float32)
        return {"x": x.astype(dtype, copy=False), "grad_y": gy.astype(dtype, copy=False)}


SHAPES = (
    PoolShape("vgg16.pool1", 8, 64, 224, 224, "max"),
    PoolShape("vgg16.pool2", 8, 128, 112, 112, "max"),
    PoolShape("vgg16.pool3", 8, 256, 56, 56, "max"),
    PoolShape("vgg16.pool4", 8, 512, 28, 28, "max"),
    PoolShape("vgg16.pool5", 8, 512, 14, 14, "max"),
    PoolShape("issue3.max2x2", 8, 64, 112, 112, "max"),
    PoolShape("resnet.maxpool", 8, 64, 112, 112, "max", 3, 2, 1),
    PoolShape("alexnet.pool1", 8, 96, 55, 55, "max", 3, 2),
    PoolShape("alexnet.pool2", 8, 256, 27, 27, "max", 3, 2),
    PoolShape("alexnet.pool5", 8, 256, 13, 13, "max", 3, 2),
    PoolShape("densenet121.transition1", 8, 128, 56, 56, "avg", 2, 2),
    PoolShape("inception_v3.branch_pool", 8, 192, 35, 35, "avg", 3, 1, 1),
    PoolShape("resnet18.gap", 8, 512, 7, 7, "global_avg"),
    PoolShape("resnet50.gap", 8, 2048, 7, 7, "global_avg"),
)
_QUICK_NAMES = ("alexnet.pool5", "densenet121.transition1", "resnet18.gap")
QUICK = tuple(s for s in SHAPES if s.name in _QUICK_NAMES)


def bytes_moved(shape: PoolShape, pass_name: str) -> int:
    """Compulsory traffic in bytes, float32: every input array read once and every output
    written once. forward: x + y. backward: grad_y + grad_x, plus the int64 indices for max
    pooling (their 8 bytes per output are part of the pass's input)."""
    n_in = int(np.prod(shape.x_shape))
    n_out = int(np.prod(shape.y_shape))
    if pass_name == "forward":
        return 4 * (n_in + n_out)
    if pass_name == "backward":
        return 4 * (n_in + n_out) + (8 * n_out if shape.kind == "max" else 0)
    raise ValueError(f"pass_name: expected one of {PASSES}, got {pass_name!r}")


def macs(shape: PoolShape, pass_name: str) -> int:
    """Additions of average pooling (one per window cell, forward and backward); 0 for max."""
    if pass_name not in PASSES:
        raise ValueError(f"pass_name: expected one of {PASSES}, got {pass_name!r}")
    if shape.kind == "max":
        return 0
    if shape.kind == "global_avg":
        return int(np.prod(shape.x_shape))
    return int(np.prod(shape.y_shape)) * shape.kernel ** 2


# ------------------------------------------------------------------------------------- faltung

def faltung_ops(shape: PoolShape, arrays) -> dict[str, Callable]:
    x, gy = arrays["x"], arrays["grad_y"]
    y, gx = np.empty(shape.y_shape, x.dtype), np.empty_like(x)
    if shape.kind == "global_avg":
        return {"forward": lambda: faltung.global_avg_pool2d(x, out=y),
                "backward": lambda: faltung.global_avg_pool2d_backward(gy, x, out=gx)}
    geo = (shape.kernel, shape.stride, shape.padding)
    if shape.kind == "avg":
        return {"forward": lambda: faltung.avg_pool2d(x, *geo, out=y),
                "backward": lambda: faltung.avg_pool2d_backward(gy, x, *geo, out=gx)}
    _, indices = faltung.max_pool2d(x, *geo, return_indices=True)
    return {"forward": lambda: faltung.max_pool2d(x, *geo, out=y),
            "backward": lambda: faltung.max_pool2d_backward(gy, x, indices, *geo, out=gx)}


# --------------------------------------------------------------------------------------- NumPy

class NumpyPool:
    """Vectorised NumPy pooling: a padded copy of the input (-inf for max, 0 for avg) in a buffer
    allocated once, then one np.maximum / np.add per kernel tap over strided views. Max-pool
    backward scatters with np.bincount over flat indices from the same tap loop (argmax)."""

    def __init__(self, shape: PoolShape, x, gy):
        self.s, self.x, self.gy = shape, x, gy
        n, c, h, w = shape.x_shape
        p = shape.padding
        fill = -np.inf if shape.kind == "max" else 0
        self.xpad = np.full((n, c, h + 2 * p, w + 2 * p), fill, x.dtype)
        self.gpad = np.zeros((n, c, h + 2 * p, w + 2 * p), x.dtype)
        self.y = np.empty(shape.y_shape, x.dtype)
        self.gx = np.empty_like(x)
        self.indices = self._argmax() if shape.kind == "max" else None
        self.plane_base = (np.arange(n * c, dtype=np.int64) * h * w).reshape(n, c, 1, 1)

    def _tap(self, a, i, j):
        oh, ow = self.s.out_hw
        st = self.s.stride
        return a[:, :, i:i + st * (oh - 1) + 1:st, j:j + st * (ow - 1) + 1:st]

    def _taps(self):
        return [(i, j) for i in range(self.s.kernel) for j in range(self.s.kernel)]

    def _argmax(self):
        p, w = self.s.padding, self.s.width
        self.xpad[:, :, p:p + self.s.height, p:p + w] = self.x
        best = np.full(self.s.y_shape, -np.inf, self.x.dtype)
        arg = np.zeros(self.s.y_shape, np.int64)
        oh, ow = self.s.out_hw
        rows = np.arange(oh).reshape(-1, 1) * self.s.stride - p
        cols = np.arange(ow).reshape(1, -1) * self.s.stride - p
        for i, j in self._taps():
            v = self._tap(self.xpad, i, j)
            take = v > best
            best = np.where(take, v, best)
            arg = np.where(take, (rows + i) * w + cols + j, arg)
        return arg

    def forward(self):
        s = self.s
        if s.kind == "global_avg":
            return np.mean(self.x, axis=(2, 3), keepdims=True, out=self.y)
        p = s.padding
        self.xpad[:, :, p:p + s.height, p:p + s.width] = self.x
        combine = np.maximum if s.kind == "max" else np.add
        taps = self._taps()
        np.copyto(self.y, self._tap(self.xpad, *taps[0]))
        for i, j in taps[1:]:
            combine(self.y, self._tap(self.xpad, i, j), out=self.y)
        if s.kind == "avg":
            self.y /= s.kernel ** 2
        return self.y

    def backward(self):
        s = self.s
        if s.kind == "global_avg":
            np.copyto(self.gx, self.gy / (s.height * s.width))
            return self.gx
        if s.kind == "max":
            flat = np.bincount((self.indices + self.plane_base).ravel(), weights=self.gy.ravel(),
                               minlength=self.gx.size)
            np.copyto(self.gx, flat.reshape(self.gx.shape))
            return self.gx
        self.gpad.fill(0)
        g = self.gy / s.kernel ** 2
        for i, j in self._taps():
            self._tap(self.gpad, i, j)[...] += g
        p = s.padding
        np.copyto(self.gx, self.gpad[:, :, p:p + s.height, p:p + s.width])
        return self.gx


def numpy_ops(shape: PoolShape, arrays) -> dict[str, Callable]:
    pool = NumpyPool(shape, arrays["x"], arrays["grad_y"])
    return {"forward": pool.forward, "backward": pool.backward}


# ------------------------------------------------------------------------------------- PyTorch

def torch_ops(shape: PoolShape, arrays, channels_last: bool) -> dict[str, Callable]:
    import torch
    F = torch.nn.functional
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.from_numpy(arrays["x"]).contiguous(memory_format=fmt)
    gy = torch.from_numpy(arrays["grad_y"]).contiguous(memory_format=fmt)
    aten = torch.ops.aten
    k, st, p = [shape.kernel] * 2, [shape.stride] * 2, [shape.padding] * 2
    if shape.kind == "global_avg":
        return {"forward": lambda: F.adaptive_avg_pool2d(x, 1),
                "backward": lambda: aten._adaptive_avg_pool2d_backward(gy, x)}
    if shape.kind == "avg":
        return {"forward": lambda: F.avg_pool2d(x, k, st, p),
                "backward": lambda: aten.avg_pool2d_backward(gy, x, k, st, p, False, True, None)}
    _, indices = F.max_pool2d(x, k, st, p, return_indices=True)
    return {"forward": lambda: F.max_pool2d(x, k, st, p),
            "backward": lambda: aten.max_pool2d_with_indices_backward(gy, x, k, st, p, [1, 1],
                                                                      False, indices)}
