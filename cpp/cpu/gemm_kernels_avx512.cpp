// AVX-512 GEMM micro-kernels (float: 16 lanes, double: 8 lanes). Compiled with -mavx512f etc.
// only for this file; chosen at run time when the CPU reports AVX-512F.
#include "gemm_kernels.hpp"

#if defined(FALTUNG_X86) && defined(__AVX512F__)
#include <immintrin.h>

namespace faltung::cpu {
namespace {

struct F32x16 {
  using scalar = float;
  using reg = __m512;
  static constexpr int lanes = 16;
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg zero() { return _mm512_setzero_ps(); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg load_partial(const float* p, int64_t n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p);
  }
  static float sum(reg v) { return _mm512_reduce_add_ps(v); }
  // v with lanes [lo, hi) replaced by p[lo..hi) (the other lanes of p are not read).
  static reg load_lanes(reg v, const float* p, int lo, int hi) {
    return _mm512_mask_loadu_ps(v, static_cast<__mmask16>((1u << hi) - (1u << lo)), p);
  }
};

struct F64x8 {
  using scalar = double;
  using reg = __m512d;
  static constexpr int lanes = 8;
  static reg load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, reg v) { _mm512_storeu_pd(p, v); }
  static reg set1(double x) { return _mm512_set1_pd(x); }
  static reg zero() { return _mm512_setzero_pd(); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
  static reg load_partial(const double* p, int64_t n) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << n) - 1), p);
  }
  static double sum(reg v) { return _mm512_reduce_add_pd(v); }
  static reg load_lanes(reg v, const double* p, int lo, int hi) {
    return _mm512_mask_loadu_pd(v, static_cast<__mmask8>((1u << hi) - (1u << lo)), p);
  }
};

#include "gemm_microkernel_simd.inl"

constexpr int kMrF32 = 8, kNvF32 = 2;  // 8 x 32 floats
constexpr int kMrF64 = 8, kNvF64 = 2;  // 8 x 16 doubles
constexpr int kDotMr = 4, kDotNr = 6;   // 24 accumulators + 4 A rows + 1 B row of 32 registers

}  // namespace

bool avx512_kernels(MicroKernel<float>* f32, MicroKernel<double>* f64) {
  *f32 = {"avx512", kMrF32, kNvF32 * 16, 16, 256, 512, &simd_micro_kernel<F32x16, kMrF32, kNvF32>,
          &simd_indirect_b_kernel<F32x16, kMrF32, kNvF32>, &simd_indirect_a_kernel<F32x16, kMrF32, kNvF32>,
          &simd_gather_panel<F32x16, kNvF32>,
          kDotMr, kDotNr, &simd_dot_kernel<F32x16, kDotMr, kDotNr>};
  *f64 = {"avx512", kMrF64, kNvF64 * 8, 8, 256, 256, &simd_micro_kernel<F64x8, kMrF64, kNvF64>,
          &simd_indirect_b_kernel<F64x8, kMrF64, kNvF64>, &simd_indirect_a_kernel<F64x8, kMrF64, kNvF64>,
          &simd_gather_panel<F64x8, kNvF64>,
          kDotMr, kDotNr, &simd_dot_kernel<F64x8, kDotMr, kDotNr>};
  return true;
}

}  // namespace faltung::cpu

#else
namespace faltung::cpu {
bool avx512_kernels(MicroKernel<float>*, MicroKernel<double>*) { return false; }
}  // namespace faltung::cpu
#endif
