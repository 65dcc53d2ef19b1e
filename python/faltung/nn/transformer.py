"""Transformer layers (ViT): MultiheadSelfAttention and the pre-LayerNorm EncoderBlock.

MultiheadSelfAttention has torch.nn.MultiheadAttention's parameters and names (in_proj_weight
(3D, D), in_proj_bias (3D), out_proj.weight/.bias) and its initialisation (Xavier-uniform
in-projection, zero biases), so weights move between the two. On tokens x (B, T, D), H heads of
width d = D / H:

    q, k, v = split(x W_in^T + b_in)                  3 T D^2 MACs (F.linear: our GEMM)
    O_h = softmax(q_h k_h^T / sqrt d) v_h per head     2 T^2 D MACs (F.attention: our GEMM)
    y = out_proj(concat_h O_h)                         T D^2 MACs (a child Linear, observed)
"""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .._params import positive_int
from . import init
from .activation import GELU
from .containers import Sequential, run_child
from .layernorm import LayerNorm
from .linear import Dropout, Linear
from .module import Module
from .parameter import Parameter


class MultiheadSelfAttention(Module):
    """Self-attention over (B, T, D) tokens (batch first), no mask, no dropout."""

    def __init__(self, embed_dim, num_heads, bias=True, *, dtype=np.float32, rng=None):
        super().__init__()
        self.embed_dim = positive_int(embed_dim, "embed_dim")
        self.num_heads = positive_int(num_heads, "num_heads")
        if embed_dim % num_heads:
            raise ValueError(f"num_heads: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        bound = math.sqrt(6 / (embed_dim + 3 * embed_dim))  # xavier_uniform_ on (3D, D)
        self.in_proj_weight = Parameter(init.uniform((3 * embed_dim, embed_dim), bound, dtype,
                                                     rng))
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, rng=rng)
        if bias:
            self.out_proj.bias.data.fill(0)

    def _heads(self, x):
        """(B, T, D) -> (B * H, T, d) contiguous."""
        b, t, _ = x.shape
        return np.ascontiguousarray(x.reshape(b, t, self.num_heads, -1).transpose(0, 2, 1, 3)
                                    ).reshape(b * self.num_heads, t, -1)

    def _merge(self, x, b):
        """(B * H, T, d) -> (B, T, D) contiguous."""
        _, t, d = x.shape
        return np.ascontiguousarray(x.reshape(b, self.num_heads, t, d).transpose(0, 2, 1, 3)
                                    ).reshape(b, t, self.num_heads * d)

    def forward(self, x):
        if np.ndim(x) != 3 or np.shape(x)[2] != self.embed_dim:
            raise ValueError(f"input: expected tokens (B, T, {self.embed_dim}), got shape "
                             f"{np.shape(x)}")
        bias = None if self.in_proj_bias is None else self.in_proj_bias.data
        qkv = F.linear(x, self.in_proj_weight.data, bias)
        q, k, v = (self._heads(part) for part in np.split(qkv, 3, axis=2))
        heads, weights = F.attention(q, k, v)
        y = run_child("out_proj", self.out_proj, "forward", self._merge(heads, x.shape[0]))
        self.save_for_backward(x, q, k, v, weights)
        return y

    def backward(self, grad_out, input_grad: bool = True):
        x, q, k, v, weights = self.saved()
        g_heads = self._heads(run_child("out_proj", self.out_proj, "backward", grad_out, True))
        dq, dk, dv = F.attention_backward(g_heads, q, k, v, weights)
        g_qkv = np.concatenate([self._merge(part, x.shape[0]) for part in (dq, dk, dv)], axis=2)
        gx, gw, gb = F.linear_backward(
            g_qkv, x, self.in_proj_weight.data,
            needs_input_grad=(input_grad, True, self.in_proj_bias is not None))
        self.accumulate(self.in_proj_weight, gw)
        if self.in_proj_bias is not None:
            self.accumulate(self.in_proj_bias, gb)
        return gx

    def own_macs(self, inputs, output) -> int:
        """MACs besides out_proj (a child, counted on its own): the in-projection
        (B*T*D*3D) and the two attention matmuls, Q K^T and weights . V (B*T*T*D each);
        faltung.analysis counts these."""
        b, t, d = np.shape(inputs[0])
        return b * t * d * 3 * d + 2 * b * t * t * d

    def describe(self) -> str:
        return f"MultiheadSelfAttention(dim={self.embed_dim}, heads={self.num_heads})"


class EncoderBlock(Module):
    """The pre-norm transformer block of ViT (torchvision's EncoderBlock names):

        x = x + self_attention(ln_1(x));   x = x + mlp(ln_2(x))

    mlp = Linear(D, mlp_dim), GELU, Dropout, Linear(mlp_dim, D), Dropout (keys mlp.0, mlp.3).
    Parameters: 4 D + (4 D^2 + 4 D) + (2 D mlp_dim + mlp_dim + D)."""

    def __init__(self, dim, num_heads, mlp_dim, dropout=0.0, eps=1e-6, *, dtype=np.float32,
                 rng=None):
        super().__init__()
        self.ln_1 = LayerNorm(dim, eps=eps, dtype=dtype)
        self.self_attention = MultiheadSelfAttention(dim, num_heads, dtype=dtype, rng=rng)
        self.ln_2 = LayerNorm(dim, eps=eps, dtype=dtype)
        self.mlp = Sequential(Linear(dim, mlp_dim, dtype=dtype, rng=rng), GELU(),
                              Dropout(dropout), Linear(mlp_dim, dim, dtype=dtype, rng=rng),
                              Dropout(dropout))

    def forward(self, x):
        h = run_child("ln_1", self.ln_1, "forward", x)
        x = x + run_child("self_attention", self.self_attention, "forward", h)
        h = run_child("ln_2", self.ln_2, "forward", x)
        self.save_for_backward(True)
        return x + run_child("mlp", self.mlp, "forward", h)

    def backward(self, grad_out, input_grad: bool = True):
        self.saved()
        g = run_child("mlp", self.mlp, "backward", grad_out, True)
        g = grad_out + run_child("ln_2", self.ln_2, "backward", g, True)
        h = run_child("self_attention", self.self_attention, "backward", g, True)
        h = run_child("ln_1", self.ln_1, "backward", h, input_grad)
        return g + h if input_grad else None
