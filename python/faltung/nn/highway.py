"""The highway layer of the lecture notes (seed 000, "Highway-Netzwerke"; Srivastava et al. 2015):

    T = sigmoid(gate(x)),   y = T * H(x) + (1 - T) * x

`transform` computes H (any module whose output has the input's shape: a linear layer with an
activation, a convolution with "same" padding) and `gate` computes W_T x + b_T (same shape).
Where T is near 0 the layer passes x (and its gradient) through unchanged. Highway.dense builds
the paper's fully connected version, with the gate bias started negative (-1 by default, the
paper uses -1 to -3) so that layers begin by carrying their input.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .activation import ReLU
from .containers import Sequential, run_child
from .linear import Linear
from .module import Module


class Highway(Module):
    def __init__(self, transform: Module, gate: Module):
        super().__init__()
        self.transform = transform
        self.gate = gate

    @classmethod
    def dense(cls, features: int, activation: Module | None = None, gate_bias: float = -1.0, *,
              dtype=np.float32, rng=None) -> Highway:
        """H = activation(Linear(x)) (ReLU by default), T = sigmoid(Linear(x)) with its bias
        set to gate_bias."""
        transform = Sequential(Linear(features, features, dtype=dtype, rng=rng),
                               activation if activation is not None else ReLU())
        gate = Linear(features, features, dtype=dtype, rng=rng)
        gate.bias.data.fill(gate_bias)
        return cls(transform, gate)

    def forward(self, x):
        h = run_child("transform", self.transform, "forward", x)
        t = F.sigmoid(run_child("gate", self.gate, "forward", x))
        if h.shape != x.shape or t.shape != x.shape:
            raise ValueError(f"Highway: transform output {h.shape} and gate output {t.shape} "
                             f"must have the input's shape {np.shape(x)}")
        self.save_for_backward(x, h, t)
        return t * h + (1 - t) * x

    def backward(self, grad_out, input_grad: bool = True):
        x, h, t = self.saved()
        grad_h = grad_out * t
        grad_gate = F.sigmoid_backward(grad_out * (h - x), t)
        g_transform = run_child("transform", self.transform, "backward", grad_h, input_grad)
        g_gate = run_child("gate", self.gate, "backward", grad_gate, input_grad)
        if not input_grad:
            return None
        return grad_out * (1 - t) + g_transform + g_gate
