"""Initial weights as torch.nn initialises them, from a seedable generator.

PyTorch's default for Conv and Linear layers is kaiming_uniform_(a=sqrt(5)), which reduces to
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weight, and the same bound for the bias. fan_in is
the size of one slice along dimension 1 of the weight: in_channels/groups * kh * kw for a
convolution, in_features for a linear layer, and out_channels/groups * kh * kw for a transposed
convolution (whose weight is (in, out/groups, kh, kw)).

Layers draw from `rng` when given (a seed or a numpy Generator), else from the module-wide
generator that `manual_seed` resets, as torch.manual_seed does.
"""
from __future__ import annotations

import math

import numpy as np

from .._validation import as_generator

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Reset the generator that layers built without `rng=` draw their initial weights from."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator(rng=None) -> np.random.Generator:
    """`rng` as a Generator: itself, a new one seeded with it, or (None) the module-wide one."""
    return _generator if rng is None else as_generator(rng)


def fan_in(shape: tuple) -> int:
    """Inputs feeding one output: the product of the weight's dimensions after the first."""
    return math.prod(shape[1:])


def uniform(shape: tuple, bound: float, dtype, rng=None) -> np.ndarray:
    """U(-bound, bound) in `dtype`."""
    return generator(rng).uniform(-bound, bound, size=shape).astype(dtype)


def default_weight_and_bias(weight_shape: tuple, bias_size: int | None, dtype, rng=None):
    """PyTorch's default initialisation: weight and bias (None when bias_size is None) both
    U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1 / math.sqrt(fan_in(weight_shape))
    weight = uniform(weight_shape, bound, dtype, rng)
    bias = None if bias_size is None else uniform((bias_size,), bound, dtype, rng)
    return weight, bias
