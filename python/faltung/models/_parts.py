"""Pieces the model files share: running named children in order (blocks whose children must
carry torchvision's attribute names), conv + batch norm + activation, option checks."""
from __future__ import annotations

from .. import nn
from .._params import positive_int
from ..nn.containers import run_child


def forward_chain(module: nn.Module, names, x):
    """x through module's children `names` in order (each call observed: nn.module.observe)."""
    for name in names:
        x = run_child(name, getattr(module, name), "forward", x)
    return x


def backward_chain(module: nn.Module, names, grad, input_grad: bool = True):
    """The backward pass of forward_chain(module, names, .)."""
    names = list(names)
    for index in range(len(names) - 1, -1, -1):
        grad = run_child(names[index], getattr(module, names[index]), "backward", grad,
                         input_grad or index > 0)
    return grad


def conv_bn(c_in, c_out, kernel, stride=1, padding=0, groups=1, *, activation=nn.ReLU,
            eps=1e-5, dtype, rng) -> list:
    """[Conv2d (no bias), BatchNorm2d, activation()] (activation None: no activation)."""
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups, bias=False,
                        dtype=dtype, rng=rng),
              nn.BatchNorm2d(c_out, eps=eps, dtype=dtype)]
    return layers + ([activation()] if activation is not None else [])


def num_classes_option(num_classes) -> int:
    return positive_int(num_classes, "num_classes")


def choice(value, allowed, name: str):
    """`value` if it is one of `allowed`, else a ValueError naming the option."""
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {sorted(allowed)}, got {value!r}")
    return value


def generator(rng):
    """One Generator for a whole network (an int seed would otherwise restart in every layer)."""
    return nn.init.generator(rng)

