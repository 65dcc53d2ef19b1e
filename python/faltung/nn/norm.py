"""Normalization layers: BatchNorm1d/2d (running statistics as buffers, PyTorch's momentum and
num_batches_tracked), LocalResponseNorm (AlexNet) and LocalContrastNorm (the lecture's)."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .._params import positive_int
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per channel: batch statistics while
    training (the running ones updated with `momentum`, or the cumulative average when momentum
    is None, as torch.nn.BatchNorm), the running statistics in eval mode."""
    expected_ndim: tuple = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, *, dtype=np.float32):
        super().__init__()
        self.num_features = positive_int(num_features, "num_features")
        self.eps, self.momentum = eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine else None
        self.track_running_stats = track_running_stats
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    def _check(self, x):
        if np.ndim(x) not in self.expected_ndim:
            raise ValueError(f"input: expected a {' or '.join(map(str, self.expected_ndim))}-D "
                             f"array for {type(self).__name__}, got shape {np.shape(x)}")

    def _stats(self):
        if self.track_running_stats:
            return self.running_mean, self.running_var
        return None, None

    def _batch_statistics_used(self) -> bool:
        return self.training or not self.track_running_stats

    def forward(self, x):
        self._check(x)
        weight = None if self.weight is None else self.weight.data
        bias = None if self.bias is None else self.bias.data
        use_batch = self._batch_statistics_used()
        momentum = self.momentum
        if use_batch and self.track_running_stats and self.training:
            self.num_batches_tracked += 1
            if momentum is None:  # the cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked)
        running_mean, running_var = self._stats() if (self.training or not use_batch) else (None, None)
        y, mean, invstd = F.batch_norm(x, running_mean, running_var, weight, bias, use_batch,
                                       0.0 if momentum is None else momentum, self.eps,
                                       return_stats=True)
        self.save_for_backward(x, mean, invstd, use_batch)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        x, mean, invstd, use_batch = self.saved()
        running_mean, running_var = self._stats()
        weight = None if self.weight is None else self.weight.data
        affine = self.weight is not None
        gx, gw, gb = F.batch_norm_backward(
            grad_out, x, running_mean, running_var, weight, use_batch, self.eps,
            save_mean=mean, save_invstd=invstd,
            needs_input_grad=(input_grad, affine, affine))
        if affine:
            self.accumulate(self.weight, gw)
            self.accumulate(self.bias, gb)
        return gx

    def describe(self) -> str:
        return f"{type(self).__name__}({self.num_features}, eps={self.eps}, momentum={self.momentum})"


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L) inputs."""
    expected_ndim = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W) inputs."""
    expected_ndim = (4,)


class LocalResponseNorm(Module):
    """torch.nn.LocalResponseNorm: y_c = x_c / (k + alpha/size * sum of x^2 over `size`
    neighbouring channels) ** beta. AlexNet's paper constants (n=5, alpha=1e-4, beta=0.75, k=2)
    are LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2) in this convention."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = positive_int(size, "size"), alpha, beta, k

    def forward(self, x):
        y = F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)
        self.save_for_backward(x)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        (x,) = self.saved()
        if not input_grad:
            return None
        return F.local_response_norm_backward(grad_out, x, self.size, self.alpha, self.beta,
                                              self.k)

    def describe(self) -> str:
        return f"LocalResponseNorm(size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k})"


class LocalContrastNorm(Module):
    """The lecture's local contrast normalization: each position's channel vector scaled to
    unit variance (faltung.local_contrast_norm)."""

    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        y = F.local_contrast_norm(x, self.eps)
        self.save_for_backward(x)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        (x,) = self.saved()
        return F.local_contrast_norm_backward(grad_out, x, self.eps) if input_grad else None
