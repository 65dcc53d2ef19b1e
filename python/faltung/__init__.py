"""faltung: compiled convolution kernels (convolution as GEMM on our own AVX2/AVX-512
micro-kernels, OpenMP) with Numba fallbacks, called on NumPy arrays. See docs/api.md.

Every kernel of faltung.functional is importable from faltung itself."""
from . import functional
from .backends import available_backends, get_backend, set_backend
from .functional import *  # noqa: F401,F403  (the kernel API, listed in functional.__all__)

__version__ = "0.1.0"

__all__ = ["available_backends", "get_backend", "set_backend", "__version__",
           *functional.__all__]

from . import data, nn, optim  # noqa: E402  (subpackages: NumPy only, cheap to import)
