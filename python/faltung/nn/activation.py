"""Activation layers: ReLU, Tanh, Sigmoid, ReLU6 (each keeps its output for the backward pass)
and GELU (keeps its input)."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class _Activation(Module):
    forward_fn = None
    backward_fn = None

    def forward(self, x):
        y = type(self).forward_fn(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        (y,) = self.saved()
        return type(self).backward_fn(grad_out, y) if input_grad else None


class ReLU(_Activation):
    forward_fn, backward_fn = F.relu, F.relu_backward


class Tanh(_Activation):
    forward_fn, backward_fn = F.tanh, F.tanh_backward


class Sigmoid(_Activation):
    forward_fn, backward_fn = F.sigmoid, F.sigmoid_backward


class ReLU6(_Activation):
    """min(max(x, 0), 6) (MobileNet v2)."""
    forward_fn, backward_fn = F.relu6, F.relu6_backward


class GELU(Module):
    """x * Phi(x) (ViT's MLP). approximate="none" (PyTorch's default, the erf form) or "tanh".
    Keeps its input: the derivative needs x."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = F.activation._gelu_approximate(approximate)

    def forward(self, x):
        y = F.gelu(x, self.approximate)
        self.save_for_backward(x)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        (x,) = self.saved()
        return F.gelu_backward(grad_out, x, self.approximate) if input_grad else None

    def describe(self) -> str:
        return f"GELU(approximate={self.approximate!r})"
