"""Benchmark shapes taken from real networks: conv layers (NCHW input, OIHW weight, square
kernels, groups 1) and GEMM sizes, each a small named record with its batch.

CONV_SHAPES / GEMM_SHAPES are the full run; QUICK_CONV / QUICK_GEMM the `--quick` subset (well
under a minute at one thread on the 2-core development machine). benchmarks/shapes.py
re-exports this module, so the CLI and the pytest-benchmark suites share one source of truth.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class ConvShape:
    """One conv2d layer: `batch` images of in_ch x size x size, out_ch filters of
    kernel x kernel, square stride and zero padding."""
    name: str
    batch: int
    in_ch: int
    out_ch: int
    size: int
    kernel: int
    stride: int = 1
    padding: int = 0

    @property
    def out_size(self) -> int:
        return (self.size + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the forward pass; each gradient pass has the same count."""
        return (self.batch * self.out_ch * self.out_size ** 2
                * self.in_ch * self.kernel ** 2)

    def with_batch(self, batch: int) -> ConvShape:
        return replace(self, batch=batch)

    def arrays(self, seed: int = 0, dtype=np.float32):
        """Seeded input, weight and output gradient (x, w, gy); the same on every call."""
        rng = np.random.default_rng(seed)
        n, c, o, s, k, os_ = (self.batch, self.in_ch, self.out_ch, self.size, self.kernel,
                              self.out_size)
        x = rng.standard_normal((n, c, s, s), dtype=np.float32)
        w = rng.standard_normal((o, c, k, k), dtype=np.float32) / np.float32(np.sqrt(c * k * k))
        gy = rng.standard_normal((n, o, os_, os_), dtype=np.float32)
        return x.astype(dtype, copy=False), w.astype(dtype, copy=False), gy.astype(dtype, copy=False)


@dataclass(frozen=True)
class GemmShape:
    """C[m, n] = op(A)[m, k] @ op(B)[k, n]; the conv-shaped ones are a layer's forward GEMM
    (m = out channels, k = in channels x kernel area, n = batch x output pixels)."""
    name: str
    m: int
    k: int
    n: int

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k

    def arrays(self, layout: str, seed: int = 0, dtype=np.float32):
        """Seeded (a, b) stored for `layout` ("nn", "tn" or "nt": a is (k, m) for "t?",
        b is (n, k) for "?t"), so that op(a) @ op(b) is (m, n)."""
        rng = np.random.default_rng(seed)
        a_shape = (self.k, self.m) if layout[0] == "t" else (self.m, self.k)
        b_shape = (self.n, self.k) if layout[1] == "t" else (self.k, self.n)
        a = rng.standard_normal(a_shape, dtype=np.float32)
        b = rng.standard_normal(b_shape, dtype=np.float32)
        return a.astype(dtype, copy=False), b.astype(dtype, copy=False)


# Passes timed for every conv shape and layouts for every GEMM shape. The conv passes are one
# GEMM each: forward W @ col ("nn"), input gradient W^T @ dY ("tn"), weight gradient dY @ col^T ("nt").
CONV_PASSES = ("forward", "input_grad", "weight_grad")
GEMM_LAYOUTS = ("nn", "tn", "nt")

CONV_SHAPES = (
    ConvShape("lenet5.conv1", 64, 1, 6, 32, 5),
    ConvShape("lenet5.conv2", 64, 6, 16, 14, 5),
    ConvShape("alexnet.conv1", 8, 3, 96, 227, 11, stride=4),
    ConvShape("vgg16.conv1_2", 2, 64, 64, 224, 3, padding=1),
    ConvShape("vgg16.conv2_2", 2, 128, 128, 112, 3, padding=1),
    ConvShape("vgg16.conv3_2", 2, 256, 256, 56, 3, padding=1),
    ConvShape("vgg16.conv4_2", 2, 512, 512, 28, 3, padding=1),
    ConvShape("vgg16.conv5_2", 8, 512, 512, 14, 3, padding=1),
    ConvShape("resnet.stem7x7s2", 8, 3, 64, 224, 7, stride=2, padding=3),
    ConvShape("resnet.3x3.64@56", 8, 64, 64, 56, 3, padding=1),
    ConvShape("resnet.3x3.128@28", 8, 128, 128, 28, 3, padding=1),
    ConvShape("resnet.3x3.256@14", 8, 256, 256, 14, 3, padding=1),
    ConvShape("resnet.3x3.512@7", 8, 512, 512, 7, 3, padding=1),
    ConvShape("resnet.1x1.64-256@56", 8, 64, 256, 56, 1),
    ConvShape("resnet.1x1.256-64@56", 8, 256, 64, 56, 1),
    ConvShape("resnet.1x1.1024-256@14", 8, 1024, 256, 14, 1),
    ConvShape("resnet.proj1x1s2.256-512@56", 8, 256, 512, 56, 1, stride=2),
)

GEMM_SHAPES = (
    GemmShape("vgg16.conv1_1", 64, 27, 50176),
    GemmShape("alexnet.conv1", 96, 363, 3025),
    GemmShape("resnet.3x3.64@56", 64, 576, 3136),
    GemmShape("resnet.1x1.256-64@56", 64, 256, 3136),
    GemmShape("resnet.1x1.64-256@56", 256, 64, 3136),
    GemmShape("vgg16.conv2_2", 128, 1152, 12544),
    GemmShape("vgg16.conv3_2", 256, 2304, 3136),
    GemmShape("vgg16.conv4_2.n4", 512, 4608, 3136),
    GemmShape("square1024", 1024, 1024, 1024),
    GemmShape("square1536", 1536, 1536, 1536),
    GemmShape("square2048", 2048, 2048, 2048),
)

_CONV = {s.name: s for s in CONV_SHAPES}
_GEMM = {s.name: s for s in GEMM_SHAPES}

QUICK_CONV = (
    _CONV["lenet5.conv2"],
    _CONV["resnet.3x3.64@56"].with_batch(2),
    _CONV["resnet.1x1.256-64@56"].with_batch(2),
    _CONV["resnet.proj1x1s2.256-512@56"].with_batch(2),
    _CONV["vgg16.conv5_2"].with_batch(1),
)

QUICK_GEMM = (
    _GEMM["resnet.3x3.64@56"],
    _GEMM["vgg16.conv3_2"],
    _GEMM["square1024"],
)


def select(quick: bool) -> tuple[tuple[GemmShape, ...], tuple[ConvShape, ...]]:
    """(gemm shapes, conv shapes) of the quick subset or of the full run."""
    return (QUICK_GEMM, QUICK_CONV) if quick else (GEMM_SHAPES, CONV_SHAPES)
