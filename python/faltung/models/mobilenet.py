"""MobileNet v1 (Howard et al. 2017) and v2 (Sandler et al. 2018), on 3x224x224.

"mobilenet_v1" (width 1.0; keras.applications.MobileNet's layers): conv 3x3/2 32, then 13
depthwise separable blocks (depthwise 3x3 + BN + activation, pointwise 1x1 + BN + activation;
no biases) to 64, 128/2, 128, 256/2, 256, 512/2, 5 x 512, 1024/2, 1024; global average pool,
Dropout, fc 1024 -> 1000. activation "relu" (the paper) or "relu6" (Keras). Trainable
parameters 4,231,976: convolutions 3,185,088 + BN 2 x 10,944 + fc 1,025,000 (Keras counts the
21,888 moving statistics as non-trainable: our buffers). Stride-2 depthwise convolutions pad
1 on each side (Keras pads bottom/right only; same output size).

"mobilenet_v2" (torchvision's layout and key names): Conv2dNormActivation 3 -> 32 /2, then
inverted residual blocks (t, c, n, s) = (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1)
(6,160,3,2) (6,320,1,1): 1x1 expansion to t*C (+BN+ReLU6, absent when t = 1), 3x3 depthwise
(+BN+ReLU6), 1x1 linear projection (+BN), plus the input where stride 1 and C_in = C_out;
conv 1x1 -> 1280 + BN + ReLU6, global average pool, Dropout(0.2), fc 1280 -> 1000:
3,504,872 parameters.

Both take any input size (the padding keeps every map at least 1x1).
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ._parts import choice, conv_bn, generator, num_classes_option
from .registry import register

V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
             (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
V2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
             (6, 160, 3, 2), (6, 320, 1, 1))


@register("mobilenet_v1", (3, 224, 224), "MobileNet v1 (width 1.0), 4,231,976 trainable parameters")
def mobilenet_v1(activation: str = "relu", num_classes: int = 1000, *, dtype=np.float32,
                 rng=None) -> nn.Sequential:
    """See the module docstring."""
    act = {"relu": nn.ReLU, "relu6": nn.ReLU6}[choice(activation, ("relu", "relu6"),
                                                        "activation")]
    rng = generator(rng)
    num_classes = num_classes_option(num_classes)
    layers, channels = [nn.Sequential(*conv_bn(3, 32, 3, 2, 1, activation=act, eps=1e-3,
                                               dtype=dtype, rng=rng))], 32
    for c_out, stride in V1_BLOCKS:
        layers.append(nn.Sequential(
            nn.DepthwiseConv2d(channels, 3, stride, 1, bias=False, dtype=dtype, rng=rng),
            nn.BatchNorm2d(channels, eps=1e-3, dtype=dtype), act(),
            *conv_bn(channels, c_out, 1, activation=act, eps=1e-3, dtype=dtype, rng=rng)))
        channels = c_out
    return nn.Sequential(
        features=nn.Sequential(*layers), avgpool=nn.GlobalAvgPool2d(), flatten=nn.Flatten(),
        dropout=nn.Dropout(1e-3),
        classifier=nn.Linear(channels, num_classes, dtype=dtype, rng=rng))


class InvertedResidual(nn.Module):
    """torchvision's block: y = conv(x) (+ x where stride 1 and the channels are kept)."""

    def __init__(self, c_in, c_out, stride, expand, *, dtype, rng):
        super().__init__()
        hidden = c_in * expand
        layers = []
        if expand != 1:
            layers.append(nn.Sequential(*conv_bn(c_in, hidden, 1, activation=nn.ReLU6,
                                                 dtype=dtype, rng=rng)))
        layers.append(nn.Sequential(*conv_bn(hidden, hidden, 3, stride, 1, groups=hidden,
                                             activation=nn.ReLU6, dtype=dtype, rng=rng)))
        layers += conv_bn(hidden, c_out, 1, activation=None, dtype=dtype, rng=rng)
        self.conv = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and c_in == c_out

    def forward(self, x):
        y = self.conv(x)
        self.save_for_backward(True)
        return y + x if self.use_res_connect else y

    def backward(self, grad_out, input_grad: bool = True):
        self.saved()
        g = self.conv.backward(grad_out, input_grad)
        return g + grad_out if input_grad and self.use_res_connect else g


@register("mobilenet_v2", (3, 224, 224), "MobileNet v2, torchvision layout, 3,504,872 parameters")
def mobilenet_v2(num_classes: int = 1000, *, dtype=np.float32, rng=None) -> nn.Sequential:
    """See the module docstring."""
    rng = generator(rng)
    num_classes = num_classes_option(num_classes)
    layers = [nn.Sequential(*conv_bn(3, 32, 3, 2, 1, activation=nn.ReLU6, dtype=dtype,
                                     rng=rng))]
    channels = 32
    for expand, c_out, count, stride in V2_BLOCKS:
        for n in range(count):
            layers.append(InvertedResidual(channels, c_out, stride if n == 0 else 1, expand,
                                           dtype=dtype, rng=rng))
            channels = c_out
    layers.append(nn.Sequential(*conv_bn(channels, 1280, 1, activation=nn.ReLU6, dtype=dtype,
                                         rng=rng)))
    return nn.Sequential(
        features=nn.Sequential(*layers), avgpool=nn.GlobalAvgPool2d(), flatten=nn.Flatten(),
        classifier=nn.Sequential(nn.Dropout(0.2),
                                 nn.Linear(1280, num_classes, dtype=dtype, rng=rng)))
