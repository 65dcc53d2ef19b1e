// Plain C++ GEMM micro-kernel for CPUs without AVX2 (and for non-x86 builds): the same
// contract as the SIMD kernels, a 4 x 8 tile the compiler may vectorise for the baseline ISA.
#include "gemm_kernels.hpp"

namespace faltung::cpu {
namespace {

template <class T, int MR, int NR>
void generic_micro_kernel(int64_t kc, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc,
                          T beta) {
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    a += MR;
    b += ldb;
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      c[i * ldc + j] = beta == T(0) ? acc[i][j] : beta * c[i * ldc + j] + acc[i][j];
}

}  // namespace

void generic_kernels(MicroKernel<float>* f32, MicroKernel<double>* f64) {
  *f32 = {"generic", 4, 8, 256, 128, 4096, &generic_micro_kernel<float, 4, 8>};
  *f64 = {"generic", 4, 8, 256, 64, 4096, &generic_micro_kernel<double, 4, 8>};
}

}  // namespace faltung::cpu
