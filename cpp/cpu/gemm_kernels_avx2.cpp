// AVX2 + FMA GEMM micro-kernels (float: 8 lanes, double: 4 lanes, 16 ymm registers).
// Compiled with -mavx2 -mfma only for this file; chosen at run time when the CPU has both.
#include "gemm_kernels.hpp"

#if defined(FALTUNG_X86) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace faltung::cpu {
namespace {

struct F32x8 {
  using scalar = float;
  using reg = __m256;
  static constexpr int lanes = 8;
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg zero() { return _mm256_setzero_ps(); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
};

struct F64x4 {
  using scalar = double;
  using reg = __m256d;
  static constexpr int lanes = 4;
  static reg load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, reg v) { _mm256_storeu_pd(p, v); }
  static reg set1(double x) { return _mm256_set1_pd(x); }
  static reg zero() { return _mm256_setzero_pd(); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
};

#include "gemm_microkernel_simd.inl"

}  // namespace

bool avx2_kernels(MicroKernel<float>* f32, MicroKernel<double>* f64) {
  // 6 x 16 floats / 6 x 8 doubles: 12 accumulators + 2 B vectors + 1 broadcast of 16 registers.
  *f32 = {"avx2", 6, 16, 256, 144, 1024, &simd_micro_kernel<F32x8, 6, 2>};
  *f64 = {"avx2", 6, 8, 256, 96, 1024, &simd_micro_kernel<F64x4, 6, 2>};
  return true;
}

}  // namespace faltung::cpu

#else
namespace faltung::cpu {
bool avx2_kernels(MicroKernel<float>*, MicroKernel<double>*) { return false; }
}  // namespace faltung::cpu
#endif
