"""The fully connected MNIST network of the lecture notes (seed 002, after Nielsen's "Neural
Networks and Deep Learning"): 784 inputs, hidden layers of 100 and 50 neurons, 10 outputs
(logits; the softmax sits in the cross-entropy loss). 84,060 parameters."""
from __future__ import annotations

import numpy as np

from .. import nn
from .registry import register

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


@register("mlp", (784,), "784-100-50-10 fully connected MNIST network (seed 002)")
def mlp(activation: str = "sigmoid", *, dtype=np.float32, rng=None) -> nn.Sequential:
    """Flatten, then 784 -> 100 -> 50 -> 10 with `activation` ("sigmoid" as in the notes,
    "tanh" or "relu") after each hidden layer; takes (N, 784) or (N, 1, 28, 28)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {activation!r}")
    act = ACTIVATIONS[activation]
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 100, dtype=dtype, rng=rng), act(),
        nn.Linear(100, 50, dtype=dtype, rng=rng), act(),
        nn.Linear(50, 10, dtype=dtype, rng=rng))
