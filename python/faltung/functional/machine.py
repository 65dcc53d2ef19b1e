"""Threads and facts about the machine the kernels run on."""
from __future__ import annotations

import numpy as np

from .. import backends
from .._params import positive_int


def set_num_threads(n: int) -> None:
    """Threads used by every backend's kernels (default: OMP_NUM_THREADS, else all cores)."""
    n = positive_int(n, "n")
    for name in backends.available_backends():
        backends.get(name).set_num_threads(n)


def get_num_threads() -> int:
    """Threads the current backend's kernels use."""
    return backends.current().get_num_threads()


# ------------------------------------------------------------------------------ machine facts

def gemm_kernel_name() -> str:
    """The GEMM micro-kernel family in use: "avx512", "avx2", "generic" for the compiled
    backend, or the backend's name where it has no such choice."""
    backend = backends.current()
    return backend.kernel_name() if hasattr(backend, "kernel_name") else backend.name


def peak_gflops(dtype=np.float32, seconds: float = 0.2) -> float | None:
    """One core's GEMM ceiling, measured now: the compiled micro-kernel on operands in L1 (no
    memory traffic). None when the current backend cannot measure it. Benchmarks quote
    "% of peak" against this rather than a data-sheet figure."""
    backend = backends.current()
    if not hasattr(backend, "peak_gflops"):
        return None
    return backend.peak_gflops(np.dtype(dtype) == np.float64, float(seconds))
