"""Parameter: a trainable float32/float64 array (`.data`) and its gradient (`.grad`).

Optimizers update `.data` in place and never rebind it, so a layer that holds the array sees every
update. `.grad` is None until a backward pass sets it; optimizers skip parameters whose grad is
None, as PyTorch does.
"""
from __future__ import annotations

import numpy as np

from .._validation import FLOAT_DTYPES


class Parameter:
    """Wraps `data` (a float32/float64 numpy.ndarray) without copying it."""

    def __init__(self, data: np.ndarray):
        if not isinstance(data, np.ndarray):
            raise TypeError(f"data: expected a numpy.ndarray, got {type(data).__name__}")
        if data.dtype not in FLOAT_DTYPES:
            raise TypeError(f"data: expected dtype float32 or float64, got {data.dtype}")
        if not data.flags.writeable:
            raise ValueError("data: expected a writeable array (optimizers update it in place)")
        self.data = data
        self._grad = None

    @property
    def grad(self) -> np.ndarray | None:
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray | None) -> None:
        if value is not None:
            if not isinstance(value, np.ndarray):
                raise TypeError(f"grad: expected a numpy.ndarray or None, got {type(value).__name__}")
            if value.dtype != self.data.dtype:
                raise TypeError(f"grad: expected dtype {self.data.dtype} like the parameter, got {value.dtype}")
            if value.shape != self.data.shape:
                raise ValueError(f"grad: expected shape {self.data.shape} like the parameter, got {value.shape}")
        self._grad = value

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
