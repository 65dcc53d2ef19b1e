"""What one layer costs: multiply-accumulates (MACs) of the layers that multiply (convolutions,
linear layers, attention), the element operations of the rest (normalisation, activations,
pooling, additions; shown separately so that totals compare with published MAC figures), and
how a layer grows the receptive field.

MAC rules (batch 1; FLOPs = 2 x MACs):
  Conv2d           output elements x in_channels/groups x kh x kw
  ConvTranspose2d  input elements x out_channels/groups x kh x kw (each input pixel scattered)
  DepthwiseConv2d  output elements x kh x kw
  SeparableConv2d  depthwise output elements x kh x kw + output elements x C*multiplier
  Linear           output elements x in_features
  a module with an `own_macs(inputs, output)` method (attention's two matmuls) counts that.
A layer shared by several places of a network counts its MACs at every call and its parameters
once.
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn


def _elements(shape) -> int:
    return math.prod(shape)


def macs(module, inputs: tuple, output) -> int:
    """The multiply-accumulates of one call of `module` itself (not of its children)."""
    if hasattr(module, "own_macs"):
        return int(module.own_macs(inputs, output))
    out = _elements(np.shape(output))
    if isinstance(module, nn.Conv2d):
        _, cg, kh, kw = module.weight.shape
        return out * cg * kh * kw
    if isinstance(module, nn.ConvTranspose2d):
        _, og, kh, kw = module.weight.shape
        return _elements(np.shape(inputs[0])) * og * kh * kw
    if isinstance(module, nn.DepthwiseConv2d):
        _, _, kh, kw = module.weight.shape
        return out * kh * kw
    if isinstance(module, nn.SeparableConv2d):
        middle, _, kh, kw = module.depthwise_weight.shape
        depthwise_out = out // module.pointwise_weight.shape[0] * middle
        return depthwise_out * kh * kw + out * middle
    if isinstance(module, nn.Linear):
        return out * module.weight.shape[1]
    return 0


# layers whose own work is element operations: counted as "other ops", one per output element
# (pooling: per input element read)
_ELEMENTWISE = (nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Dropout,
                nn.LocalResponseNorm, nn.LocalContrastNorm)
_POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.LPPool2d, nn.AdaptiveAvgPool2d, nn.GlobalAvgPool2d,
            nn.GlobalMaxPool2d)


def other_ops(module, inputs: tuple, output) -> int:
    """Element operations of one call that are not MACs: normalisation, activations, pooling
    (one per input element), the additions of residual connections and the gates of highway
    layers (one per output element)."""
    if isinstance(module, _POOLING):
        return _elements(np.shape(inputs[0]))
    if isinstance(module, _ELEMENTWISE + (nn.Residual, nn.Highway)) or (
            type(module).__name__ in ("ReLU6", "GELU", "LayerNorm")):
        return _elements(np.shape(output))
    return 0


def window(module, inputs: tuple, output):
    """(kernel, stride) of a layer along the height, as the receptive field grows with it
    (kernel including dilation); None for layers that keep positions (activations, norms) and
    "all" for layers that mix every position (linear layers after a flatten, global pooling)."""
    if isinstance(module, (nn.Conv2d, nn.DepthwiseConv2d, nn.SeparableConv2d, nn.ConvTranspose2d)):
        weight = module.depthwise_weight if isinstance(module, nn.SeparableConv2d) else module.weight
        kh = weight.shape[2]
        g = module.geometry
        stride = _first(g["stride"])
        dilation = _first(g["dilation"])
        if isinstance(module, nn.ConvTranspose2d):  # upsampling: the jump shrinks
            return (dilation * (kh - 1) + 1, 1 / stride)
        return (dilation * (kh - 1) + 1, stride)
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.LPPool2d)):
        o = module.options
        kernel = _first(o["kernel_size"])
        stride = _first(o["stride"]) if o.get("stride") is not None else kernel
        return (_first(o.get("dilation", 1)) * (kernel - 1) + 1, stride)
    if isinstance(module, nn.AdaptiveAvgPool2d):
        size, out = np.shape(inputs[0])[-2], np.shape(output)[-2]
        widest = max(-(-((i + 1) * size) // out) - (i * size) // out for i in range(out))
        return (widest, size / out)
    if isinstance(module, (nn.GlobalAvgPool2d, nn.GlobalMaxPool2d, nn.Flatten, nn.Linear)) or \
            hasattr(module, "own_macs"):  # attention mixes every token
        return "all"
    return None


def _first(value) -> int:
    return value[0] if isinstance(value, (tuple, list)) else value
