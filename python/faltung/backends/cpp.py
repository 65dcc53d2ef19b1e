"""The compiled CPU backend: faltung._core (C++, OpenMP, AVX2/AVX-512 chosen at run time)."""
from __future__ import annotations

from faltung import _core


class CppBackend:
    name = "cpp"

    gemm = staticmethod(_core.gemm)
    conv2d_forward = staticmethod(_core.conv2d_forward)
    conv2d_backward_input = staticmethod(_core.conv2d_backward_input)
    conv2d_backward_weight = staticmethod(_core.conv2d_backward_weight)
    conv2d_backward_bias = staticmethod(_core.conv2d_backward_bias)
    set_num_threads = staticmethod(_core.set_num_threads)
    get_num_threads = staticmethod(_core.get_num_threads)

    @staticmethod
    def kernel_name() -> str:
        """The GEMM micro-kernel family chosen for this CPU."""
        return _core.gemm_kernel_name()

    @staticmethod
    def peak_gflops(float64: bool = False, seconds: float = 0.2) -> float:
        """One thread's GEMM ceiling here: the micro-kernel with its operands in L1."""
        return _core.micro_kernel_peak_gflops(float64, seconds)

    # pooling
    max_pool2d_forward = staticmethod(_core.max_pool2d_forward)
    max_pool2d_backward = staticmethod(_core.max_pool2d_backward)
    avg_pool2d_forward = staticmethod(_core.avg_pool2d_forward)
    avg_pool2d_backward = staticmethod(_core.avg_pool2d_backward)
    lp_pool2d_forward = staticmethod(_core.lp_pool2d_forward)
    lp_pool2d_backward = staticmethod(_core.lp_pool2d_backward)


BACKEND = CppBackend()
