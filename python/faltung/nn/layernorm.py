"""LayerNorm over the last axis (torch.nn.LayerNorm with a single normalized size): the
transformer's normalization, on faltung.functional.layer_norm."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .._params import positive_int
from .module import Module
from .parameter import Parameter


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last axis of size
    `normalized_shape`; weight starts at 1, bias at 0 (PyTorch's init)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, *, dtype=np.float32):
        super().__init__()
        self.features = positive_int(normalized_shape, "normalized_shape")
        self.eps = eps
        self.weight = Parameter(np.ones(self.features, dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.features, dtype)) if elementwise_affine else None

    def forward(self, x):
        if np.shape(x)[-1:] != (self.features,):
            raise ValueError(f"input: expected (..., {self.features}), got shape {np.shape(x)}")
        weight = None if self.weight is None else self.weight.data
        bias = None if self.bias is None else self.bias.data
        y, mean, invstd = F.layer_norm(x, weight, bias, self.eps, return_stats=True)
        self.save_for_backward(x, mean, invstd)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        x, mean, invstd = self.saved()
        affine = self.weight is not None
        gx, gw, gb = F.layer_norm_backward(
            grad_out, x, None if self.weight is None else self.weight.data, self.eps,
            mean=mean, invstd=invstd, needs_input_grad=(input_grad, affine, affine))
        if affine:
            self.accumulate_weight_and_bias(gw, gb)
        return gx

    def describe(self) -> str:
        return f"LayerNorm({self.features}, eps={self.eps})"
