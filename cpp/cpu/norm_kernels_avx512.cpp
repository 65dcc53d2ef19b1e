// The normalization kernels compiled for AVX-512 (64-byte vectors); chosen at run time when
// the CPU has AVX-512F.
#include "norm_kernels.hpp"

#if defined(FALTUNG_X86) && defined(__AVX512F__)
#define FALTUNG_NORM_LANES 32
#define FALTUNG_NORM_FILL avx512_norm_kernels
#include "norm_kernels.inl"
#else
namespace faltung::cpu {
bool avx512_norm_kernels(NormKernels<float>*, NormKernels<double>*) { return false; }
}  // namespace faltung::cpu
#endif
