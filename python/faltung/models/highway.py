"""A fully connected highway network for MNIST (Srivastava, Greff, Schmidhuber 2015, "Training
Very Deep Networks": plain and highway nets of width 50 on MNIST; the lecture notes, seed 000):

    Flatten, Linear 784 -> 50, ReLU, `depth` x Highway.dense(50) (ReLU transform, sigmoid gate,
    gate bias -1: each layer starts by mostly carrying its input), Linear 50 -> 10 (logits)

Parameters at the defaults (width 50, depth 10): 784*50 + 50 = 39,250; each highway layer two
50x50 linear maps with biases, 2 * 2,550 = 5,100, times 10 = 51,000; output 50*10 + 10 = 510;
total 90,760.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from .._params import positive_int
from ._parts import generator
from .registry import register


@register("highway", (784,), "fully connected MNIST highway net 784-50-10 highway layers-10, 90,760 parameters")
def highway(depth: int = 10, width: int = 50, gate_bias: float = -1.0, *, dtype=np.float32,
            rng=None) -> nn.Sequential:
    """depth highway layers of `width` units (the paper: 10 to 100 layers of 50)."""
    depth = positive_int(depth, "depth")
    width = positive_int(width, "width")
    rng = generator(rng)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, width, dtype=dtype, rng=rng), nn.ReLU(),
        *(nn.Highway.dense(width, gate_bias=gate_bias, dtype=dtype, rng=rng)
          for _ in range(depth)),
        nn.Linear(width, 10, dtype=dtype, rng=rng))
