"""faltung.nn: layers with explicit forward and backward passes, containers, losses.

Every layer is a Module (module.py): forward(x) keeps what backward needs, backward(grad_out)
accumulates parameter gradients and returns the input gradient. Initial weights follow
torch.nn's defaults (init.py; seed them with faltung.nn.manual_seed), state_dict() keys follow
PyTorch's names.
"""
from .activation import GELU, ReLU, ReLU6, Sigmoid, Tanh
from .containers import Concat, Identity, Residual, Sequential
from .conv import Conv2d, ConvTranspose2d
from .depthwise import DepthwiseConv2d, SeparableConv2d
from .highway import Highway
from .init import manual_seed
from .layernorm import LayerNorm
from .lenet1998 import PartialConv2d, RBFOutput, ScaledTanh, Subsampling
from .linear import Dropout, Flatten, Linear
from .loss import CrossEntropyLoss
from .module import Module
from .norm import BatchNorm1d, BatchNorm2d, LocalContrastNorm, LocalResponseNorm
from .parameter import Parameter
from .transformer import EncoderBlock, MultiheadSelfAttention
from .pool import (AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool2d, GlobalMaxPool2d, LPPool2d,
                   MaxPool2d)

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "GlobalAvgPool2d", "GlobalMaxPool2d", "LPPool2d",
           "MaxPool2d", "BatchNorm1d", "BatchNorm2d", "LocalContrastNorm", "LocalResponseNorm",
           "DepthwiseConv2d", "SeparableConv2d", "Concat", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss", "Dropout", "Flatten",
           "Highway", "Identity", "Linear", "Module", "Parameter", "ReLU", "Residual",
           "Sequential", "Sigmoid", "Tanh", "manual_seed",
           "GELU", "ReLU6", "LayerNorm", "PartialConv2d", "RBFOutput", "ScaledTanh", "Subsampling",
           "EncoderBlock", "MultiheadSelfAttention"]
