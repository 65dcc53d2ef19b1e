"""GoogLeNet / Inception v1 (Szegedy et al. 2014), two layouts with torchvision's key names
(conv1, conv2, conv3, inception3a.branch1 .. branch4, aux1, aux2, fc):

"googlenet": the paper's Table 1. Convolutions with bias and ReLU, no batch norm; LRN after
the first max pooling and after conv3 (the 3x3); each Inception module concatenates four
branches: branch1 1x1, branch2 1x1 reduce -> 3x3, branch3 1x1 reduce -> 5x5, branch4 3x3/1
max pool -> 1x1 projection. 6,998,552 parameters without the auxiliary heads.

"googlenet_torchvision": torchvision's layout: every convolution without bias followed by
BatchNorm2d(eps=1e-3) and ReLU ("BasicConv2d": keys .conv, .bn), no LRN, and a 3x3 kernel in
the "5x5" branch (a known slip in the reference port, kept by torchvision): 6,624,904
parameters without the auxiliary heads (torchvision's published count; 1.498 G MACs at 224).

Both: 3x3/2 max pooling with ceil_mode (torchvision: 2x2/2 before 5a; 224 -> 112 -> 56 -> 28
-> 14 -> 7), the final 7x7
average pooling as a global average pool, Dropout(0.4; torchvision 0.2), fc 1024 -> 1000. Inputs from 47x47
(the paper's 3x3 pooling before 5a) or 31x31 (torchvision's 2x2 there) on; the paper's
auxiliary heads need inception4a's 14x14 maps (224x224 inputs) for their 5x5/3 pooling.

aux_heads=True adds the two auxiliary classifiers on the outputs of inception4a (aux1) and
inception4d (aux2): 5x5/3 average pooling (torchvision: adaptive to 4x4), conv 1x1 -> 128,
fc 2048 -> 1024 + ReLU, Dropout(0.7), fc 1024 -> 1000. In this API the forward pass returns
the main logits only; in training mode it also leaves the auxiliary logits in
`model.aux_logits` (aux1, aux2), and `model.backward(grad, aux_grads=(g1, g2))` adds their
gradients where the heads branch off (the paper weights their losses by 0.3). Without
aux_grads the heads get no gradient. In eval mode the heads are not run (aux_logits is None).
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..nn.containers import run_child
from ._parts import backward_chain, forward_chain, generator, num_classes_option
from .registry import register

# Table 1: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)
INCEPTIONS = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


class _Layout:
    """How one layout builds a convolution unit and the "5x5" kernel."""

    def __init__(self, torchvision: bool, dtype, rng):
        self.torchvision, self.dtype, self.rng = torchvision, dtype, rng
        self.five = 3 if torchvision else 5

    def conv(self, c_in, c_out, kernel, stride=1, padding=0) -> nn.Sequential:
        """torchvision: conv (no bias), bn (eps 1e-3), relu; the paper: conv (bias), relu."""
        conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=not self.torchvision,
                         dtype=self.dtype, rng=self.rng)
        if self.torchvision:
            return nn.Sequential(conv=conv, bn=nn.BatchNorm2d(c_out, eps=1e-3, dtype=self.dtype),
                                 relu=nn.ReLU())
        return nn.Sequential(conv=conv, relu=nn.ReLU())

    def inception(self, c_in, widths) -> nn.Concat:
        n1, r3, n3, r5, n5, proj = widths
        return nn.Concat(
            branch1=self.conv(c_in, n1, 1),
            branch2=nn.Sequential(self.conv(c_in, r3, 1), self.conv(r3, n3, 3, padding=1)),
            branch3=nn.Sequential(self.conv(c_in, r5, 1),
                                  self.conv(r5, n5, self.five, padding=self.five // 2)),
            branch4=nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True),
                                  self.conv(c_in, proj, 1)))

    def aux(self, c_in, num_classes) -> nn.Sequential:
        pool = nn.AdaptiveAvgPool2d(4) if self.torchvision else nn.AvgPool2d(5, 3)
        return nn.Sequential(
            pool=pool, conv=self.conv(c_in, 128, 1), flatten=nn.Flatten(),
            fc1=nn.Linear(2048, 1024, dtype=self.dtype, rng=self.rng), relu=nn.ReLU(),
            dropout=nn.Dropout(0.7),
            fc2=nn.Linear(1024, num_classes, dtype=self.dtype, rng=self.rng))


class GoogLeNet(nn.Module):
    """The trunk runs the children in `trunk` order; aux1/aux2 branch off after inception4a /
    inception4d in training mode (see the module docstring)."""
    taps = {"inception4a": "aux1", "inception4d": "aux2"}

    def __init__(self, torchvision: bool, aux_heads: bool, num_classes: int, dtype, rng):
        super().__init__()
        layout = _Layout(torchvision, dtype, generator(rng))
        trunk = {"conv1": layout.conv(3, 64, 7, 2, 3),
                 "maxpool1": nn.MaxPool2d(3, 2, ceil_mode=True)}
        if not torchvision:
            trunk["lrn1"] = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        trunk["conv2"] = layout.conv(64, 64, 1)
        trunk["conv3"] = layout.conv(64, 192, 3, padding=1)
        if not torchvision:
            trunk["lrn2"] = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        trunk["maxpool2"] = nn.MaxPool2d(3, 2, ceil_mode=True)
        channels = 192
        for name, widths in INCEPTIONS.items():
            if name in ("4a", "5a"):
                kernel = 2 if torchvision and name == "5a" else 3  # torchvision's maxpool4: 2x2
                trunk[f"maxpool{3 if name == '4a' else 4}"] = nn.MaxPool2d(kernel, 2,
                                                                           ceil_mode=True)
            trunk[f"inception{name}"] = layout.inception(channels, widths)
            channels = widths[0] + widths[2] + widths[4] + widths[5]
        trunk.update(avgpool=nn.GlobalAvgPool2d(), flatten=nn.Flatten(),
                     dropout=nn.Dropout(0.2 if torchvision else 0.4),
                     fc=nn.Linear(1024, num_classes, dtype=dtype, rng=layout.rng))
        for name, module in trunk.items():
            setattr(self, name, module)
        self.trunk = tuple(trunk)
        self.aux1 = layout.aux(512, num_classes) if aux_heads else None
        self.aux2 = layout.aux(528, num_classes) if aux_heads else None
        self.aux_logits = None

    def _segments(self):
        """The trunk cut after each tap: [(names, tap or None), ...]."""
        segments, start = [], 0
        for index, name in enumerate(self.trunk):
            if name in self.taps:
                segments.append((self.trunk[start:index + 1], self.taps[name]))
                start = index + 1
        segments.append((self.trunk[start:], None))
        return segments

    def _heads_active(self) -> bool:
        return self.aux1 is not None and self.training

    def forward(self, x):
        aux = []
        for names, tap in self._segments():
            x = forward_chain(self, names, x)
            if tap and self._heads_active():
                aux.append(run_child(tap, getattr(self, tap), "forward", x))
        self.aux_logits = tuple(aux) if aux else None
        self.save_for_backward(self.aux_logits is not None)
        return x

    def backward(self, grad_out, input_grad: bool = True, aux_grads=None):
        (heads_ran,) = self.saved()
        if aux_grads is not None and not heads_ran:
            raise ValueError("aux_grads: the auxiliary heads did not run in the last forward "
                             "(build with aux_heads=True and use training mode)")
        if aux_grads is not None and len(aux_grads) != 2:
            raise ValueError(f"aux_grads: expected (grad_aux1, grad_aux2), got "
                             f"{len(aux_grads)} arrays")
        segments = self._segments()
        g = grad_out
        for index in range(len(segments) - 1, -1, -1):
            names, tap = segments[index]
            if tap and aux_grads is not None:
                g = g + run_child(tap, getattr(self, tap), "backward",
                                  aux_grads[0 if tap == "aux1" else 1], True)
            g = backward_chain(self, names, g, input_grad or index > 0)
        return g


def _options(aux_heads, num_classes) -> int:
    if not isinstance(aux_heads, bool):
        raise TypeError(f"aux_heads: expected a bool, got {aux_heads!r}")
    return num_classes_option(num_classes)


@register("googlenet", (3, 224, 224), "GoogLeNet / Inception v1 as in the paper's Table 1, 6,998,552 parameters")
def googlenet(aux_heads: bool = False, num_classes: int = 1000, *, dtype=np.float32,
              rng=None) -> GoogLeNet:
    """The paper's layout; aux_heads adds 2 x (conv 1x1 + fc 2048->1024 + fc 1024->1000)."""
    return GoogLeNet(False, aux_heads, _options(aux_heads, num_classes), dtype, rng)


@register("googlenet_torchvision", (3, 224, 224), "GoogLeNet in torchvision's layout (batch norm, 3x3 \"5x5\" branch), 6,624,904 parameters")
def googlenet_torchvision(aux_heads: bool = False, num_classes: int = 1000, *,
                          dtype=np.float32, rng=None) -> GoogLeNet:
    """torchvision's layout (its key names); aux_heads as torchvision's aux_logits=True."""
    return GoogLeNet(True, aux_heads, _options(aux_heads, num_classes), dtype, rng)
