// The normalization kernels compiled for AVX2 + FMA (32-byte vectors); chosen at run time
// when the CPU has both.
#include "norm_kernels.hpp"

#if defined(FALTUNG_X86) && defined(__AVX2__) && defined(__FMA__)
#define FALTUNG_NORM_LANES 16
#define FALTUNG_NORM_FILL avx2_norm_kernels
#include "norm_kernels.inl"
#else
namespace faltung::cpu {
bool avx2_norm_kernels(NormKernels<float>*, NormKernels<double>*) { return false; }
}  // namespace faltung::cpu
#endif
