// AVX-512 GEMM micro-kernels (float: 16 lanes, double: 8 lanes). Compiled with -mavx512f etc.
// only for this file; chosen at run time when the CPU reports AVX-512F.
#include "gemm_kernels.hpp"

#if defined(FALTUNG_X86) && defined(__AVX512F__)
#include <immintrin.h>

#include "transpose_avx512.hpp"

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
  // p[lo..hi) in lanes [lo, hi), zero elsewhere (the other lanes of p are not read).
  static reg load_lanes(const float* p, int lo, int hi) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << hi) - (1u << lo)), p);
  }
  static reg bit_or(reg a, reg b) { return _mm512_or_ps(a, b); }
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
  static reg load_lanes(const double* p, int lo, int hi) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << hi) - (1u << lo)), p);
  }
  static reg bit_or(reg a, reg b) { return _mm512_or_pd(a, b); }
};

#include "gemm_microkernel_simd.inl"

// Packs 8 rows (mr = 8) into k-major order: 16 k at a time, the 8 x 16 block is transposed in
// registers (unpack, shuffle within 128-bit lanes, then 128-bit lane shuffles).
void pack_rows_f32x8(float* dst, const float* src, int64_t lda, int64_t rows, int64_t kc,
                     float alpha) {
  const __m512 scale = _mm512_set1_ps(alpha);
  int64_t k = 0;
  for (; k + 16 <= kc; k += 16) {
    __m512 r[8];
    for (int i = 0; i < 8; ++i)
      r[i] = i < rows ? _mm512_mul_ps(scale, _mm512_loadu_ps(src + i * lda + k)) : _mm512_setzero_ps();
    // t: pairs of rows interleaved; u[a] / u[4 + a]: rows 0-3 / 4-7 of k = 4 * lane + a.
    __m512 t[8], u[8];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; ++h) {
      u[4 * h + 0] = _mm512_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
      u[4 * h + 1] = _mm512_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
      u[4 * h + 2] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
      u[4 * h + 3] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
    // Output vector for k = 4 * lane + a, a + 1: [u[a], u[4 + a], u[a + 1], u[5 + a]] at lane.
    for (int a = 0; a < 4; a += 2) {
      const __m512 x01 = _mm512_shuffle_f32x4(u[a], u[4 + a], 0x44);      // lanes 0, 1 of each
      const __m512 y01 = _mm512_shuffle_f32x4(u[a + 1], u[5 + a], 0x44);
      const __m512 x23 = _mm512_shuffle_f32x4(u[a], u[4 + a], 0xEE);      // lanes 2, 3 of each
      const __m512 y23 = _mm512_shuffle_f32x4(u[a + 1], u[5 + a], 0xEE);
      _mm512_storeu_ps(dst + (k + a) * 8, _mm512_shuffle_f32x4(x01, y01, 0x88));
      _mm512_storeu_ps(dst + (k + 4 + a) * 8, _mm512_shuffle_f32x4(x01, y01, 0xDD));
      _mm512_storeu_ps(dst + (k + 8 + a) * 8, _mm512_shuffle_f32x4(x23, y23, 0x88));
      _mm512_storeu_ps(dst + (k + 12 + a) * 8, _mm512_shuffle_f32x4(x23, y23, 0xDD));
    }
  }
  for (; k < kc; ++k)
    for (int64_t i = 0; i < 8; ++i) dst[k * 8 + i] = i < rows ? alpha * src[i * lda + k] : 0.0f;
}

// B panels (nr = 32) from rows along K, 16 x 16 blocks transposed in registers.
void pack_cols_f32x16(float* dst, int64_t panel_stride, const float* src, int64_t ld, int64_t n,
                      int64_t kc) {
  constexpr int64_t nr = 32;
  auto at = [&](int64_t k, int64_t j) { return dst + (j / nr) * panel_stride + k * nr + j % nr; };
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    int64_t k = 0;
    for (; k + 16 <= kc; k += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + (j + i) * ld + k);
      transpose16x16(r);
      for (int i = 0; i < 16; ++i) _mm512_storeu_ps(at(k + i, j), r[i]);
    }
    for (; k < kc; ++k)
      for (int64_t i = 0; i < 16; ++i) *at(k, j + i) = src[(j + i) * ld + k];
  }
  for (; j < n; ++j)
    for (int64_t k = 0; k < kc; ++k) *at(k, j) = src[j * ld + k];
}

constexpr int kMrF32 = 8, kNvF32 = 2;  // 8 x 32 floats
constexpr int kMrF64 = 8, kNvF64 = 2;  // 8 x 16 doubles

}  // namespace

bool avx512_kernels(MicroKernel<float>* f32, MicroKernel<double>* f64) {
  *f32 = {"avx512", kMrF32, kNvF32 * 16, 16, 256, 512, &simd_micro_kernel<F32x16, kMrF32, kNvF32>,
          {&simd_indirect_b_kernel<F32x16, kMrF32, kNvF32, false>,
           &simd_indirect_b_kernel<F32x16, kMrF32, kNvF32, true>},
          &simd_indirect_a_kernel<F32x16, kMrF32, kNvF32>,
          &simd_gather_panel<F32x16, kNvF32>, &pack_rows_f32x8, &pack_cols_f32x16};
  *f64 = {"avx512", kMrF64, kNvF64 * 8, 8, 256, 256, &simd_micro_kernel<F64x8, kMrF64, kNvF64>,
          {&simd_indirect_b_kernel<F64x8, kMrF64, kNvF64, false>,
           &simd_indirect_b_kernel<F64x8, kMrF64, kNvF64, true>},
          &simd_indirect_a_kernel<F64x8, kMrF64, kNvF64>,
          &simd_gather_panel<F64x8, kNvF64>, nullptr, nullptr};
  return true;
}

}  // namespace faltung::cpu

#else
namespace faltung::cpu {
bool avx512_kernels(MicroKernel<float>*, MicroKernel<double>*) { return false; }
}  // namespace faltung::cpu
#endif
