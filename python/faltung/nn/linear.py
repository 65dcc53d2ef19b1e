"""Linear, Dropout and Flatten layers."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..functional.linear import dropout_probability
from .._params import positive_int
from .._validation import as_float_array, as_generator
from . import init
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """y = x @ weight.T + bias, weight (out_features, in_features), x of shape (..., in)."""

    def __init__(self, in_features, out_features, bias=True, *, dtype=np.float32, rng=None):
        super().__init__()
        in_features = positive_int(in_features, "in_features")
        out_features = positive_int(out_features, "out_features")
        weight, bias_array = init.default_weight_and_bias(
            (out_features, in_features), out_features if bias else None, dtype, rng)
        self.weight = Parameter(weight)
        self.bias = Parameter(bias_array) if bias else None

    def forward(self, x):
        y = F.linear(x, self.weight.data, None if self.bias is None else self.bias.data)
        self.save_for_backward(x)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        (x,) = self.saved()
        gx, gw, gb = F.linear_backward(grad_out, x, self.weight.data,
                                       needs_input_grad=(input_grad, True, self.bias is not None))
        self.accumulate_weight_and_bias(gw, gb)
        return gx

    def describe(self) -> str:
        out_features, in_features = self.weight.shape
        return f"Linear({in_features} -> {out_features}, bias={self.bias is not None})"


class Dropout(Module):
    """Inverted dropout with probability p while training; the identity in eval mode. Masks
    come from `rng` (a seed or a Generator; None: fresh entropy), drawn anew every forward."""

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        self.p = dropout_probability(p)
        self.rng = as_generator(rng)

    def forward(self, x):
        y, mask = F.dropout(x, self.p, self.training, rng=self.rng)
        self.save_for_backward(mask)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        (mask,) = self.saved()
        return F.dropout_backward(grad_out, mask) if input_grad else None

    def describe(self) -> str:
        return f"Dropout(p={self.p})"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...) from `start_dim` on (a view, no copy)."""

    def __init__(self, start_dim=1):
        super().__init__()
        self.start_dim = positive_int(start_dim, "start_dim")

    def forward(self, x):
        x = as_float_array(x, "input")
        if x.ndim <= self.start_dim:
            raise ValueError(f"input: expected at least {self.start_dim + 1} dimensions to "
                             f"flatten from dimension {self.start_dim}, got shape {x.shape}")
        self.save_for_backward(x.shape)
        return x.reshape(x.shape[:self.start_dim] + (math.prod(x.shape[self.start_dim:]),))

    def backward(self, grad_out, input_grad: bool = True):
        (shape,) = self.saved()
        return np.reshape(grad_out, shape) if input_grad else None
