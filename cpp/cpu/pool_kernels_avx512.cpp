// The pooling loops of pool_kernels.hpp in AVX-512 (this file's compile flags, CMakeLists.txt):
// 16 floats per vector, masked loads and stores for the tails, so the short rows of small
// planes (7 to 28 outputs) cost one or two vector steps instead of a loop each. Every result is
// bit-identical to the portable loops in pool_max.cpp / pool_avg.cpp (same operations in the
// same order) except plane_means, whose sum runs in another order.
// Vector constants are built inside the functions: a namespace-scope one would run AVX-512
// code when the library loads, on CPUs without it too.
#include "pool_kernels.hpp"

#if defined(FALTUNG_X86) && defined(__AVX512F__)
#include <immintrin.h>

namespace faltung::cpu {
namespace {

// Lanes [0, n) of 16 (none for n <= 0).
inline __mmask16 first_lanes(int64_t n) {
  if (n >= 16) return 0xFFFF;
  return n > 0 ? static_cast<__mmask16>((1u << n) - 1) : 0;
}

// n values from p, the rest 0: a plain load for a whole vector (a masked one is slower).
inline __m512 load_first(const float* p, int64_t n) {
  if (n >= 16) return _mm512_loadu_ps(p);
  return _mm512_maskz_loadu_ps(first_lanes(n), p);
}

inline __m512i load_first(const int64_t* p, int64_t n) {  // n of 8 int64, the rest 0
  if (n >= 8) return _mm512_loadu_si512(p);
  return _mm512_maskz_loadu_epi64(static_cast<__mmask8>(first_lanes(n)), p);
}

// a, unless b is greater or NaN: pool_max.cpp's max_nan, lane by lane.
inline __m512 max_nan(__m512 a, __m512 b) {
  const __mmask16 take =
      _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ) | _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
  return _mm512_mask_mov_ps(a, take, b);
}

// The sum of v's lanes, by halving. The shuffles are the zero-masked forms with every lane
// kept: GCC 12 warns about the "undefined" source of the plain ones (and of
// _mm512_reduce_add_ps).
inline float lane_sum(__m512 v) {
  const __mmask16 all = 0xFFFF;
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(all, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(all, v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  v = _mm512_add_ps(v, _mm512_maskz_permute_ps(all, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_maskz_permute_ps(all, v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(v);
}

// Output row by output row: 32 input columns of the two rows combine vertically, then the
// even and odd columns (two permutes across both vectors) combine into 16 outputs. Vectors are
// loaded and stored whole (masked ones are slow, see max_grad_2x2_plane) except at the block's
// end: lanes past a row's end read the next row and give outputs past the output row's end,
// which the next row's store overwrites (y is written in address order).
template <bool kMax>
void rows_2x2(float* y, const float* x, int64_t rows, int64_t w, float div) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512 d = _mm512_set1_ps(div);
  const int64_t ow = w / 2;
  const float* x_end = x + 2 * rows * w;
  const float* y_end = y + rows * ow;
  for (int64_t b = 0; b < rows; ++b) {
    const float* top = x + 2 * b * w;
    const float* bottom = top + w;
    float* out = y + b * ow;
    for (int64_t c = 0; c < w; c += 32) {
      const __m512 t0 = load_first(top + c, x_end - (top + c));
      const __m512 b0 = load_first(bottom + c, x_end - (bottom + c));
      const __m512 t1 = load_first(top + c + 16, x_end - (top + c + 16));
      const __m512 b1 = load_first(bottom + c + 16, x_end - (bottom + c + 16));
      __m512 r;
      if constexpr (kMax) {
        const __m512 v0 = max_nan(t0, b0), v1 = max_nan(t1, b1);
        r = max_nan(_mm512_permutex2var_ps(v0, even, v1), _mm512_permutex2var_ps(v0, odd, v1));
      } else {
        const __m512 v0 = _mm512_add_ps(t0, b0), v1 = _mm512_add_ps(t1, b1);
        r = _mm512_div_ps(_mm512_add_ps(_mm512_permutex2var_ps(v0, even, v1),
                                        _mm512_permutex2var_ps(v0, odd, v1)),
                          d);
      }
      float* dst = out + c / 2;
      if (dst + 16 <= y_end) _mm512_storeu_ps(dst, r);
      else _mm512_mask_storeu_ps(dst, first_lanes((w - c) / 2), r);
    }
  }
}

void max_2x2_rows(float* y, const float* x, int64_t rows, int64_t w) {
  rows_2x2<true>(y, x, rows, w, 1.0f);
}

void avg_2x2_rows(float* y, const float* x, int64_t rows, int64_t w, float div) {
  rows_2x2<false>(y, x, rows, w, div);
}

// 16 windows at a time: each index minus its window's origin, narrowed to int32 with unsigned
// saturation (a negative or wild offset becomes 2^32 - 1, which names no cell: the caller keeps
// w + 1 below it), is compared with the four cells' offsets 0, 1, w, w + 1, giving each cell's
// lanes; the gradient masked by the two cells of one input row, interleaved, is 32 values of
// that row. Masked loads and stores are slow here (a masked load that misses the cache took 3x
// the time of a plain one, docs/performance.md P15), so rows of 16 windows or fewer (small
// planes, one vector step per row) load whole vectors, the lanes past the row reading the
// plane's next windows (unused), and store whole vectors: the plane is then written in address
// order, so what a store puts past its row's end is overwritten by a later one. Only the
// plane's end is masked. Rows of at most 8 windows (VGG pool5: 7) go two to a vector step.
bool max_grad_2x2_plane(float* gx, const float* g, const int64_t* idx, int64_t out_h,
                        int64_t out_w) {
  const int64_t w = 2 * out_w;
  const __m512i step = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
  const __m512i step_hi = _mm512_add_epi64(step, _mm512_set1_epi64(16));
  const __m512i cell[4] = {_mm512_setzero_si512(), _mm512_set1_epi32(1),
                           _mm512_set1_epi32(static_cast<int32_t>(w)),
                           _mm512_set1_epi32(static_cast<int32_t>(w + 1))};
  const __m512i pairs_lo =
      _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i pairs_hi = _mm512_add_epi32(pairs_lo, _mm512_set1_epi32(8));
  const bool spill = out_w <= 16;  // rows written in address order
  const float* end = gx + 2 * out_h * w;
  auto put = [spill, end](float* dst, __m512 v, int64_t valid) {
    if (valid >= 16 || (spill && dst + 16 <= end)) _mm512_storeu_ps(dst, v);
    else _mm512_mask_storeu_ps(dst, first_lanes(valid), v);
  };
  const int64_t windows = out_h * out_w;
  // the cells' masks of 16 windows from `ahead` readable indices at ir, the windows' corners
  // base + origin (origin: int64 lanes 0-7, then 8-15); false when a live one (k) matches none
  __mmask16 at[4];
  auto match = [&](const int64_t* ir, int64_t ahead, int64_t base, __m512i origin_lo,
                   __m512i origin_hi, __mmask16 k) {
    const __m512i b = _mm512_set1_epi64(base);
    const __m512i off_lo =
        _mm512_sub_epi64(load_first(ir, ahead), _mm512_add_epi64(b, origin_lo));
    const __m512i off_hi =
        _mm512_sub_epi64(load_first(ir + 8, ahead - 8), _mm512_add_epi64(b, origin_hi));
    // (the zero-masked insert: the plain one draws a false GCC 12 warning)
    const __m512i off = _mm512_maskz_inserti64x4(
        0xFF,
        _mm512_maskz_inserti64x4(0xFF, _mm512_setzero_si512(),
                                 _mm512_maskz_cvtusepi64_epi32(0xFF, off_lo), 0),
        _mm512_maskz_cvtusepi64_epi32(0xFF, off_hi), 1);
    for (int c = 0; c < 4; ++c) at[c] = _mm512_cmpeq_epi32_mask(off, cell[c]);
    return ((at[0] | at[1] | at[2] | at[3]) & k) == k;
  };
  // Rows of at most 8 windows go two to a vector (P24): lane i < out_w is window i of the first
  // row (corner 2i), lane out_w + i window i of the second (corner 2w + 2i); the second row's
  // pairs start at lane out_w.
  const bool two_rows = out_w <= 8;
  int64_t origin[16] = {};
  for (int64_t i = 0; two_rows && i < 2 * out_w; ++i)
    origin[i] = i < out_w ? 2 * i : 2 * (w + i - out_w);
  const __m512i origin_lo = _mm512_loadu_si512(origin), origin_hi = _mm512_loadu_si512(origin + 8);
  const __m512i pairs_second =
      _mm512_add_epi32(pairs_lo, _mm512_set1_epi32(static_cast<int32_t>(out_w)));
  int64_t oh = 0;
  for (; two_rows && oh + 2 <= out_h; oh += 2) {
    const int64_t o = oh * out_w;
    const __m512 gv = load_first(g + o, windows - o);
    if (!match(idx + o, windows - o, oh * 2 * w, origin_lo, origin_hi, first_lanes(2 * out_w)))
      return false;
    for (int64_t r = 0; r < 2; ++r)    // the two bands
      for (int ki = 0; ki < 2; ++ki) {  // each band's top row, then its bottom row
        const __m512 even = _mm512_maskz_mov_ps(at[2 * ki], gv);
        const __m512 odd = _mm512_maskz_mov_ps(at[2 * ki + 1], gv);
        put(gx + (2 * (oh + r) + ki) * w,
            _mm512_permutex2var_ps(even, r ? pairs_second : pairs_lo, odd), 2 * out_w);
      }
  }
  for (; oh < out_h; ++oh) {
    const float* gr = g + oh * out_w;
    const int64_t* ir = idx + oh * out_w;
    float* top = gx + 2 * oh * w;
    for (int64_t j = 0; j < out_w; j += 16) {
      const int64_t count = out_w - j < 16 ? out_w - j : 16;
      const int64_t ahead = spill ? windows - oh * out_w - j : count;  // readable windows
      const __m512 gv = load_first(gr + j, ahead);
      if (!match(ir + j, ahead, oh * 2 * w + 2 * j, step, step_hi, first_lanes(count)))
        return false;
      for (int ki = 0; ki < 2; ++ki) {  // the band's top row, then its bottom row
        const __m512 even = _mm512_maskz_mov_ps(at[2 * ki], gv);
        const __m512 odd = _mm512_maskz_mov_ps(at[2 * ki + 1], gv);
        float* dst = top + ki * w + 2 * j;
        put(dst, _mm512_permutex2var_ps(even, pairs_lo, odd), 2 * count);
        if (count > 8) put(dst + 16, _mm512_permutex2var_ps(even, pairs_hi, odd), 2 * count - 16);
      }
    }
  }
  return true;
}

// Input row by input row, as a gather: a cell receives the gradient of every window (at most
// two per row: window rows overlap by one) whose index names it, and 0 otherwise, so grad_x is
// written once, in address order, with no zero fill first. For 16 windows t of one output row
// (padded columns 2t .. 2t + 2), offset = index - (row start + 2t - pad_left) is 0, 1 or 2 where
// the index lies in this row (narrowed to int32 with unsigned saturation as above); padded
// column 2t then takes A(t) + C(t - 1) and 2t + 1 takes B(t), where A, B, C are the gradient
// masked by offset 0, 1, 2 (and by the column lying inside the row). C(t - 1) is a lane shift
// of C with the previous 16 windows' C. The interleaved even and odd columns are stored whole
// where they stay inside the plane (what lands past a row's end is overwritten by the next row;
// the first store of a row with pad_left 1 is masked, as its first lane is the padding).
// Every match is counted: fewer matches than windows means some index lies outside its window
// (or the plane), and the caller scatters the plane instead.
bool max_grad_3x3s2_plane(float* gx, const float* g, const int64_t* idx, int64_t h, int64_t w,
                          int64_t out_h, int64_t out_w, int64_t pad_top, int64_t pad_left) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i lane64 = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
  const __m512i pairs_lo =
      _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i pairs_hi = _mm512_add_epi32(pairs_lo, _mm512_set1_epi32(8));
  const __m512i one = _mm512_set1_epi32(1), two = _mm512_set1_epi32(2);
  const __m512i width = _mm512_set1_epi32(static_cast<int32_t>(w));
  const __mmask16 all = 0xFFFF;
  const int64_t windows = out_h * out_w;
  const float* end = gx + h * w;
  const int64_t chunks = (w + pad_left + 31) / 32;  // 32 padded columns each
  int64_t matched = 0;
  for (int64_t r = 0; r < h; ++r) {
    const int64_t pr = r + pad_top;
    int64_t source[2], count_sources = 0;  // output rows whose windows hold row r
    if (pr / 2 < out_h) source[count_sources++] = pr / 2;
    if (pr % 2 == 0 && pr >= 2 && pr / 2 - 1 < out_h) source[count_sources++] = pr / 2 - 1;
    __m512 carry[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};  // C of the previous chunk
    float* row = gx + r * w;
    for (int64_t q = 0; q < chunks; ++q) {
      const int64_t t0 = 16 * q;
      const __m512i t = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(t0)));
      const __m512i col = _mm512_sub_epi32(  // input column of padded column 2t
          _mm512_add_epi32(t, t), _mm512_set1_epi32(static_cast<int32_t>(pad_left)));
      const __mmask16 live = first_lanes(out_w - t0);
      const __mmask16 in0 = live & _mm512_cmpge_epi32_mask(col, _mm512_setzero_si512()) &
                            _mm512_cmplt_epi32_mask(col, width);
      const __mmask16 in1 = live & _mm512_cmplt_epi32_mask(_mm512_add_epi32(col, one), width);
      const __mmask16 in2 = live & _mm512_cmplt_epi32_mask(_mm512_add_epi32(col, two), width);
      __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
      for (int64_t k = 0; k < count_sources; ++k) {
        const int64_t oh = source[k], o = oh * out_w + t0;
        __m512 a = _mm512_setzero_ps(), b = a, c = a;
        if (live) {
          const int64_t ahead = windows - o;  // readable windows of the plane
          const __m512 gv = load_first(g + o, ahead);
          const __m512i base = _mm512_set1_epi64(r * w + 2 * t0 - pad_left);
          const __m512i lo = _mm512_sub_epi64(load_first(idx + o, ahead),
                                              _mm512_add_epi64(base, lane64));
          const __m512i hi = _mm512_sub_epi64(
              load_first(idx + o + 8, ahead - 8),
              _mm512_add_epi64(base, _mm512_add_epi64(lane64, _mm512_set1_epi64(16))));
          const __m512i off = _mm512_maskz_inserti64x4(
              0xFF,
              _mm512_maskz_inserti64x4(0xFF, _mm512_setzero_si512(),
                                       _mm512_maskz_cvtusepi64_epi32(0xFF, lo), 0),
              _mm512_maskz_cvtusepi64_epi32(0xFF, hi), 1);
          const __mmask16 m0 = in0 & _mm512_cmpeq_epi32_mask(off, _mm512_setzero_si512());
          const __mmask16 m1 = in1 & _mm512_cmpeq_epi32_mask(off, one);
          const __mmask16 m2 = in2 & _mm512_cmpeq_epi32_mask(off, two);
          matched += __builtin_popcount(m0) + __builtin_popcount(m1) + __builtin_popcount(m2);
          a = _mm512_maskz_mov_ps(m0, gv);
          b = _mm512_maskz_mov_ps(m1, gv);
          c = _mm512_maskz_mov_ps(m2, gv);
        }
        const __m512 c_before = _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(
            all, _mm512_castps_si512(c), _mm512_castps_si512(carry[k]), 15));
        even = _mm512_add_ps(even, _mm512_add_ps(a, c_before));
        odd = _mm512_add_ps(odd, b);
        carry[k] = c;
      }
      float* dst = row + 32 * q - pad_left;  // padded column 32 q
      for (int half = 0; half < 2; ++half, dst += 16) {
        const __m512 v = _mm512_permutex2var_ps(even, half ? pairs_hi : pairs_lo, odd);
        const int64_t first = (q == 0 && half == 0) ? pad_left : 0;  // lanes before the row
        const int64_t valid = row + w - dst;                          // lanes inside the row
        if (valid <= 0) break;
        if (first == 0 && dst + 16 <= end) _mm512_storeu_ps(dst, v);
        else _mm512_mask_storeu_ps(dst, first_lanes(valid) & ~first_lanes(first), v);
      }
    }
  }
  return matched == windows;
}

// Row by row, 16 columns at a time: the (up to) three input rows around the row add into
// vertical sums (lanes past the row's end zeroed: the padding), kept in registers for the
// previous, this and the next 16 columns, so each output's left and right neighbours are two
// lane shifts (no stack row: reloading just-stored vectors at an offset stalls the store
// forwarding); out = ((left + centre) + right) / div. Loads read whole vectors up to the end of
// the planes given (lanes past a row read the next one, then are zeroed), stores write whole
// vectors up to out's end (the next row's store overwrites what lands past a row).
void box_3x3(float* out, const float* in, int64_t planes, int64_t h, int64_t w, float div) {
  const float* in_end = in + planes * h * w;
  const float* out_end = out + planes * h * w;
  const __m512 d = _mm512_set1_ps(div), zero = _mm512_setzero_ps();
  const __mmask16 all = 0xFFFF;
  for (int64_t plane = 0; plane < planes; ++plane) {
    const float* src = in + plane * h * w;
    float* dst = out + plane * h * w;
    for (int64_t r = 0; r < h; ++r) {
      const float* lo = src + (r > 0 ? r - 1 : 0) * w;
      const int64_t rows = (r > 0 ? 2 : 1) + (r + 1 < h ? 1 : 0);
      auto column_sums = [&](int64_t c) {
        if (c >= w) return zero;
        __m512 sum = load_first(lo + c, in_end - (lo + c));
        for (int64_t i = 1; i < rows; ++i)
          sum = _mm512_add_ps(sum, load_first(lo + i * w + c, in_end - (lo + i * w + c)));
        return w - c >= 16 ? sum : _mm512_maskz_mov_ps(first_lanes(w - c), sum);
      };
      float* o = dst + r * w;
      __m512 prev = zero, cur = column_sums(0);
      for (int64_t c = 0; c < w; c += 16) {
        const __m512 next = column_sums(c + 16);
        const __m512 left = _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(
            all, _mm512_castps_si512(cur), _mm512_castps_si512(prev), 15));
        const __m512 right = _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(
            all, _mm512_castps_si512(next), _mm512_castps_si512(cur), 1));
        const __m512 y = _mm512_div_ps(_mm512_add_ps(_mm512_add_ps(left, cur), right), d);
        if (o + c + 16 <= out_end) _mm512_storeu_ps(o + c, y);
        else _mm512_mask_storeu_ps(o + c, first_lanes(w - c), y);
        prev = cur;
        cur = next;
      }
    }
  }
}

void plane_means(float* y, const float* x, int64_t planes, int64_t n, float div) {
  for (int64_t plane = 0; plane < planes; ++plane) {
    const float* a = x + plane * n;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + i));
      s1 = _mm512_add_ps(s1, _mm512_loadu_ps(a + i + 16));
    }
    for (; i < n; i += 16) s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(first_lanes(n - i), a + i));
    y[plane] = lane_sum(_mm512_add_ps(s0, s1)) / div;
  }
}

}  // namespace

bool avx512_pool_kernels(PoolKernels* k) {
  k->max_2x2_rows = max_2x2_rows;
  k->avg_2x2_rows = avg_2x2_rows;
  k->max_grad_2x2_plane = max_grad_2x2_plane;
  k->plane_means = plane_means;
  k->box_3x3 = box_3x3;
  k->max_grad_3x3s2_plane = max_grad_3x3s2_plane;
  return true;
}

}  // namespace faltung::cpu
#else
namespace faltung::cpu {
bool avx512_pool_kernels(PoolKernels*) { return false; }
}  // namespace faltung::cpu
#endif
