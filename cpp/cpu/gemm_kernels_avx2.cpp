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
  // p[lo..hi) in lanes [lo, hi), zero elsewhere (the other lanes of p are not read).
  static reg load_lanes(const float* p, int lo, int hi) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(lo), lane),
                                             _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), lane));
    return _mm256_maskload_ps(p, mask);
  }
  static reg bit_or(reg a, reg b) { return _mm256_or_ps(a, b); }
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
  static reg load_lanes(const double* p, int lo, int hi) {
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    const __m256i mask = _mm256_andnot_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(lo), lane),
                                             _mm256_cmpgt_epi64(_mm256_set1_epi64x(hi), lane));
    return _mm256_maskload_pd(p, mask);
  }
  static reg bit_or(reg a, reg b) { return _mm256_or_pd(a, b); }
};

#include "gemm_microkernel_simd.inl"

}  // namespace

bool avx2_kernels(MicroKernel<float>* f32, MicroKernel<double>* f64) {
  // 6 x 16 floats / 6 x 8 doubles: 12 accumulators + 2 B vectors + 1 broadcast of 16 registers.
  *f32 = {"avx2", 6, 16, 8, 256, 512, &simd_micro_kernel<F32x8, 6, 2>,
          {&simd_indirect_b_kernel<F32x8, 6, 2, false>, &simd_indirect_b_kernel<F32x8, 6, 2, true>},
          &simd_indirect_a_kernel<F32x8, 6, 2>,
          &simd_gather_panel<F32x8, 2>, nullptr, nullptr};
  *f64 = {"avx2", 6, 8, 4, 256, 256, &simd_micro_kernel<F64x4, 6, 2>,
          {&simd_indirect_b_kernel<F64x4, 6, 2, false>, &simd_indirect_b_kernel<F64x4, 6, 2, true>},
          &simd_indirect_a_kernel<F64x4, 6, 2>,
          &simd_gather_panel<F64x4, 2>, nullptr, nullptr};
  return true;
}

}  // namespace faltung::cpu

#else
namespace faltung::cpu {
bool avx2_kernels(MicroKernel<float>*, MicroKernel<double>*) { return false; }
}  // namespace faltung::cpu
#endif
