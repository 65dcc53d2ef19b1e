"""ViT-Ti/16 (Dosovitskiy et al. 2020; the "Ti" size of Touvron et al. 2021 DeiT-Ti) in
torchvision's VisionTransformer layout and key names (class_token, conv_proj,
encoder.pos_embedding, encoder.layers.encoder_layer_0.ln_1 / self_attention / ln_2 / mlp.0 /
mlp.3, encoder.ln, heads.head), on 3x224x224:

    conv_proj: Conv2d 3 -> 192, 16x16 stride 16 (faltung's strided conv kernel) -> 14x14
      patches = 196 tokens; a learned class token in front (197 tokens); + learned position
      embedding (197 x 192)
    12 pre-LayerNorm encoder blocks (nn.EncoderBlock): 3 heads of width 64 (attention on
      faltung's GEMM), MLP 192 -> 768 -> 192 with GELU (erf form); LayerNorm eps 1e-6
    final LayerNorm, the class token's features -> head 192 -> 1000

Parameters: conv_proj 192*768 + 192 = 147,648; class token 192; positions 197*192 = 37,824;
per block 2 LayerNorms 768 + attention 4*192^2 + 4*192 = 148,224 + MLP 295,872 = 444,864, times
12 = 5,338,368; final LayerNorm 384; head 193,000; total 5,717,416. image_size sets the number
of position embeddings ((image_size // 16)^2 + 1), so the model takes that size only; 16 is the
smallest (one patch).
"""
from __future__ import annotations

import numpy as np

from .. import nn
from .._params import positive_int
from ..nn.containers import run_child
from ._parts import forward_chain, generator, num_classes_option
from .registry import register


class Encoder(nn.Module):
    """x + pos_embedding, the encoder blocks (layers), the final LayerNorm (ln)."""

    def __init__(self, tokens, dim, depth, heads, mlp_dim, *, dtype, rng):
        super().__init__()
        self.pos_embedding = nn.Parameter(
            (rng.standard_normal((1, tokens, dim)) * 0.02).astype(dtype))  # torchvision's init
        self.layers = nn.Sequential(**{
            f"encoder_layer_{i}": nn.EncoderBlock(dim, heads, mlp_dim, dtype=dtype, rng=rng)
            for i in range(depth)})
        self.ln = nn.LayerNorm(dim, eps=1e-6, dtype=dtype)

    def forward(self, x):
        if x.shape[1:] != self.pos_embedding.shape[1:]:
            raise ValueError(f"input: expected tokens (B, {self.pos_embedding.shape[1]}, "
                             f"{self.pos_embedding.shape[2]}), got shape {x.shape}; build the "
                             f"model with the image_size of the input")
        self.save_for_backward(True)
        return forward_chain(self, ("layers", "ln"), x + self.pos_embedding.data)

    def backward(self, grad_out, input_grad: bool = True):
        self.saved()
        g = run_child("ln", self.ln, "backward", grad_out, True)
        g = run_child("layers", self.layers, "backward", g, True)
        self.accumulate(self.pos_embedding, g.sum(axis=0, keepdims=True))
        return g if input_grad else None


class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch, dim, depth, heads, mlp_dim, num_classes, *, dtype,
                 rng):
        super().__init__()
        rng = generator(rng)
        side = image_size // patch
        self.class_token = nn.Parameter(np.zeros((1, 1, dim), dtype))
        self.conv_proj = nn.Conv2d(3, dim, patch, patch, dtype=dtype, rng=rng)
        self.encoder = Encoder(side * side + 1, dim, depth, heads, mlp_dim, dtype=dtype,
                               rng=rng)
        self.heads = nn.Sequential(head=nn.Linear(dim, num_classes, dtype=dtype, rng=rng))

    def forward(self, x):
        patches = run_child("conv_proj", self.conv_proj, "forward", x)  # (B, D, h, w)
        batch, dim, h, w = patches.shape
        tokens = patches.reshape(batch, dim, h * w).transpose(0, 2, 1)
        cls = np.broadcast_to(self.class_token.data, (batch, 1, dim))
        x = run_child("encoder", self.encoder, "forward", np.concatenate([cls, tokens], axis=1))
        self.save_for_backward(patches.shape)
        return run_child("heads", self.heads, "forward", np.ascontiguousarray(x[:, 0]))

    def backward(self, grad_out, input_grad: bool = True):
        (shape,) = self.saved()
        batch, dim, h, w = shape
        g_first = run_child("heads", self.heads, "backward", grad_out, True)
        g = np.zeros((batch, h * w + 1, dim), g_first.dtype)
        g[:, 0] = g_first
        g = run_child("encoder", self.encoder, "backward", g, True)
        self.accumulate(self.class_token, g[:, :1].sum(axis=0, keepdims=True))
        g_patches = np.ascontiguousarray(g[:, 1:].transpose(0, 2, 1)).reshape(shape)
        return run_child("conv_proj", self.conv_proj, "backward", g_patches, input_grad)


@register("vit_ti16", (3, 224, 224), "ViT-Ti/16 (dim 192, 12 blocks, 3 heads), 5,717,416 parameters")
def vit_ti16(image_size: int = 224, num_classes: int = 1000, *, dtype=np.float32,
             rng=None) -> VisionTransformer:
    """See the module docstring; image_size: a multiple of 16."""
    image_size = positive_int(image_size, "image_size")
    if image_size % 16:
        raise ValueError(f"image_size: expected a multiple of 16 (the patch size), got "
                         f"{image_size}")
    return VisionTransformer(image_size, 16, 192, 12, 3, 768, num_classes_option(num_classes),
                             dtype=dtype, rng=generator(rng))
