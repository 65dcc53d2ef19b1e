"""The one-layer "edge lover" net of the lecture notes (seed 002, "Beispiel Edge Lover"):

    Convolution2D(1, (5,5), padding='same') -> Activation('linear')
    -> MaxPooling2D(pool_size=(pixel, pixel)) -> Flatten -> Dense(2) -> softmax

One 5x5 kernel with "same" zero padding (padding 2) and a linear activation, the maximum over
the whole activation map (global max pooling: the strongest response to the kernel's pattern
anywhere in the image), and a dense layer from that one number to 2 classes. The softmax sits
in the cross-entropy loss, so the model returns the 2 logits. Parameters: conv 5*5 + 1 = 26,
dense 1*2 + 2 = 4, total 30. The notes leave `pixel` open; the registered input is 50x50 (our
choice), and any size works: the pooling covers the whole map.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ._parts import generator
from .registry import register


@register("edge_lover", (1, 50, 50), "one 5x5 conv + global max pool + dense 2 (seed 002), 30 parameters")
def edge_lover(*, dtype=np.float32, rng=None) -> nn.Sequential:
    rng = generator(rng)
    return nn.Sequential(
        conv=nn.Conv2d(1, 1, 5, padding=2, dtype=dtype, rng=rng),
        pool=nn.GlobalMaxPool2d(),
        flatten=nn.Flatten(),
        fc=nn.Linear(1, 2, dtype=dtype, rng=rng))
