"""Scaled dot-product attention on faltung's GEMM, forward and backward.

q, k, v: (B, T, d) (B runs over batch x heads). For each b:

    S = q k^T / sqrt(d)   (T x T, one GEMM),  P = softmax(S) over keys,  O = P v  (one GEMM)

The backward pass is four GEMMs per b: dP = dO v^T, dV = P^T dO, dS = softmax_backward(dP, P)
/ sqrt(d), dQ = dS k, dK = dS^T q. MACs per b: 2 T^2 d forward, 4 T^2 d backward.
"""
from __future__ import annotations

import math

import numpy as np

from .._validation import as_float_array, check_shape, same_dtype
from .activation import softmax, softmax_backward
from .gemm import gemm


def _qkv(q, k, v):
    q = as_float_array(q, "q", ndim=3)
    k = as_float_array(k, "k", ndim=3)
    v = as_float_array(v, "v", ndim=3)
    same_dtype(q, k=k, v=v)
    check_shape(k, q.shape, "k")
    check_shape(v, q.shape, "v")
    return q, k, v


def attention(q, k, v):
    """(O, P): the attention output (B, T, d) and the attention weights P (B, T, T)."""
    q, k, v = _qkv(q, k, v)
    batch, tokens, width = q.shape
    scores = np.empty((batch, tokens, tokens), q.dtype)
    for b in range(batch):
        gemm(q[b], k[b], trans_b=True, alpha=1 / math.sqrt(width), out=scores[b])
    weights = softmax(scores, axis=-1)
    result = np.empty_like(q)
    for b in range(batch):
        gemm(weights[b], v[b], out=result[b])
    return result, weights


def attention_backward(grad_out, q, k, v, weights):
    """(dq, dk, dv) from the output gradient and the forward's P."""
    q, k, v = _qkv(q, k, v)
    grad_out = as_float_array(grad_out, "grad_out")
    same_dtype(q, grad_out=grad_out)
    check_shape(grad_out, q.shape, "grad_out")
    weights = as_float_array(weights, "weights")
    check_shape(weights, q.shape[:2] + (q.shape[1],), "weights")
    batch, tokens, width = q.shape
    grad_weights = np.empty_like(weights)
    dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)
    for b in range(batch):
        gemm(grad_out[b], v[b], trans_b=True, out=grad_weights[b])
        gemm(weights[b], grad_out[b], trans_a=True, out=dv[b])
    grad_scores = softmax_backward(grad_weights, weights, axis=-1)
    grad_scores *= grad_scores.dtype.type(1 / math.sqrt(width))
    for b in range(batch):
        gemm(grad_scores[b], k[b], out=dq[b])
        gemm(grad_scores[b], q[b], trans_a=True, out=dk[b])
    return dq, dk, dv
