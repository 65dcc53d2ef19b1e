"""Activation layers: ReLU, Tanh, Sigmoid (each keeps its output for the backward pass)."""
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
