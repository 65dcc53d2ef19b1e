"""Normalization benchmarks: batch norm in training mode on ResNet shapes, AlexNet's local
response normalization and the lecture's local contrast normalization, forward and backward,
for faltung, a NumPy baseline and PyTorch (NCHW and channels_last). The interface of the
memory-bound sections of `faltung bench` (see pool.py): SHAPES, QUICK, PASSES, faltung_ops,
numpy_ops, torch_ops, bytes_moved, macs.

Batch norm's backward takes the statistics its forward saved (as layers pass them); PyTorch's
runs aten.native_batch_norm_backward with its own saved statistics, and its LRN/LCN backward
torch.autograd.grad on a graph built once, outside the timed call.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import faltung

PASSES = ("forward", "backward")
LRN = dict(size=5, alpha=5e-4, beta=0.75, k=2.0)  # AlexNet's constants in PyTorch's convention
LCN_EPS = 1e-5


@dataclass(frozen=True)
class NormShape:
    """One normalization layer on a (batch, channels, height, width) input; kind "batch_norm"
    (training mode, affine), "lrn" (size 5, AlexNet's constants) or "lcn"."""
    name: str
    batch: int
    channels: int
    size: int
    kind: str

    @property
    def x_shape(self) -> tuple:
        return (self.batch, self.channels, self.size, self.size)

    @property
    def label(self) -> str:
        return f"N={self.batch} {self.channels}x{self.size}x{self.size} {self.kind}"

    def arrays(self, seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        c = self.channels
        x = rng.standard_normal(self.x_shape, dtype=np.float32) * 2 + 0.5
        gy = rng.standard_normal(self.x_shape, dtype=np.float32)
        weight = rng.uniform(0.5, 1.5, c).astype(np.float32)
        bias = rng.uniform(-0.5, 0.5, c).astype(np.float32)
        return {name: a.astype(dtype, copy=False) for name, a in
                (("x", x), ("grad_y", gy), ("weight", weight), ("bias", bias))}


SHAPES = (
    NormShape("resnet.bn1", 8, 64, 112, "batch_norm"),
    NormShape("resnet.layer1.bn", 8, 256, 56, "batch_norm"),
    NormShape("resnet.layer4.bn", 8, 2048, 7, "batch_norm"),
    NormShape("alexnet.lrn1", 8, 96, 55, "lrn"),
    NormShape("alexnet.lrn2", 8, 256, 27, "lrn"),
    NormShape("lecture.lcn", 8, 96, 55, "lcn"),
)
QUICK = (NormShape("resnet.layer1.bn", 2, 64, 56, "batch_norm"),
         NormShape("alexnet.lrn2", 2, 256, 27, "lrn"),
         NormShape("lecture.lcn", 2, 96, 27, "lcn"))


def bytes_moved(shape: NormShape, pass_name: str) -> int:
    """Compulsory traffic, float32: forward reads x and writes y; backward reads grad_y and x
    and writes grad_x (per-channel vectors are negligible and not counted)."""
    if pass_name not in PASSES:
        raise ValueError(f"pass_name: expected one of {PASSES}, got {pass_name!r}")
    arrays = 2 if pass_name == "forward" else 3
    return arrays * 4 * int(np.prod(shape.x_shape))


def macs(shape: NormShape, pass_name: str) -> int:
    """No multiply-accumulates of a GEMM's kind: these are element operations."""
    if pass_name not in PASSES:
        raise ValueError(f"pass_name: expected one of {PASSES}, got {pass_name!r}")
    return 0


# ------------------------------------------------------------------------------------- faltung

def faltung_ops(shape: NormShape, arrays) -> dict[str, Callable]:
    x, gy, w, b = arrays["x"], arrays["grad_y"], arrays["weight"], arrays["bias"]
    y, gx = np.empty_like(x), np.empty_like(x)
    if shape.kind == "batch_norm":
        rm, rv = np.zeros_like(w), np.ones_like(w)
        _, mean, invstd = faltung.batch_norm(x, rm.copy(), rv.copy(), w, b, True,
                                             return_stats=True)
        gw, gb = np.empty_like(w), np.empty_like(w)
        return {"forward": lambda: faltung.batch_norm(x, rm, rv, w, b, True, out=y),
                "backward": lambda: faltung.batch_norm_backward(
                    gy, x, None, None, w, True, save_mean=mean, save_invstd=invstd,
                    out=(gx, gw, gb))[0]}
    if shape.kind == "lrn":
        args = (LRN["size"], LRN["alpha"], LRN["beta"], LRN["k"])
        return {"forward": lambda: faltung.local_response_norm(x, *args, out=y),
                "backward": lambda: faltung.local_response_norm_backward(gy, x, *args, out=gx)}
    return {"forward": lambda: faltung.local_contrast_norm(x, LCN_EPS, out=y),
            "backward": lambda: faltung.local_contrast_norm_backward(gy, x, LCN_EPS, out=gx)}


# --------------------------------------------------------------------------------------- NumPy

def _channel_window_sum(a, before: int, after: int):
    """s[:, c] = sum of a[:, j] for c - before <= j <= c + after (zero outside), by a running
    sum over the channels."""
    n, c = a.shape[:2]
    padded = np.zeros((n, c + before + after + 1) + a.shape[2:], a.dtype)
    np.cumsum(a, axis=1, out=padded[:, before + 1:before + 1 + c])
    padded[:, before + 1 + c:] = padded[:, before + c:before + c + 1]
    return padded[:, before + after + 1:before + after + 1 + c] - padded[:, :c]


def numpy_ops(shape: NormShape, arrays) -> dict[str, Callable]:
    x, gy, w, b = arrays["x"], arrays["grad_y"], arrays["weight"], arrays["bias"]
    v = (slice(None), None, None)  # a per-channel vector against (N, C, H, W)
    if shape.kind == "batch_norm":
        count = x.size // x.shape[1]

        def statistics():
            mean = x.mean(axis=(0, 2, 3))
            return mean, 1 / np.sqrt(x.var(axis=(0, 2, 3)) + 1e-5)

        def forward():
            mean, invstd = statistics()
            return (x - mean[v]) * (invstd * w)[v] + b[v]

        saved = statistics()

        def backward():
            mean, invstd = saved
            xhat = (x - mean[v]) * invstd[v]
            gb = gy.sum(axis=(0, 2, 3))
            gw = (gy * xhat).sum(axis=(0, 2, 3))
            return (w * invstd)[v] * (gy - gb[v] / count - xhat * (gw / count)[v])

        return {"forward": forward, "backward": backward}
    if shape.kind == "lrn":
        size, alpha, beta, k = LRN["size"], LRN["alpha"], LRN["beta"], LRN["k"]

        def denominator():
            return k + alpha / size * _channel_window_sum(x * x, size // 2, (size - 1) // 2)

        def backward():
            d = denominator()
            term = gy * x * d ** (-beta - 1)
            spread = _channel_window_sum(term, (size - 1) // 2, size // 2)
            return gy * d ** -beta - 2 * alpha * beta / size * x * spread

        return {"forward": lambda: x * denominator() ** -beta, "backward": backward}
    channels = x.shape[1]

    def scale():
        return 1 / np.sqrt((x * x).sum(axis=1, keepdims=True) / (channels - 1) + LCN_EPS)

    def lcn_backward():
        r = scale()
        return gy * r - x * r ** 3 / (channels - 1) * (gy * x).sum(axis=1, keepdims=True)

    return {"forward": lambda: x * scale(), "backward": lcn_backward}


# ------------------------------------------------------------------------------------- PyTorch

def torch_ops(shape: NormShape, arrays, channels_last: bool) -> dict[str, Callable]:
    import torch
    F = torch.nn.functional
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.from_numpy(arrays["x"]).contiguous(memory_format=fmt)
    gy = torch.from_numpy(arrays["grad_y"]).contiguous(memory_format=fmt)
    w, b = torch.from_numpy(arrays["weight"]), torch.from_numpy(arrays["bias"])
    if shape.kind == "batch_norm":
        rm, rv = torch.zeros_like(w), torch.ones_like(w)
        _, mean, invstd = torch.ops.aten.native_batch_norm(x, w, b, rm.clone(), rv.clone(),
                                                           True, 0.1, 1e-5)
        return {"forward": lambda: F.batch_norm(x, rm, rv, w, b, True),
                "backward": lambda: torch.ops.aten.native_batch_norm_backward(
                    gy, x, w, rm, rv, mean, invstd, True, 1e-5, [True, True, True])[0]}
    leaf = x.detach().clone(memory_format=fmt).requires_grad_(True)
    if shape.kind == "lrn":
        def forward(t):
            return F.local_response_norm(t, LRN["size"], LRN["alpha"], LRN["beta"], LRN["k"])
    else:
        def forward(t):
            return t / torch.sqrt((t * t).sum(1, keepdim=True) / (t.shape[1] - 1) + LCN_EPS)
    graph = forward(leaf)
    return {"forward": lambda: forward(x),
            "backward": lambda: torch.autograd.grad(graph, leaf, gy, retain_graph=True)[0]}
