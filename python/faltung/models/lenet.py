"""LeNet-5 (LeCun et al. 1998) in its common form: [CONV-POOL-CONV-POOL-CONV-FC-FC] on a
32x32 image (MNIST's 28x28 digits padded by 2), 61,706 parameters:

    C1 conv 1->6 5x5 (28x28), S2 pool 2x2/2 (14x14), C3 conv 6->16 5x5 (10x10),
    S4 pool 2x2/2 (5x5), C5 conv 16->120 5x5 (1x1), F6 linear 120->84, output linear 84->10.

"lenet5_1998" is the paper's own version (a partial C3 connection table, trainable
subsampling, RBF outputs), 60,000 trainable parameters. Options of "lenet5": tanh (the paper's squashing) or relu, average
(the paper's subsampling) or max pooling.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ._parts import choice, generator
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


# LeCun et al. 1998, Table I: the S2 maps each C3 map sees
C3_TABLE = ((0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
            (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
            (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5), (0, 1, 2, 3, 4, 5))


@register("lenet5_1998", (1, 32, 32), "LeNet-5 as in the 1998 paper, 60,000 trainable parameters")
def lenet5_1998(output: str = "rbf", *, dtype=np.float32, rng=None) -> nn.Sequential:
    """The paper's LeNet-5 (section II.B), every layer up to F6 squashed by 1.7159 tanh(2a/3):

        C1  conv 1->6 5x5 (28x28)              6 * (25 + 1)                  =    156
        S2  subsampling 2x2 (14x14)            6 * (coefficient + bias)      =     12
        C3  conv 5x5, Table I's 60 connections 60 * 25 + 16 biases           =  1,516
        S4  subsampling 2x2 (5x5)              16 * 2                        =     32
        C5  conv 16->120 5x5 (1x1)             120 * (16 * 25 + 1)           = 48,120
        F6  linear 120->84                     84 * (120 + 1)                = 10,164
                                                                     trainable 60,000
        output "rbf": 10 Euclidean RBF units with fixed centres (a buffer: 840 numbers, not
        trained, as in the paper); returns -penalty per class (nn.RBFOutput).
        output "linear": a trainable linear layer 84->10 instead, 84 * 10 + 10 = 850 more
        (60,850).
    Input 32x32 only (C5 must come out 1x1 to feed F6)."""
    output = choice(output, ("rbf", "linear"), "output")
    rng = generator(rng)
    last = (nn.RBFOutput(84, 10, dtype=dtype) if output == "rbf"
            else nn.Linear(84, 10, dtype=dtype, rng=rng))
    return nn.Sequential(
        c1=nn.Conv2d(1, 6, 5, dtype=dtype, rng=rng), act1=nn.ScaledTanh(),
        s2=nn.Subsampling(6, dtype=dtype, rng=rng), act2=nn.ScaledTanh(),
        c3=nn.PartialConv2d(6, C3_TABLE, 5, dtype=dtype, rng=rng), act3=nn.ScaledTanh(),
        s4=nn.Subsampling(16, dtype=dtype, rng=rng), act4=nn.ScaledTanh(),
        c5=nn.Conv2d(16, 120, 5, dtype=dtype, rng=rng), act5=nn.ScaledTanh(),
        flatten=nn.Flatten(),
        f6=nn.Linear(120, 84, dtype=dtype, rng=rng), act6=nn.ScaledTanh(),
        output=last)
