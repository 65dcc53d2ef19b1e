// The direct convolution's kernels (conv2d_direct.hpp) for AVX-512, float32: 16 images per
// vector. The register tiles hold mr output channels x nr output pixels (forward) or mr output
// channels x nr taps (weight gradient), nr as large as the 32 registers allow beside the nr
// loaded x vectors and one broadcast weight or gradient vector; every tap or pixel costs nr + mr
// loads for mr * nr FMAs. Transposes go through 16 x 16 blocks in registers.
#include "conv2d_direct.hpp"

#if defined(FALTUNG_X86) && defined(__AVX512F__)
#include <immintrin.h>

#include <algorithm>
#include <utility>

#include "transpose_avx512.hpp"

namespace faltung::cpu {
namespace {

constexpr int L = static_cast<int>(kDirectLanes);
static_assert(L == 16, "one __m512 of floats");

constexpr int max_nr(int mr) { return std::min(8, 31 / (mr + 1)); }
constexpr int kMaxNr = 8;

inline __mmask16 first(int64_t count) { return static_cast<__mmask16>((1u << count) - 1); }

void to_lanes(float* dst, int64_t row_stride, const float* src, int64_t image_stride,
              int64_t images, int64_t h, int64_t w) {
  const int64_t hw = h * w;
  int64_t y = 0, x = 0;  // of pixel k + j
  for (int64_t k = 0; k < hw; k += L) {
    const int64_t count = std::min<int64_t>(L, hw - k);
    const __mmask16 mask = first(count);
    __m512 r[L];
#pragma GCC unroll 16
    for (int n = 0; n < L; ++n)
      r[n] = n < images ? _mm512_maskz_loadu_ps(mask, src + n * image_stride + k)
                        : _mm512_setzero_ps();
    transpose16x16(r);
#pragma GCC unroll 16
    for (int j = 0; j < L; ++j) {
      if (j == count) break;
      _mm512_store_ps(dst + (y * row_stride + x) * L, r[j]);
      if (++x == w) x = 0, ++y;
    }
  }
}

void from_lanes(float* dst, int64_t image_stride, int64_t images, const float* src,
                int64_t pixels, float bias, Epilogue epilogue) {
  const __m512 b = _mm512_set1_ps(bias), zero = _mm512_setzero_ps();
  const bool relu = epilogue == Epilogue::kRelu;
  for (int64_t k = 0; k < pixels; k += L) {
    const int64_t count = std::min<int64_t>(L, pixels - k);
    const __mmask16 mask = first(count);
    __m512 r[L];
#pragma GCC unroll 16
    for (int j = 0; j < L; ++j) r[j] = j < count ? _mm512_load_ps(src + (k + j) * L) : zero;
    transpose16x16(r);
#pragma GCC unroll 16
    for (int n = 0; n < L; ++n) {
      if (n == images) break;
      __m512 v = _mm512_add_ps(r[n], b);
      if (relu) v = _mm512_max_ps(zero, v);  // max(0, NaN) is the NaN
      _mm512_mask_storeu_ps(dst + n * image_stride + k, mask, v);
    }
  }
}

// out[m * plane + p * L] = sum over t in [t0, t1) of w[t * MR + m] * x[p][tap_off[t]]
template <int MR, int NR>
void forward_tile(float* out, int64_t plane, const float* const* x, const int64_t* tap_off,
                  const float* w, int64_t t0, int64_t t1) {
  __m512 acc[MR][NR];
  const float* src[NR];
  for (int p = 0; p < NR; ++p) src[p] = x[p];
  for (int m = 0; m < MR; ++m)
    for (int p = 0; p < NR; ++p) acc[m][p] = _mm512_setzero_ps();
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t off = tap_off[t];
    __m512 v[NR];
    for (int p = 0; p < NR; ++p) v[p] = _mm512_load_ps(src[p] + off);
    const float* wt = w + t * MR;
    for (int m = 0; m < MR; ++m) {
      const __m512 c = _mm512_set1_ps(wt[m]);
      for (int p = 0; p < NR; ++p) acc[m][p] = _mm512_fmadd_ps(c, v[p], acc[m][p]);
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int p = 0; p < NR; ++p) _mm512_store_ps(out + m * plane + p * L, acc[m][p]);
}

// acc[(m * taps + t) * L] += sum over p < count of g[m * plane + p * L] * x[t][pix_off[p]]
template <int MR, int NR>
void weight_tile(float* acc, int64_t taps, const float* g, int64_t plane,
                 const float* const* x, const int64_t* pix_off, int64_t count) {
  __m512 a[MR][NR];
  const float* src[NR];
  for (int t = 0; t < NR; ++t) src[t] = x[t];
  for (int m = 0; m < MR; ++m)
    for (int t = 0; t < NR; ++t) a[m][t] = _mm512_load_ps(acc + (m * taps + t) * L);
  for (int64_t p = 0; p < count; ++p) {
    const int64_t off = pix_off[p];
    __m512 v[NR];
    for (int t = 0; t < NR; ++t) v[t] = _mm512_load_ps(src[t] + off);
    for (int m = 0; m < MR; ++m) {
      const __m512 d = _mm512_load_ps(g + m * plane + p * L);
      for (int t = 0; t < NR; ++t) a[m][t] = _mm512_fmadd_ps(d, v[t], a[m][t]);
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int t = 0; t < NR; ++t) _mm512_store_ps(acc + (m * taps + t) * L, a[m][t]);
}

using ForwardTile = void (*)(float*, int64_t, const float* const*, const int64_t*, const float*,
                             int64_t, int64_t);
using WeightTile = void (*)(float*, int64_t, const float*, int64_t, const float* const*,
                            const int64_t*, int64_t);

// [mr][nr] for 1 <= mr <= kDirectMaxRows, 1 <= nr <= max_nr(mr)
struct Tiles {
  ForwardTile forward[kDirectMaxRows + 1][kMaxNr + 1] = {};
  WeightTile weight[kDirectMaxRows + 1][kMaxNr + 1] = {};
  template <int MR, size_t... N>
  void fill_row(std::index_sequence<N...>) {
    ((forward[MR][N + 1] = forward_tile<MR, N + 1>), ...);
    ((weight[MR][N + 1] = weight_tile<MR, N + 1>), ...);
  }
  template <size_t... M>
  void fill(std::index_sequence<M...>) {
    (fill_row<M + 1>(std::make_index_sequence<max_nr(M + 1)>()), ...);
  }
  Tiles() { fill(std::make_index_sequence<kDirectMaxRows>()); }
};

const Tiles& tiles() {
  static const Tiles table;
  return table;
}

// The nr-wide pieces [begin, end) of `count` items, as even as possible.
struct Split {
  int64_t pieces, count;
  Split(int64_t n, int64_t widest) : pieces((n + widest - 1) / widest), count(n) {}
  int64_t begin(int64_t k) const { return count * k / pieces; }
};

void forward(float* out, const float* x, const float* w, const DirectGeometry& g) {
  const Tiles& table = tiles();
  const int64_t pixels = g.pixels;
  const int nr_max = max_nr(static_cast<int>(g.mr));
  const float* src[kMaxNr];
  for (int64_t q0 = 0; q0 < pixels; q0 += nr_max) {
    const int64_t nr = std::min<int64_t>(nr_max, pixels - q0);
    int64_t t0 = g.taps, t1 = 0;
    for (int64_t r = q0 / g.out_w; r <= (q0 + nr - 1) / g.out_w; ++r) {
      t0 = std::min(t0, g.row_lo[r]);
      t1 = std::max(t1, g.row_hi[r]);
    }
    if (t0 > t1) t0 = t1;
    for (int64_t p = 0; p < nr; ++p) src[p] = x + g.pix_off[q0 + p];
    for (int64_t o0 = 0; o0 < g.out_channels; o0 += g.mr) {
      const int64_t mr = std::min(g.mr, g.out_channels - o0);
      table.forward[mr][nr](out + (o0 * pixels + q0) * L, pixels * L, src, g.tap_off,
                            w + o0 * g.taps, t0, t1);
    }
  }
}

// Pixels in chunks that keep the chunk's gradient vectors in L1 across the tap tiles.
constexpr int64_t kWeightChunk = 64;

void weight(float* acc, const float* grad, const float* x, const DirectGeometry& g) {
  const Tiles& table = tiles();
  const int64_t pixels = g.pixels, taps = g.taps;
  const Split split(taps, max_nr(static_cast<int>(g.mr)));
  const float* src[kMaxNr];
  for (int64_t q0 = 0; q0 < pixels; q0 += kWeightChunk) {
    const int64_t count = std::min(kWeightChunk, pixels - q0);
    for (int64_t o0 = 0; o0 < g.out_channels; o0 += g.mr) {
      const int64_t mr = std::min(g.mr, g.out_channels - o0);
      for (int64_t k = 0; k < split.pieces; ++k) {
        const int64_t t0 = split.begin(k), nr = split.begin(k + 1) - t0;
        for (int64_t t = 0; t < nr; ++t) src[t] = x + g.tap_off[t0 + t];
        table.weight[mr][nr](acc + (o0 * taps + t0) * L, taps, grad + (o0 * pixels + q0) * L,
                             pixels * L, src, g.pix_off + q0, count);
      }
    }
  }
}

}  // namespace

bool avx512_direct_kernels(DirectKernels* f32) {
  f32->to_lanes = to_lanes;
  f32->from_lanes = from_lanes;
  f32->forward = forward;
  f32->weight = weight;
  return true;
}

}  // namespace faltung::cpu
#else
namespace faltung::cpu {
bool avx512_direct_kernels(DirectKernels*) { return false; }
}  // namespace faltung::cpu
#endif
