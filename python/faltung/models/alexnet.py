"""AlexNet (Krizhevsky, Sutskever, Hinton 2012) in three forms, on 3x227x227 (3x224x224 for
torchvision's):

"alexnet_2012": the paper's two-tower network. Each GPU held half of the kernels; conv2, conv4
and conv5 only saw the maps of their own GPU (groups=2), conv3 and the dense layers saw both.
LRN (n=5, alpha=1e-4, beta=0.75, k=2 in the paper's convention) follows the ReLU of conv1 and
conv2, before their 3x3/2 overlapping max pooling:

    conv1 3->96 11x11/4 (55x55)        96 * (3*121) + 96       =     34,944
    conv2 96->256 5x5 p2 groups 2      256 * (48*25) + 256     =    307,456
    conv3 256->384 3x3 p1              384 * (256*9) + 384     =    885,120
    conv4 384->384 3x3 p1 groups 2     384 * (192*9) + 384     =    663,936
    conv5 384->256 3x3 p1 groups 2     256 * (192*9) + 256     =    442,624
    fc6 9216->4096, fc7 4096->4096, fc8 4096->1000             = 58,631,144
                                                        total    60,965,224
"alexnet_one_tower": the same without groups (conv2 614,656, conv4 1,327,488, conv5 884,992):
62,378,344. Both flatten 256x6x6 after the last pool, so they take 227x227 (up to 230x230)
inputs only.

"alexnet": torchvision's variant (64/192/384/256/256 kernels, no LRN, AdaptiveAvgPool2d(6)
before the classifier; torchvision's key names): 61,100,840, any input from 63x63 on.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ._parts import generator, num_classes_option
from .registry import register


def _classifier(num_classes, dtype, rng) -> nn.Sequential:
    """torchvision's: Dropout, fc 9216->4096, ReLU, Dropout, fc 4096->4096, ReLU, fc."""
    return nn.Sequential(
        nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096, dtype=dtype, rng=rng), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(4096, 4096, dtype=dtype, rng=rng), nn.ReLU(),
        nn.Linear(4096, num_classes, dtype=dtype, rng=rng))


def _paper(groups, num_classes, dtype, rng) -> nn.Sequential:
    rng = generator(rng)
    num_classes = num_classes_option(num_classes)

    def conv(c_in, c_out, kernel, stride=1, padding=0, groups=1):
        return nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups, dtype=dtype,
                         rng=rng)

    def lrn():
        return nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)

    return nn.Sequential(
        features=nn.Sequential(
            conv(3, 96, 11, 4), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
            conv(96, 256, 5, padding=2, groups=groups), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
            conv(256, 384, 3, padding=1), nn.ReLU(),
            conv(384, 384, 3, padding=1, groups=groups), nn.ReLU(),
            conv(384, 256, 3, padding=1, groups=groups), nn.ReLU(), nn.MaxPool2d(3, 2)),
        flatten=nn.Flatten(),
        classifier=_classifier(num_classes, dtype, rng))


@register("alexnet_2012", (3, 227, 227), "AlexNet, the 2012 two-tower network (groups, LRN), 60,965,224 parameters")
def alexnet_2012(num_classes: int = 1000, *, dtype=np.float32, rng=None) -> nn.Sequential:
    return _paper(2, num_classes, dtype, rng)


@register("alexnet_one_tower", (3, 227, 227), "AlexNet 2012 in one tower (no groups), 62,378,344 parameters")
def alexnet_one_tower(num_classes: int = 1000, *, dtype=np.float32, rng=None) -> nn.Sequential:
    return _paper(1, num_classes, dtype, rng)


@register("alexnet", (3, 224, 224), "AlexNet, torchvision's variant, 61,100,840 parameters")
def alexnet(num_classes: int = 1000, *, dtype=np.float32, rng=None) -> nn.Sequential:
    rng = generator(rng)
    num_classes = num_classes_option(num_classes)

    def conv(c_in, c_out, kernel, stride=1, padding=0):
        return nn.Conv2d(c_in, c_out, kernel, stride, padding, dtype=dtype, rng=rng)

    return nn.Sequential(
        features=nn.Sequential(
            conv(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
            conv(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            conv(192, 384, 3, padding=1), nn.ReLU(),
            conv(384, 256, 3, padding=1), nn.ReLU(),
            conv(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2)),
        avgpool=nn.AdaptiveAvgPool2d(6),
        flatten=nn.Flatten(),
        classifier=_classifier(num_classes, dtype, rng))
