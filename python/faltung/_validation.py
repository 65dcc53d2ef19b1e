"""Argument checks shared by the kernel API: dtypes, dimensions and `out=` arrays.

Messages name the argument, what was expected and what came.
"""
from __future__ import annotations

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(value, name: str, ndim: int | None = None) -> np.ndarray:
    """A C-contiguous float32/float64 ndarray view or copy of `value` (never modified)."""
    if not isinstance(value, np.ndarray):
        if hasattr(value, "__cuda_array_interface__"):
            raise TypeError(f"{name}: GPU arrays need the CUDA backend, which is not built yet")
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(value).__name__}")
    if value.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, got {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got {value.ndim}-D with shape {value.shape}")
    return np.ascontiguousarray(value)


def same_dtype(reference: np.ndarray, **arrays) -> None:
    for name, array in arrays.items():
        if array is not None and array.dtype != reference.dtype:
            raise TypeError(f"{name}: expected dtype {reference.dtype} like the input, got {array.dtype}")


def check_shape(array: np.ndarray, shape: tuple, name: str) -> None:
    if array.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {array.shape}")


def output(out, shape: tuple, dtype: np.dtype, name: str = "out") -> np.ndarray:
    """`out` checked against shape/dtype and contiguity, or a new array."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype}, got {out.dtype}")
    check_shape(out, shape, name)
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"{name}: expected a writeable C-contiguous array")
    return out


def flag_triple(value, name: str) -> tuple[bool, bool, bool]:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise TypeError(f"{name}: expected three booleans (input, weight, bias), got {value!r}")
    return tuple(bool(v) for v in value)


def out_triple(value, name: str = "out") -> tuple:
    if value is None:
        return (None, None, None)
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise TypeError(f"{name}: expected a triple (grad_x, grad_weight, grad_bias) of arrays or None, got {value!r}")
    return tuple(value)


def as_generator(rng, name: str = "rng") -> np.random.Generator:
    """A numpy Generator from `rng`: itself, a new one seeded with a non-negative int, or (None)
    one seeded from fresh entropy."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)
                       and rng >= 0):
        return np.random.default_rng(rng)
    raise TypeError(f"{name}: expected None, a non-negative int seed or a "
                    f"numpy.random.Generator, got {rng!r}")
