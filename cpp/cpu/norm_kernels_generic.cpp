// The normalization kernels for the x86-64-v2 baseline (16-byte vectors) and every other CPU.
#include "norm_kernels.hpp"

#define FALTUNG_NORM_LANES 8
#define FALTUNG_NORM_FILL generic_norm_kernels
#include "norm_kernels.inl"
