// A 16 x 16 float transpose in registers, for the AVX-512 translation units only (include it
// from *_avx512.cpp files, inside their __AVX512F__ guard): the GEMM's transposing packers and
// the direct convolution's image-to-lanes copies.
#pragma once
#include <immintrin.h>

namespace faltung::cpu {

// r[i][j] becomes r[j][i] (16 x 16 floats).
inline void transpose16x16(__m512 (&r)[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {  // t[2i] lane block b: a[4b] b[4b] a[4b+1] b[4b+1]
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // r[4i+k] lane block b: column 4b + k of rows 4i..4i+3
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int k = 0; k < 4; ++k) {  // a 4 x 4 transpose of 128-bit blocks among r[k], r[4+k], ...
    const __m512 u0 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);
    const __m512 u1 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xdd);
    const __m512 u2 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
    const __m512 u3 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xdd);
    t[k] = _mm512_shuffle_f32x4(u0, u2, 0x88);
    t[4 + k] = _mm512_shuffle_f32x4(u1, u3, 0x88);
    t[8 + k] = _mm512_shuffle_f32x4(u0, u2, 0xdd);
    t[12 + k] = _mm512_shuffle_f32x4(u1, u3, 0xdd);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

}  // namespace faltung::cpu
