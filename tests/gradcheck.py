"""Central finite differences in float64, for the gradient tests of the non-linear ops."""
from __future__ import annotations

import numpy as np


def numeric_gradient(loss, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """d loss / d x by central differences, entry by entry; `loss(x)` returns a float and must
    not keep a reference to its argument (each entry is perturbed in a copy)."""
    grad = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = (loss(plus) - loss(minus)) / (2 * h)
    return grad
