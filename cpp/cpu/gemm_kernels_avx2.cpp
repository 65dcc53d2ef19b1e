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
  static reg load_partial(const float* p, int64_t n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lane));
  }
  static float sum(reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  // v with lanes [lo, hi) replaced by p[lo..hi) (the other lanes of p are not read).
  static reg load_lanes(reg v, const float* p, int lo, int hi) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(lo), lane),
                                             _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), lane));
    return _mm256_blendv_ps(v, _mm256_maskload_ps(p, mask), _mm256_castsi256_ps(mask));
  }
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
  static reg load_partial(const double* p, int64_t n) {
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_maskload_pd(p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), lane));
  }
  static double sum(reg v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static reg load_lanes(reg v, const double* p, int lo, int hi) {
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    const __m256i mask = _mm256_andnot_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(lo), lane),
                                             _mm256_cmpgt_epi64(_mm256_set1_epi64x(hi), lane));
    return _mm256_blendv_pd(v, _mm256_maskload_pd(p, mask), _mm256_castsi256_pd(mask));
  }
};

#include "gemm_microkernel_simd.inl"

}  // namespace

bool avx2_kernels(MicroKernel<float>* f32, MicroKernel<double>* f64) {
  // 6 x 16 floats / 6 x 8 doubles: 12 accumulators + 2 B vectors + 1 broadcast of 16 registers;
  // the inner-product kernel 3 x 3: 9 accumulators + 3 A rows + 1 B row.
  *f32 = {"avx2", 6, 16, 8, 256, 512, &simd_micro_kernel<F32x8, 6, 2>,
          {&simd_indirect_b_kernel<F32x8, 6, 2, false>, &simd_indirect_b_kernel<F32x8, 6, 2, true>},
          &simd_indirect_a_kernel<F32x8, 6, 2>,
          &simd_gather_panel<F32x8, 2>, nullptr, 3, 3,
          &simd_dot_kernel<F32x8, 3, 3>};
  *f64 = {"avx2", 6, 8, 4, 256, 256, &simd_micro_kernel<F64x4, 6, 2>,
          {&simd_indirect_b_kernel<F64x4, 6, 2, false>, &simd_indirect_b_kernel<F64x4, 6, 2, true>},
          &simd_indirect_a_kernel<F64x4, 6, 2>,
          &simd_gather_panel<F64x4, 2>, nullptr, 3, 3,
          &simd_dot_kernel<F64x4, 3, 3>};
  return true;
}

}  // namespace faltung::cpu

#else
namespace faltung::cpu {
bool avx2_kernels(MicroKernel<float>*, MicroKernel<double>*) { return false; }
}  // namespace faltung::cpu
#endif
