"""Containers: Sequential (a chain), Residual (body(x) + shortcut(x)), Concat (parallel branches
joined on channels: Inception modules, DenseNet layers) and Identity.

A container runs its children through `run_child`, which puts the child's name and kind in
front of any ValueError/TypeError it raises ("3 (MaxPool2d): input: ..."), so a shape
mismatch between layers names the layer.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_float_array
from .module import Module


def run_child(name: str, child: Module, method: str, *args):
    """child(x) (forward, observed: nn.module.observe) / child.backward(g, input_grad), a
    ValueError/TypeError re-raised (same type) with "name (Kind): " in front of its message."""
    try:
        return (child if method == "forward" else getattr(child, method))(*args)
    except (ValueError, TypeError) as error:
        base = TypeError if isinstance(error, TypeError) else ValueError
        raise base(f"{name} ({type(child).__name__}): {error}") from error


class Identity(Module):
    def forward(self, x):
        return x

    def backward(self, grad_out, input_grad: bool = True):
        return grad_out if input_grad else None


class Sequential(Module):
    """Children applied in order; keys "0", "1", ... as in torch.nn.Sequential, or the names of
    layers given by keyword (after the positional ones; torch's Sequential(OrderedDict(...)):
    torchvision's "features", "classifier", "conv1", "layer1", ...)."""

    def __init__(self, *layers: Module, **named_layers: Module):
        super().__init__()
        for name, layer in [*((str(i), b) for i, b in enumerate(layers)), *named_layers.items()]:
            if not isinstance(layer, Module):
                raise TypeError(f"layer {name}: expected a faltung.nn.Module, got "
                                f"{type(layer).__name__}")
            setattr(self, name, layer)

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def forward(self, x):
        for name, layer in self._modules.items():
            x = run_child(name, layer, "forward", x)
        self.save_for_backward(True)
        return x

    def backward(self, grad_out, input_grad: bool = True):
        self.saved()
        layers = list(self._modules.items())
        for index in range(len(layers) - 1, -1, -1):
            name, layer = layers[index]
            grad_out = run_child(name, layer, "backward", grad_out, input_grad or index > 0)
        return grad_out


class Residual(Module):
    """y = body(x) + shortcut(x); the shortcut is the identity when None (a ResNet block's
    projection shortcut when given: a 1x1 conv, usually with batch norm)."""

    def __init__(self, body: Module, shortcut: Module | None = None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else Identity()

    def forward(self, x):
        y = run_child("body", self.body, "forward", x)
        s = run_child("shortcut", self.shortcut, "forward", x)
        if y.shape != s.shape:
            raise ValueError(f"Residual: body output {y.shape} and shortcut output {s.shape} "
                             f"differ; give a projection shortcut")
        self.save_for_backward(True)
        return y + s

    def backward(self, grad_out, input_grad: bool = True):
        self.saved()
        g_body = run_child("body", self.body, "backward", grad_out, input_grad)
        g_short = run_child("shortcut", self.shortcut, "backward", grad_out, input_grad)
        return g_body + g_short if input_grad else None


class Concat(Module):
    """Branches applied to the same input, outputs joined along `axis` (1: channels). Branches
    given by keyword keep their names in state_dict() (torchvision's Inception: "branch1", ...);
    positional ones are "0", "1", ..."""

    def __init__(self, *branches: Module, axis: int = 1, **named_branches: Module):
        super().__init__()
        for name, branch in [*((str(i), b) for i, b in enumerate(branches)),
                             *named_branches.items()]:
            if not isinstance(branch, Module):
                raise TypeError(f"branch {name}: expected a faltung.nn.Module, got "
                                f"{type(branch).__name__}")
            setattr(self, name, branch)
        if not self._modules:
            raise ValueError("Concat: expected at least one branch")
        self.axis = axis

    def forward(self, x):
        outputs = [run_child(name, branch, "forward", x) for name, branch in self._modules.items()]
        rest = {o.shape[:self.axis] + o.shape[self.axis + 1:] for o in outputs}
        if len(rest) > 1:
            shapes = [o.shape for o in outputs]
            raise ValueError(f"Concat: branch outputs {shapes} differ outside axis {self.axis}")
        self.save_for_backward([o.shape[self.axis] for o in outputs])
        return np.concatenate(outputs, axis=self.axis)

    def backward(self, grad_out, input_grad: bool = True):
        (sizes,) = self.saved()
        grad_out = as_float_array(grad_out, "grad_out")
        pieces = np.split(grad_out, np.cumsum(sizes)[:-1], axis=self.axis)
        total = None
        for (name, branch), piece in zip(self._modules.items(), pieces):
            g = run_child(name, branch, "backward", np.ascontiguousarray(piece), input_grad)
            if input_grad:
                total = g if total is None else total + g
        return total
