"""LeNet-5 (LeCun et al. 1998) in its common form: [CONV-POOL-CONV-POOL-CONV-FC-FC] on a
32x32 image (MNIST's 28x28 digits padded by 2), 61,706 parameters:

    C1 conv 1->6 5x5 (28x28), S2 pool 2x2/2 (14x14), C3 conv 6->16 5x5 (10x10),
    S4 pool 2x2/2 (5x5), C5 conv 16->120 5x5 (1x1), F6 linear 120->84, output linear 84->10.

The paper's version (a partial C3 connection table, trainable subsampling, RBF outputs) is a
different model with 60,000 parameters. Options: tanh (the paper's squashing) or relu, average
(the paper's subsampling) or max pooling.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from .registry import register

POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


@register("lenet5", (1, 32, 32), "LeNet-5, common variant, 61,706 parameters")
def lenet5(activation: str = "tanh", pool: str = "avg", *, dtype=np.float32,
           rng=None) -> nn.Sequential:
    if activation not in ("tanh", "relu"):
        raise ValueError(f"activation: expected 'tanh' or 'relu', got {activation!r}")
    if pool not in POOLS:
        raise ValueError(f"pool: expected 'avg' or 'max', got {pool!r}")
    fused = {"activation": "relu"} if activation == "relu" else {}

    def conv(c_in, c_out):  # conv + activation: a fused ReLU, or a separate Tanh
        layer = nn.Conv2d(c_in, c_out, 5, **fused, dtype=dtype, rng=rng)
        return [layer] if fused else [layer, nn.Tanh()]

    act = nn.ReLU if activation == "relu" else nn.Tanh
    return nn.Sequential(
        *conv(1, 6), POOLS[pool](2),
        *conv(6, 16), POOLS[pool](2),
        *conv(16, 120), nn.Flatten(),
        nn.Linear(120, 84, dtype=dtype, rng=rng), act(),
        nn.Linear(84, 10, dtype=dtype, rng=rng))
