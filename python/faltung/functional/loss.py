"""Softmax cross-entropy with its fused gradient, in plain NumPy.

cross_entropy(logits, target) = mean over the batch of -log softmax(logits)[n, target[n]],
computed as logsumexp(logits[n]) - logits[n, target[n]] with the row maximum subtracted first,
so that no exp overflows. Its gradient with respect to the logits is the fused
(softmax(logits) - onehot(target)) * grad_out (/ N for the mean): one pass, no division by a
probability that may have underflowed to 0.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_float_array

REDUCTIONS = ("mean", "sum", "none")


def _inputs(logits, target, reduction):
    logits = as_float_array(logits, "logits", ndim=2)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    if not isinstance(target, np.ndarray):
        raise TypeError(f"target: expected a numpy.ndarray of class indices, got "
                        f"{type(target).__name__}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"target: expected an integer dtype (class indices), got {target.dtype}")
    n, classes = logits.shape
    if target.shape != (n,):
        raise ValueError(f"target: expected shape ({n},) to match logits of shape "
                         f"{logits.shape}, got {target.shape}")
    if n and (target.min() < 0 or target.max() >= classes):
        bad = target[(target < 0) | (target >= classes)][0]
        raise ValueError(f"target: expected class indices in [0, {classes}), got {bad}")
    return logits, target.astype(np.intp, copy=False)


def _shifted(logits):
    """logits minus each row's maximum, and each row's log(sum(exp(.)))."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted, np.log(np.exp(shifted).sum(axis=1))


def cross_entropy(logits, target, reduction="mean"):
    """Softmax cross-entropy of logits (N, C) against class indices target (N,).

    reduction "mean" and "sum" give a 0-d array of the logits' dtype, "none" the (N,) losses.
    The mean of an empty batch is NaN, as in PyTorch.
    """
    logits, target = _inputs(logits, target, reduction)
    shifted, log_sum = _shifted(logits)
    losses = log_sum - shifted[np.arange(len(target)), target]
    if reduction == "none":
        return losses
    with np.errstate(invalid="ignore"):  # the mean of nothing is NaN, not a warning
        total = losses.mean() if reduction == "mean" else losses.sum()
    return np.asarray(total, dtype=logits.dtype)


def cross_entropy_backward(logits, target, reduction="mean", grad_out=1.0):
    """d loss / d logits = (softmax(logits) - onehot(target)) * grad_out, divided by N for
    "mean". grad_out is a scalar for "mean"/"sum" and an (N,) array for "none"."""
    logits, target = _inputs(logits, target, reduction)
    n = len(target)
    scale = np.asarray(grad_out, dtype=logits.dtype)
    expected = (n,) if reduction == "none" else ()
    if scale.shape != expected:
        raise ValueError(f"grad_out: expected shape {expected} for reduction {reduction!r}, "
                         f"got {scale.shape}")
    shifted, log_sum = _shifted(logits)
    grad = np.exp(shifted - log_sum[:, None])
    grad[np.arange(n), target] -= 1
    if reduction == "none":
        grad *= scale[:, None]
    else:
        grad *= scale / n if reduction == "mean" and n else scale
    return grad
