// Plain C++ GEMM micro-kernels (outer- and inner-product form) for CPUs without AVX2 (and for non-x86 builds): the same
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

template <class T, int MR, int NR>
void generic_dot_kernel(int64_t K, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                        int64_t ldc, T alpha, T beta) {
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      T sum = T(0);
      for (int64_t k = 0; k < K; ++k) sum += a[i * lda + k] * b[j * ldb + k];
      c[i * ldc + j] = beta == T(0) ? alpha * sum : alpha * sum + beta * c[i * ldc + j];
    }
}

}  // namespace

void generic_kernels(MicroKernel<float>* f32, MicroKernel<double>* f64) {
  *f32 = {"generic", 4, 8, 256, 128, 1024, &generic_micro_kernel<float, 4, 8>, 2, 2,
          &generic_dot_kernel<float, 2, 2>};
  *f64 = {"generic", 4, 8, 256, 64, 1024, &generic_micro_kernel<double, 4, 8>, 2, 2,
          &generic_dot_kernel<double, 2, 2>};
}

}  // namespace faltung::cpu
