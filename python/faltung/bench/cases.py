"""faltung's side of a benchmark case, and the correctness check every implementation passes
before it is timed.

faltung is called through its public API only, with every output preallocated (out=), so the
timed call allocates nothing.
"""
from __future__ import annotations

import numpy as np

import faltung

from .shapes import ConvShape, GemmShape

# max |result - reference| / max |reference| allowed for a float32 result (reference: float64
# on the same data). A wrong index or a missing tap gives errors of 1e-3 and more.
TOLERANCE = 1e-4
TOLERANCE_TEXT = "max|result - ref| <= 1e-4 * max|ref|"


def relative_error(result, reference: np.ndarray) -> float:
    """max |result - reference| / max |reference|; inf when shapes differ or NaN appears."""
    result = np.asarray(result)
    if result.shape != reference.shape:
        return float("inf")
    scale = float(np.max(np.abs(reference))) or 1.0
    error = float(np.max(np.abs(result.astype(np.float64) - reference))) / scale
    return error if np.isfinite(error) else float("inf")


def verdict(result, reference: np.ndarray) -> dict:
    """{"status": "ok" | "wrong", "rel_error": float or None, "message": str or None}."""
    error = relative_error(result, reference)
    if not np.isfinite(error):
        return {"status": "wrong", "rel_error": None,
                "message": "wrong shape, or NaN/Inf in the result"}
    return {"status": "ok" if error <= TOLERANCE else "wrong", "rel_error": error,
            "message": None}


def faltung_conv(shape: ConvShape, x, w, gy) -> dict:
    """{pass: callable} running faltung's conv2d forward, input gradient and weight gradient."""
    conv = dict(stride=shape.stride, padding=shape.padding)
    y, gx, gw = np.empty_like(gy), np.empty_like(x), np.empty_like(w)
    return {
        "forward": lambda: faltung.conv2d(x, w, None, **conv, out=y),
        "input_grad": lambda: faltung.conv2d_backward(
            gy, x, w, **conv, needs_input_grad=(True, False, False), out=(gx, None, None))[0],
        "weight_grad": lambda: faltung.conv2d_backward(
            gy, x, w, **conv, needs_input_grad=(False, True, False), out=(None, gw, None))[1],
    }


def faltung_gemm(shape: GemmShape, a, b, layout: str):
    """Callable running faltung.gemm for `layout` ("nn", "tn", "nt") into a reused output."""
    c = np.empty((shape.m, shape.n), a.dtype)
    trans_a, trans_b = layout[0] == "t", layout[1] == "t"
    return lambda: faltung.gemm(a, b, trans_a=trans_a, trans_b=trans_b, out=c)
