"""Batches: mini-batches (x, y) over a data set held in two arrays, shuffled per epoch."""
from __future__ import annotations

import numpy as np

from .._params import positive_int


class Batches:
    """Iterate over (x[i], y[i]) in batches of `batch_size` along the first axis.

    Each iteration (epoch) draws a fresh order from one numpy Generator when shuffle=True, so
    `seed` (an int, a numpy.random.Generator, or None for fresh entropy) fixes the whole sequence
    of epochs. The last, smaller batch is yielded unless drop_last=True. Batches are copies when
    shuffled and views of x and y otherwise; len() is the number of batches per epoch."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool = False,
                 seed: int | np.random.Generator | None = None, drop_last: bool = False):
        for name, array in (("x", x), ("y", y)):
            if not isinstance(array, np.ndarray) or array.ndim == 0:
                raise TypeError(f"{name}: expected a numpy.ndarray with at least one dimension, "
                                f"got {type(array).__name__}")
        if len(x) != len(y):
            raise ValueError(f"y: expected {len(x)} entries like x, got {len(y)}")
        self.x, self.y = x, y
        self.batch_size = positive_int(batch_size, "batch_size")
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self):
        order = self.rng.permutation(len(self.x)) if self.shuffle else None
        for i in range(len(self)):
            lo, hi = i * self.batch_size, (i + 1) * self.batch_size
            if order is None:
                yield self.x[lo:hi], self.y[lo:hi]
            else:
                index = order[lo:hi]
                yield self.x[index], self.y[index]
