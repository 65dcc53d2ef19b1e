"""ResNet-18/34/50/101/152 (He et al. 2015) and ResNeXt-50 32x4d (Xie et al. 2016) in
torchvision's layout and key names (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc):

    conv1 7x7/2 64 (no bias), bn1, ReLU, maxpool 3x3/2 p1, layer1..layer4 (64, 128, 256, 512
    planes; the first block of layer2..4 halves the size), global average pool, fc -> 1000

BasicBlock (18, 34): relu(bn2(conv2(relu(bn1(conv1 3x3(x))))) + shortcut(x)).
Bottleneck (50, 101, 152, ResNeXt): 1x1 to `width`, 3x3 (groups), 1x1 to 4 x planes, each
with batch norm, ReLU after the first two and after the add; width = planes * base_width/64 *
groups (ResNeXt-50 32x4d: groups 32, base width 4, so width = 2 x planes). The shortcut is
the identity, or conv 1x1 (stride) + batch norm ("downsample") where the shape changes.
Blocks per layer: 18 [2,2,2,2], 34 [3,4,6,3], 50 [3,4,6,3], 101 [3,4,23,3], 152 [3,8,36,3].

Stride placement in the bottleneck: torchvision ("v1.5") strides the 3x3 conv; the paper
("v1", Caffe) strides the first 1x1 conv: stride_in_1x1=True (same parameters, fewer MACs:
ResNet-50 3.858 G instead of 4.089 G). Any input size works (the padding keeps every map at
least 1x1).
Parameters (torchvision's): 11,689,512 / 21,797,672 / 25,557,032 / 44,549,160 / 60,192,808;
ResNeXt-50 32x4d 25,028,904.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..nn.containers import run_child
from ._parts import backward_chain, forward_chain, generator, num_classes_option
from .registry import register


class _Block(nn.Module):
    """relu(body(x) + shortcut(x)); the body is the children named in `body`, in order."""
    body: tuple = ()

    def forward(self, x):
        y = forward_chain(self, self.body, x)
        s = x if self.downsample is None else run_child("downsample", self.downsample,
                                                        "forward", x)
        self.save_for_backward(True)
        return run_child("relu", self.relu, "forward", y + s)

    def backward(self, grad_out, input_grad: bool = True):
        self.saved()
        g = run_child("relu", self.relu, "backward", grad_out, True)
        g_body = backward_chain(self, self.body, g, input_grad)
        if self.downsample is None:
            return g_body + g if input_grad else None
        g_short = run_child("downsample", self.downsample, "backward", g, input_grad)
        return g_body + g_short if input_grad else None


class BasicBlock(_Block):
    expansion = 1
    body = ("conv1", "bn1", "relu1", "conv2", "bn2")

    def __init__(self, c_in, planes, stride, downsample, groups=1, base_width=64,
                 stride_in_1x1=False, *, dtype, rng):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride, 1, bias=False, dtype=dtype, rng=rng)
        self.bn1 = nn.BatchNorm2d(planes, dtype=dtype)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False, dtype=dtype, rng=rng)
        self.bn2 = nn.BatchNorm2d(planes, dtype=dtype)
        self.downsample = downsample
        self.relu = nn.ReLU()


class Bottleneck(_Block):
    expansion = 4
    body = ("conv1", "bn1", "relu1", "conv2", "bn2", "relu2", "conv3", "bn3")

    def __init__(self, c_in, planes, stride, downsample, groups=1, base_width=64,
                 stride_in_1x1=False, *, dtype, rng):
        super().__init__()
        width = planes * base_width // 64 * groups
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = nn.Conv2d(c_in, width, 1, s1, bias=False, dtype=dtype, rng=rng)
        self.bn1 = nn.BatchNorm2d(width, dtype=dtype)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, width, 3, s3, 1, groups=groups, bias=False, dtype=dtype,
                               rng=rng)
        self.bn2 = nn.BatchNorm2d(width, dtype=dtype)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False, dtype=dtype, rng=rng)
        self.bn3 = nn.BatchNorm2d(planes * 4, dtype=dtype)
        self.downsample = downsample
        self.relu = nn.ReLU()


def _resnet(block, counts, num_classes, stride_in_1x1, groups=1, base_width=64, *, dtype,
            rng) -> nn.Sequential:
    rng = generator(rng)
    num_classes = num_classes_option(num_classes)
    if not isinstance(stride_in_1x1, bool):
        raise TypeError(f"stride_in_1x1: expected a bool, got {stride_in_1x1!r}")
    if stride_in_1x1 and block is BasicBlock:
        raise ValueError("stride_in_1x1: only for bottleneck ResNets (50, 101, 152, ResNeXt); "
                         "basic blocks have no 1x1 convolution")
    layers, c_in = {}, 64
    for index, (planes, count) in enumerate(zip((64, 128, 256, 512), counts)):
        blocks = []
        for b in range(count):
            stride = 2 if b == 0 and index > 0 else 1
            c_out = planes * block.expansion
            downsample = None
            if stride != 1 or c_in != c_out:
                downsample = nn.Sequential(
                    nn.Conv2d(c_in, c_out, 1, stride, bias=False, dtype=dtype, rng=rng),
                    nn.BatchNorm2d(c_out, dtype=dtype))
            blocks.append(block(c_in, planes, stride, downsample, groups, base_width,
                                stride_in_1x1, dtype=dtype, rng=rng))
            c_in = c_out
        layers[f"layer{index + 1}"] = nn.Sequential(*blocks)
    return nn.Sequential(
        conv1=nn.Conv2d(3, 64, 7, 2, 3, bias=False, dtype=dtype, rng=rng),
        bn1=nn.BatchNorm2d(64, dtype=dtype), relu=nn.ReLU(), maxpool=nn.MaxPool2d(3, 2, 1),
        **layers,
        avgpool=nn.GlobalAvgPool2d(), flatten=nn.Flatten(),
        fc=nn.Linear(c_in, num_classes, dtype=dtype, rng=rng))


def _register(name, block, counts, summary, **widths):
    @register(name, (3, 224, 224), summary)
    def build(num_classes: int = 1000, stride_in_1x1: bool = False, *, dtype=np.float32,
              rng=None):
        return _resnet(block, counts, num_classes, stride_in_1x1, **widths, dtype=dtype,
                       rng=rng)
    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"{summary} (see the module docstring)."
    return build


resnet18 = _register("resnet18", BasicBlock, (2, 2, 2, 2), "ResNet-18, 11,689,512 parameters")
resnet34 = _register("resnet34", BasicBlock, (3, 4, 6, 3), "ResNet-34, 21,797,672 parameters")
resnet50 = _register("resnet50", Bottleneck, (3, 4, 6, 3), "ResNet-50, 25,557,032 parameters")
resnet101 = _register("resnet101", Bottleneck, (3, 4, 23, 3),
                      "ResNet-101, 44,549,160 parameters")
resnet152 = _register("resnet152", Bottleneck, (3, 8, 36, 3),
                      "ResNet-152, 60,192,808 parameters")
resnext50_32x4d = _register("resnext50_32x4d", Bottleneck, (3, 4, 6, 3),
                            "ResNeXt-50 32x4d, 25,028,904 parameters", groups=32, base_width=4)
