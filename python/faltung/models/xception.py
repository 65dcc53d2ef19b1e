"""Xception (Chollet 2016) as keras.applications.Xception builds it, on 3x299x299:

    entry flow: conv 3x3/2 32 (valid), BN, ReLU, conv 3x3 64 (valid), BN, ReLU;
      three blocks (128, 256, 728): [ReLU,] sep 3x3, BN, ReLU, sep 3x3, BN, max pool 3x3/2
      "same", plus a shortcut conv 1x1/2 + BN (the first block has no leading ReLU: its input
      has just been through one)
    middle flow: 8 blocks of 3 x (ReLU, sep 3x3 728, BN), identity shortcut
    exit flow: ReLU, sep 728, BN, ReLU, sep 1024, BN, max pool 3x3/2 "same", shortcut conv
      1x1/2 1024 + BN; sep 1536, BN, ReLU, sep 2048, BN, ReLU; global average pool; fc 1000

"sep" is a SeparableConv2d (depthwise 3x3 then pointwise 1x1, no bias, "same" padding); no
convolution has a bias. Batch norm: eps 1e-3 (Keras). 22,855,952 trainable parameters (Keras
also counts 54,528 non-trainable moving statistics: our running_mean/var buffers). Keras's
"same" pooling pads asymmetrically where the size is even (74 -> 37); faltung's
padding="same" follows TensorFlow's rule. Any input from 7x7 on.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ._parts import conv_bn, generator, num_classes_option
from .registry import register


def _separable(c_in, c_out, dtype, rng) -> list:
    return [nn.SeparableConv2d(c_in, c_out, 3, padding=1, bias=False, dtype=dtype, rng=rng),
            nn.BatchNorm2d(c_out, eps=1e-3, dtype=dtype)]


def _down_block(c_in, c_out, relu_first, dtype, rng) -> nn.Residual:
    body = ([nn.ReLU()] if relu_first else []) + _separable(c_in, c_out, dtype, rng) + [
        nn.ReLU()] + _separable(c_out, c_out, dtype, rng) + [nn.MaxPool2d(3, 2, "same")]
    return _projected(body, c_in, c_out, dtype, rng)


def _projected(body, c_in, c_out, dtype, rng) -> nn.Residual:
    shortcut = nn.Sequential(*conv_bn(c_in, c_out, 1, 2, activation=None, eps=1e-3,
                                      dtype=dtype, rng=rng))
    return nn.Residual(nn.Sequential(*body), shortcut)


def _middle_block(dtype, rng) -> nn.Residual:
    body = []
    for _ in range(3):
        body += [nn.ReLU()] + _separable(728, 728, dtype, rng)
    return nn.Residual(nn.Sequential(*body))


@register("xception", (3, 299, 299), "Xception (Keras), 22,855,952 trainable parameters")
def xception(num_classes: int = 1000, *, dtype=np.float32, rng=None) -> nn.Sequential:
    """See the module docstring."""
    rng = generator(rng)
    num_classes = num_classes_option(num_classes)
    exit_body = ([nn.ReLU()] + _separable(728, 728, dtype, rng) + [nn.ReLU()]
                 + _separable(728, 1024, dtype, rng) + [nn.MaxPool2d(3, 2, "same")])
    return nn.Sequential(
        entry=nn.Sequential(
            *conv_bn(3, 32, 3, 2, eps=1e-3, dtype=dtype, rng=rng),
            *conv_bn(32, 64, 3, eps=1e-3, dtype=dtype, rng=rng),
            _down_block(64, 128, False, dtype, rng),
            _down_block(128, 256, True, dtype, rng),
            _down_block(256, 728, True, dtype, rng)),
        middle=nn.Sequential(*(_middle_block(dtype, rng) for _ in range(8))),
        exit=nn.Sequential(
            _projected(exit_body, 728, 1024, dtype, rng),
            *_separable(1024, 1536, dtype, rng), nn.ReLU(),
            *_separable(1536, 2048, dtype, rng), nn.ReLU()),
        avgpool=nn.GlobalAvgPool2d(), flatten=nn.Flatten(),
        fc=nn.Linear(2048, num_classes, dtype=dtype, rng=rng))
