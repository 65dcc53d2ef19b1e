"""Data augmentation for MNIST-sized images: random translations.

LeNet-5's 0.8 % test error (LeCun et al. 1998, the figure the lecture quotes) was reached with
distorted copies of the training images; without them the paper reports 0.95 %. Shifting each
image by up to two pixels in each direction is the cheapest such distortion.
"""
from __future__ import annotations

import numpy as np


class RandomShift:
    """Shift each image of a batch (N, C, H, W) by a random (dy, dx) in [-max_shift, max_shift],
    filling the uncovered border with `fill` (the background value after normalisation)."""

    def __init__(self, max_shift: int = 2, fill: float = 0.0, seed=None):
        if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
            raise ValueError(f"max_shift: expected a non-negative int, got {max_shift!r}")
        self.max_shift, self.fill = max_shift, fill
        self.rng = np.random.default_rng(seed)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        s = self.max_shift
        if s == 0:
            return batch
        n, _, h, w = batch.shape
        padded = np.full(batch.shape[:2] + (h + 2 * s, w + 2 * s), self.fill, batch.dtype)
        padded[:, :, s:s + h, s:s + w] = batch
        offsets = self.rng.integers(0, 2 * s + 1, size=(n, 2))
        out = np.empty_like(batch)
        for i, (dy, dx) in enumerate(offsets):
            out[i] = padded[i, :, dy:dy + h, dx:dx + w]
        return out
