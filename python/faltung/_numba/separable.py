"""Separable convolution forward: the Numba twin of cpp/cpu/separable.cpp (its materialised
variant): the depthwise output of the batch, then the 1x1 convolution, both by the Numba kernels
(_numba/depthwise.py, _numba/conv2d.py)."""
from __future__ import annotations

import numpy as np

from . import conv2d, depthwise


def separable_forward(y, x, dw, pw, bias, params, pointwise):
    """y = pw . depthwise(x, dw) + bias; params: the depthwise geometry, pointwise: the 1x1's."""
    middle = np.empty((params.batch, params.out_channels, params.out_h, params.out_w), x.dtype)
    depthwise.depthwise_forward(middle, x, dw, None, params)
    conv2d.conv2d_forward(y, middle, pw, bias, pointwise)
