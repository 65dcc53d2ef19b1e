"""Numba fallbacks of the compiled kernels, file for file the mirror of cpp/cpu/ (gemm, im2col,
conv2d, norm_batch, norm_lrn, norm_lcn; params holds the twin of the C++ Conv2dParams struct).
Reached through the "numba" backend (faltung/backends/numba_backend.py), never directly."""
