"""DenseNet-121 (Huang et al. 2016) in torchvision's layout and key names
(features.conv0, features.denseblock1.denselayer1.norm1, features.transition1.conv,
classifier):

    conv0 7x7/2 64 (no bias), norm0, relu0, pool0 3x3/2 p1,
    dense blocks of 6, 12, 24, 16 layers with transitions between them, norm5, ReLU,
    global average pool, classifier 1024 -> 1000

A dense layer (growth rate k = 32, bottleneck 4k = 128): BN, ReLU, conv 1x1 -> 128, BN, ReLU,
conv 3x3 -> 32 (no biases); its 32 new maps are concatenated to its input. A transition: BN,
ReLU, conv 1x1 halving the channels, 2x2/2 average pooling. Channels: 64 + 6*32 = 256 -> 128,
+ 12*32 = 512 -> 256, + 24*32 = 1024 -> 512, + 16*32 = 1024. 7,978,856 parameters. Any input
from 29x29 on.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ._parts import backward_chain, forward_chain, generator, num_classes_option
from .registry import register


class DenseLayer(nn.Module):
    """y = concat(x, conv2(relu2(norm2(conv1(relu1(norm1(x))))))) on channels."""
    body = ("norm1", "relu1", "conv1", "norm2", "relu2", "conv2")

    def __init__(self, c_in, growth, bn_size, *, dtype, rng):
        super().__init__()
        middle = bn_size * growth
        self.norm1 = nn.BatchNorm2d(c_in, dtype=dtype)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(c_in, middle, 1, bias=False, dtype=dtype, rng=rng)
        self.norm2 = nn.BatchNorm2d(middle, dtype=dtype)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(middle, growth, 3, padding=1, bias=False, dtype=dtype, rng=rng)

    def forward(self, x):
        new = forward_chain(self, self.body, x)
        self.save_for_backward(x.shape[1])
        return np.concatenate([x, new], axis=1)

    def backward(self, grad_out, input_grad: bool = True):
        (c_in,) = self.saved()
        g_new = backward_chain(self, self.body, np.ascontiguousarray(grad_out[:, c_in:]),
                               input_grad)
        return grad_out[:, :c_in] + g_new if input_grad else None


def _transition(c_in, c_out, dtype, rng) -> nn.Sequential:
    return nn.Sequential(norm=nn.BatchNorm2d(c_in, dtype=dtype), relu=nn.ReLU(),
                         conv=nn.Conv2d(c_in, c_out, 1, bias=False, dtype=dtype, rng=rng),
                         pool=nn.AvgPool2d(2, 2))


@register("densenet121", (3, 224, 224), "DenseNet-121, torchvision layout, 7,978,856 parameters")
def densenet121(num_classes: int = 1000, *, dtype=np.float32, rng=None) -> nn.Sequential:
    """growth 32, blocks (6, 12, 24, 16), 64 initial features, bottleneck 4 (see the module
    docstring)."""
    rng = generator(rng)
    num_classes = num_classes_option(num_classes)
    growth, bn_size, channels = 32, 4, 64
    features = {"conv0": nn.Conv2d(3, 64, 7, 2, 3, bias=False, dtype=dtype, rng=rng),
                "norm0": nn.BatchNorm2d(64, dtype=dtype), "relu0": nn.ReLU(),
                "pool0": nn.MaxPool2d(3, 2, 1)}
    for index, count in enumerate((6, 12, 24, 16)):
        layers = {}
        for n in range(count):
            layers[f"denselayer{n + 1}"] = DenseLayer(channels + n * growth, growth, bn_size,
                                                      dtype=dtype, rng=rng)
        features[f"denseblock{index + 1}"] = nn.Sequential(**layers)
        channels += count * growth
        if index < 3:
            features[f"transition{index + 1}"] = _transition(channels, channels // 2, dtype, rng)
            channels //= 2
    features["norm5"] = nn.BatchNorm2d(channels, dtype=dtype)
    return nn.Sequential(
        features=nn.Sequential(**features), relu=nn.ReLU(), avgpool=nn.GlobalAvgPool2d(),
        flatten=nn.Flatten(),
        classifier=nn.Linear(channels, num_classes, dtype=dtype, rng=rng))
