"""VGG-11/13/16/19 (Simonyan, Zisserman 2014; configurations A, B, D, E) in torchvision's
layout and key names: 3x3 convolutions (padding 1) with ReLU, 2x2/2 max pooling ("M"),
AdaptiveAvgPool2d(7), classifier fc 25088->4096, ReLU, Dropout, fc 4096->4096, ReLU, Dropout,
fc 4096->1000. Any input from 32x32 on (five poolings).

Parameters: the convolutions sum 9 * C_in * C_out + C_out over the configuration (VGG-16:
14,714,688), the classifier 25088*4096 + 4096 + 4096*4096 + 4096 + 4096*1000 + 1000
= 123,642,856; VGG-11 132,863,336, VGG-13 133,047,848, VGG-16 138,357,544,
VGG-19 143,667,240. batch_norm=True inserts BatchNorm2d after every convolution
(torchvision's vgg*_bn).
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ._parts import generator, num_classes_option
from .registry import register

CONFIGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
         512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"],
}


def _vgg(depth, num_classes, batch_norm, dtype, rng) -> nn.Sequential:
    rng = generator(rng)
    num_classes = num_classes_option(num_classes)
    if not isinstance(batch_norm, bool):
        raise TypeError(f"batch_norm: expected a bool, got {batch_norm!r}")
    layers, channels = [], 3
    for item in CONFIGS[depth]:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers.append(nn.Conv2d(channels, item, 3, padding=1, dtype=dtype, rng=rng))
        if batch_norm:
            layers.append(nn.BatchNorm2d(item, dtype=dtype))
        layers.append(nn.ReLU())
        channels = item
    return nn.Sequential(
        features=nn.Sequential(*layers),
        avgpool=nn.AdaptiveAvgPool2d(7),
        flatten=nn.Flatten(),
        classifier=nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096, dtype=dtype, rng=rng), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(4096, 4096, dtype=dtype, rng=rng), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(4096, num_classes, dtype=dtype, rng=rng)))


def _register(depth: int, params: str):
    @register(f"vgg{depth}", (3, 224, 224), f"VGG-{depth}, torchvision layout, {params} parameters")
    def build(num_classes: int = 1000, batch_norm: bool = False, *, dtype=np.float32, rng=None):
        return _vgg(depth, num_classes, batch_norm, dtype, rng)
    build.__name__ = build.__qualname__ = f"vgg{depth}"
    build.__doc__ = f"VGG-{depth} (see the module docstring)."
    return build


vgg11 = _register(11, "132,863,336")
vgg13 = _register(13, "133,047,848")
vgg16 = _register(16, "138,357,544")
vgg19 = _register(19, "143,667,240")
