// The depthwise 3x3 forward kernels on NCHW rows (depthwise_direct.hpp) in AVX-512 intrinsics,
// float32, stride 1 and 2, row by row through each plane (the loads stream), and the flat-plane
// form of small stride-1 "same" layers (three streams, taps by lane shifts). Compiled for
// AVX-512 only (this file's flags, CMakeLists.txt); chosen at run time when the CPU reports
// AVX-512F.
#include "depthwise_direct.hpp"

#if defined(FALTUNG_X86) && defined(__AVX512F__)
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace faltung::cpu {
namespace {

constexpr int L = kDirectLanes;

#define FALTUNG_DIRECT_INLINE inline __attribute__((always_inline))

// Lanes l with 0 <= first + l < n.
FALTUNG_DIRECT_INLINE __mmask16 range(int64_t first, int64_t n) {
  const int64_t lo = first >= 0 ? 0 : -first, hi = n - first;
  if (lo >= L || hi <= 0) return 0;
  const uint32_t upper = hi >= L ? 0xFFFFu : (1u << hi) - 1u;
  return _cvtu32_mask16(upper & ~((1u << lo) - 1u));
}

// Input pixels a vector of 16 output pixels reads from one row, from its first column b.
template <int Stride>
constexpr int64_t kSpan = Stride == 1 ? L + 2 : 2 * L + 1;

struct Split {
  __m512i even, odd;
  Split()
      : even(_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)),
        odd(_mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)) {}
};

// Column masks of one output vector (pixels ox0 .. ox0+15), the same for every row: its
// windows start at column b = Stride*ox0 - pad_left. Stride 1: m[k] keeps the columns of
// b+k .. b+k+15 inside the row; stride 2: m[0] and m[1] those of b .. b+15 and b+16 .. b+31,
// next says whether column b+32 is. keep: the pixels < out_w. An inner vector (its whole span
// inside the row, all pixels < out_w) needs only b.
struct Columns {
  int64_t ox0, b;
  __mmask16 m[3] = {0xFFFF, 0xFFFF, 0xFFFF}, keep = 0xFFFF;
  bool next = true;
  Columns() = default;
  Columns(int64_t ox0_, int64_t b_) : ox0(ox0_), b(b_) {}
  template <int Stride>
  static Columns edge(int64_t ox0, const DirectPlane& g) {
    Columns c(ox0, Stride * ox0 - g.pad_left);
    for (int k = 0; k < 3; ++k) c.m[k] = range(c.b + (Stride == 1 ? k : L * k), g.in_w);
    c.keep = range(0, g.out_w - ox0);
    c.next = c.b + 2 * L < g.in_w;
    return c;
  }
};

// The three taps of one input row for the vector's 16 output pixels: t[k] lane l =
// row[b + Stride*l + k] (0 outside the row).
template <int Stride, bool Edge>
FALTUNG_DIRECT_INLINE void row_taps(__m512* t, const float* row, const Columns& c,
                                    const Split& s) {
  if constexpr (Stride == 1) {
    for (int k = 0; k < 3; ++k)
      t[k] = Edge ? _mm512_maskz_loadu_ps(c.m[k], row + c.b + k) : _mm512_loadu_ps(row + c.b + k);
  } else {
    __m512 lo, hi, next;
    if (Edge) {
      lo = _mm512_maskz_loadu_ps(c.m[0], row + c.b);
      hi = _mm512_maskz_loadu_ps(c.m[1], row + c.b + L);
      next = c.next ? _mm512_set1_ps(row[c.b + 2 * L]) : _mm512_setzero_ps();
    } else {
      lo = _mm512_loadu_ps(row + c.b);
      hi = _mm512_loadu_ps(row + c.b + L);
      next = _mm512_set1_ps(row[c.b + 2 * L]);
    }
    t[0] = _mm512_permutex2var_ps(lo, s.even, hi);
    t[1] = _mm512_permutex2var_ps(lo, s.odd, hi);
    const __m512i e = _mm512_castps_si512(t[0]);  // (the unmasked form warns under GCC 12)
    t[2] = _mm512_castsi512_ps(
        _mm512_mask_alignr_epi32(e, 0xFFFF, _mm512_castps_si512(next), e, 1));
  }
}

// The input row iy, or null outside the image.
FALTUNG_DIRECT_INLINE const float* input_row(const float* x, int64_t iy, const DirectPlane& g) {
  return iy >= 0 && iy < g.in_h ? x + iy * g.in_w : nullptr;
}

// The vectors of an output row: [0, first) and [last, count) are edges (a window reaches past
// the row's ends, or the vector past out_w), their masks worked out once per plane (at most
// kEdges of them; a narrow plane with more works them out per vector); the others read whole
// spans.
template <int Stride>
struct Vectors {
  static constexpr int kEdges = 4;
  int64_t count, first, last;
  bool narrow;
  Columns edges[kEdges];
  explicit Vectors(const DirectPlane& g) : count((g.out_w + L - 1) / L) {
    first = std::min<int64_t>(count, g.pad_left > 0 ? 1 : 0);  // b >= 0 from here
    last = first;
    while (last < count && Stride * L * last - g.pad_left + kSpan<Stride> <= g.in_w &&
           (last + 1) * L <= g.out_w)
      ++last;
    narrow = first + count - last > kEdges;
    int e = 0;
    for (int64_t v = 0; v < count; ++v)
      if (!narrow && (v < first || v >= last)) edges[e++] = Columns::edge<Stride>(v * L, g);
  }
};

template <int Stride, bool Edge>
FALTUNG_DIRECT_INLINE void sum_vector(float* out, const float* const* rows, const __m512* wv,
                                      __m512 b0, const Columns& c, const Split& s) {
  __m512 acc0 = b0, acc1 = _mm512_setzero_ps(), acc2 = _mm512_setzero_ps();
  __m512 t[3];
  if (rows[0] != nullptr) {
    row_taps<Stride, Edge>(t, rows[0], c, s);
    acc0 = _mm512_fmadd_ps(wv[0], t[0], acc0);
    acc0 = _mm512_fmadd_ps(wv[1], t[1], acc0);
    acc0 = _mm512_fmadd_ps(wv[2], t[2], acc0);
  }
  if (rows[1] != nullptr) {
    row_taps<Stride, Edge>(t, rows[1], c, s);
    acc1 = _mm512_mul_ps(wv[3], t[0]);
    acc1 = _mm512_fmadd_ps(wv[4], t[1], acc1);
    acc1 = _mm512_fmadd_ps(wv[5], t[2], acc1);
  }
  if (rows[2] != nullptr) {
    row_taps<Stride, Edge>(t, rows[2], c, s);
    acc2 = _mm512_mul_ps(wv[6], t[0]);
    acc2 = _mm512_fmadd_ps(wv[7], t[1], acc2);
    acc2 = _mm512_fmadd_ps(wv[8], t[2], acc2);
  }
  const __m512 sum = _mm512_add_ps(_mm512_add_ps(acc0, acc1), acc2);
  if (Edge) _mm512_mask_storeu_ps(out + c.ox0, c.keep, sum);
  else _mm512_storeu_ps(out + c.ox0, sum);
}

// The Stride input rows that the output row `ahead` rows further down reads first (rows
// Stride*oy and, stride 2, Stride*oy + 1 of it, ~kAheadBytes beyond the rows in use) are
// prefetched, a burst per output row (speed change 21: without it the stride-2 loop waits on the
// loads of new rows, ~25 GB/s; speed change 23: stride 1). Past the plane's end these are the
// next plane's rows, contiguous in NCHW; prefetches never fault.
constexpr int64_t kAheadBytes = 14 * 1024;  // measured: 8 KB 0.64 ms, 14 KB 0.55, 28 KB 0.59 (64@112/2)
// The cache lines of base[first .. first + n), as integer addresses: they may lie past the array.
FALTUNG_DIRECT_INLINE void prefetch_span(const float* base, int64_t first, int64_t n) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(base) + sizeof(float) * first;
  const uintptr_t end = begin + sizeof(float) * n;
  for (uintptr_t p = begin; p < end; p += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
}
// Output rows ahead: ~kAheadBytes of input rows.
template <int Stride>
int64_t rows_ahead(const DirectPlane& g) {
  return (kAheadBytes + 4 * Stride * g.in_w - 1) / (4 * Stride * g.in_w);
}
template <int Stride>
FALTUNG_DIRECT_INLINE void prefetch_rows(const float* x, int64_t oy, const DirectPlane& g) {
  prefetch_span(x, (Stride * oy - g.pad_top) * g.in_w, Stride * g.in_w);
}

template <int Stride>
void direct_sum(float* out, const float* x, const float* w, float init, const DirectPlane& g) {
  const Split s;
  __m512 wv[9];
  for (int t = 0; t < 9; ++t) wv[t] = _mm512_set1_ps(w[t]);
  const __m512 b0 = _mm512_set1_ps(init);
  const Vectors<Stride> vec(g);
  const int64_t ahead = rows_ahead<Stride>(g);
  for (int64_t oy = 0; oy < g.out_h; ++oy, out += g.out_w) {
    const float* rows[3];
    for (int i = 0; i < 3; ++i) rows[i] = input_row(x, Stride * oy - g.pad_top + i, g);
    if (vec.narrow) {
      for (int64_t v = 0; v < vec.count; ++v)
        sum_vector<Stride, true>(out, rows, wv, b0, Columns::edge<Stride>(v * L, g), s);
      continue;
    }
    int e = 0;
    for (int64_t v = 0; v < vec.first; ++v)
      sum_vector<Stride, true>(out, rows, wv, b0, vec.edges[e++], s);
    for (int64_t v = vec.first; v < vec.last; ++v)
      sum_vector<Stride, false>(out, rows, wv, b0, Columns(v * L, Stride * v * L - g.pad_left),
                                s);
    for (int64_t v = vec.last; v < vec.count; ++v)
      sum_vector<Stride, true>(out, rows, wv, b0, vec.edges[e++], s);
    prefetch_rows<Stride>(x, oy + ahead, g);
  }
}

// One input row's three taps into p[0..2] (lane partial sums); past out_w the pixels are
// skipped, not multiplied as 0 * x (x may be Inf).
template <int Stride, bool Edge>
FALTUNG_DIRECT_INLINE void dots_row(__m512* p, __m512 gv, const float* row, const Columns& c,
                                    const Split& s) {
  __m512 t[3];
  row_taps<Stride, Edge>(t, row, c, s);
  for (int k = 0; k < 3; ++k)
    p[k] = Edge ? _mm512_mask3_fmadd_ps(gv, t[k], p[k], c.keep) : _mm512_fmadd_ps(gv, t[k], p[k]);
}

template <int Stride, bool Edge>
FALTUNG_DIRECT_INLINE void dots_vector(__m512* p, const float* g, const float* const* rows,
                                       const Columns& c, const Split& s) {
  const __m512 gv = Edge ? _mm512_maskz_loadu_ps(c.keep, g + c.ox0) : _mm512_loadu_ps(g + c.ox0);
  for (int i = 0; i < 3; ++i)
    if (rows[i] != nullptr) dots_row<Stride, Edge>(p + 3 * i, gv, rows[i], c, s);
}

// acc[t * 16 + l] += sum over the output pixels q = l mod 16 (per row) of g[q] times tap t's
// input pixel (0 outside the image). Prefetches as direct_sum does, and grad_y's row as well.
template <int Stride>
void direct_dots(float* acc, const float* g, const float* x, const DirectPlane& d) {
  const Split s;
  __m512 p[9];
  for (int t = 0; t < 9; ++t) p[t] = _mm512_loadu_ps(acc + t * L);
  const Vectors<Stride> vec(d);
  const int64_t ahead = rows_ahead<Stride>(d);
  for (int64_t oy = 0; oy < d.out_h; ++oy, g += d.out_w) {
    const float* rows[3];
    for (int i = 0; i < 3; ++i) rows[i] = input_row(x, Stride * oy - d.pad_top + i, d);
    prefetch_rows<Stride>(x, oy + ahead, d);
    prefetch_span(g, ahead * d.out_w, d.out_w);
    if (vec.narrow) {
      for (int64_t v = 0; v < vec.count; ++v)
        dots_vector<Stride, true>(p, g, rows, Columns::edge<Stride>(v * L, d), s);
      continue;
    }
    int e = 0;
    for (int64_t v = 0; v < vec.first; ++v)
      dots_vector<Stride, true>(p, g, rows, vec.edges[e++], s);
    for (int64_t v = vec.first; v < vec.last; ++v)
      dots_vector<Stride, false>(p, g, rows, Columns(v * L, Stride * v * L - d.pad_left), s);
    for (int64_t v = vec.last; v < vec.count; ++v)
      dots_vector<Stride, true>(p, g, rows, vec.edges[e++], s);
  }
  for (int t = 0; t < 9; ++t) _mm512_storeu_ps(acc + t * L, p[t]);
}

// Stride-2 input gradient, gather form, per grad_x row and 32 pixels ix = 2u + q (u in [u0,
// u0+16), q = 0, 1): row iy meets the kernel rows i with iy + pad_top - i even (grad_y row
// (iy + pad_top - i) / 2), column ix the kernel columns k with ix + pad_left - k even (grad_y
// column (ix + pad_left - k) / 2). pad_left 1: the even columns take k = 1 at u, the odd ones
// k = 0 at u+1 and k = 2 at u; pad_left 0: the even ones k = 0 at u and k = 2 at u-1, the odd
// ones k = 1 at u. The even and odd sums are interleaved into two output vectors.
// The masks of one chunk (grad_y columns u0 + shift, grad_x pixels 2*u0 ..): at, next and prev
// keep the grad_y columns u0.., u0+1.., u0-1.. inside the row; lo and hi the grad_x pixels.
struct Chunk {
  int64_t u0;
  __mmask16 at = 0xFFFF, next = 0xFFFF, prev = 0xFFFF, lo = 0xFFFF, hi = 0xFFFF;
  Chunk() = default;
  explicit Chunk(int64_t u0_) : u0(u0_) {}
  Chunk(int64_t u0_, const DirectPlane& g)
      : u0(u0_), at(range(u0_, g.out_w)), next(range(u0_ + 1, g.out_w)),
        prev(range(u0_ - 1, g.out_w)), lo(range(2 * u0_, g.in_w)),
        hi(range(2 * u0_ + L, g.in_w)) {}
};

template <bool Edge>
FALTUNG_DIRECT_INLINE __m512 gy_load(const float* row, int64_t first, __mmask16 m) {
  return Edge ? _mm512_maskz_loadu_ps(m, row + first) : _mm512_loadu_ps(row + first);
}

template <bool Edge>
FALTUNG_DIRECT_INLINE void input2_chunk(float* out, const float* const* rows, const __m512* wr,
                                        const Chunk& c, int64_t pad_left, const __m512i* mix) {
  __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
  for (int r = 0; r < 2; ++r) {
    if (rows[r] == nullptr) continue;
    const __m512 at = gy_load<Edge>(rows[r], c.u0, c.at);
    if (pad_left == 1) {
      even = _mm512_fmadd_ps(wr[3 * r + 1], at, even);
      odd = _mm512_fmadd_ps(wr[3 * r + 2], at, odd);
      odd = _mm512_fmadd_ps(wr[3 * r], gy_load<Edge>(rows[r], c.u0 + 1, c.next), odd);
    } else {
      even = _mm512_fmadd_ps(wr[3 * r], at, even);
      even = _mm512_fmadd_ps(wr[3 * r + 2], gy_load<Edge>(rows[r], c.u0 - 1, c.prev), even);
      odd = _mm512_fmadd_ps(wr[3 * r + 1], at, odd);
    }
  }
  float* to = out + 2 * c.u0;
  const __m512 lo = _mm512_permutex2var_ps(even, mix[0], odd);
  const __m512 hi = _mm512_permutex2var_ps(even, mix[1], odd);
  if (Edge) {
    _mm512_mask_storeu_ps(to, c.lo, lo);
    _mm512_mask_storeu_ps(to + L, c.hi, hi);
  } else {
    _mm512_storeu_ps(to, lo);
    _mm512_storeu_ps(to + L, hi);
  }
}

// g: in_h x in_w is grad_x, out_h x out_w grad_y.
void direct_input2(float* gx, const float* gy, const float* w, const DirectPlane& g) {
  const __m512i mix[2] = {
      _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23),
      _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)};
  const int64_t chunks = (g.in_w + 2 * L - 1) / (2 * L);
  // Inner chunks (from the second): grad_y columns u0 - 1 .. u0 + 16 and all 32 grad_x pixels
  // inside. With out_w >= (in_w - 1) / 2 (padding is never negative) every chunk but the first
  // and the last two is inner, so at most three edge chunks, their masks worked out once.
  const int64_t first = std::min<int64_t>(1, chunks);
  int64_t last = first;
  while (last < chunks && last * L + L + 1 <= g.out_w && 2 * L * (last + 1) <= g.in_w) ++last;
  Chunk edges[3];
  int e = 0;
  for (int64_t c = 0; c < chunks; ++c)
    if (c < first || c >= last) edges[e++] = Chunk(c * L, g);
  for (int64_t iy = 0; iy < g.in_h; ++iy, gx += g.in_w) {
    const float* rows[2] = {nullptr, nullptr};
    __m512 wr[6];
    int n = 0;
    for (int i = 0; i < 3; ++i) {
      const int64_t t = iy + g.pad_top - i;
      if (t % 2 != 0 || t < 0 || t / 2 >= g.out_h) continue;
      rows[n] = gy + (t / 2) * g.out_w;
      for (int k = 0; k < 3; ++k) wr[3 * n + k] = _mm512_set1_ps(w[3 * i + k]);
      ++n;
    }
    e = 0;
    for (int64_t c = 0; c < first; ++c)
      input2_chunk<true>(gx, rows, wr, edges[e++], g.pad_left, mix);
    for (int64_t c = first; c < last; ++c)
      input2_chunk<false>(gx, rows, wr, Chunk(c * L), g.pad_left, mix);
    for (int64_t c = last; c < chunks; ++c)
      input2_chunk<true>(gx, rows, wr, edges[e++], g.pad_left, mix);
  }
}

// Flat planes (stride 1, padding 1 on every side): vector v holds the output pixels q = 16v ..
// 16v+15 of the plane read as one run of h*w pixels. Stream r (r = 0, 1, 2: kernel row) is the
// input at q + (r-1)*w, loaded masked to the plane (the rows above and below it read as zero);
// its taps k = 0 and 2 are the stream shifted by one lane with the previous or next vector's
// end shifted in, zeroed in the lanes of column 0 or w-1 (FlatPlane::edges).
struct FlatStreams {
  __m512 prev[3], cur[3];
};

// Stream r's vector from flat offset first: a plain load inside the plane (Edge false: the
// caller knows), else masked to it (mask: its lanes inside the plane).
template <bool Edge>
FALTUNG_DIRECT_INLINE __m512 flat_load(const float* x, int64_t first, __mmask16 mask) {
  return Edge ? _mm512_maskz_loadu_ps(mask, x + first) : _mm512_loadu_ps(x + first);
}

FALTUNG_DIRECT_INLINE void flat_start(FlatStreams& s, const float* x, int64_t w, int64_t n) {
  for (int r = 0; r < 3; ++r) {
    s.prev[r] = _mm512_setzero_ps();
    s.cur[r] = flat_load<true>(x, (r - 1) * w, range((r - 1) * w, n));
  }
}

// Loads the next vectors of the three streams and returns the nine taps of vector v (q = 16v,
// m: its masks, FlatPlane::edges).
template <bool Edge>
FALTUNG_DIRECT_INLINE void flat_taps(__m512* t, FlatStreams& s, const float* x, int64_t q,
                                     int64_t w, const uint16_t* m) {
  const __mmask16 left = m[0], right = m[1];
#pragma GCC unroll 3
  for (int r = 0; r < 3; ++r) {
    const __m512 next = flat_load<Edge>(x, q + L + (r - 1) * w, Edge ? m[2 + r] : 0);
    const __m512i p = _mm512_castps_si512(s.prev[r]), c = _mm512_castps_si512(s.cur[r]),
                  nx = _mm512_castps_si512(next);
    const __m512i zero = _mm512_setzero_si512();  // (the maskz form warns under GCC 12)
    t[3 * r] = _mm512_castsi512_ps(_mm512_mask_alignr_epi32(zero, left, c, p, L - 1));
    t[3 * r + 1] = s.cur[r];
    t[3 * r + 2] = _mm512_castsi512_ps(_mm512_mask_alignr_epi32(zero, right, nx, c, 1));
    s.prev[r] = s.cur[r];
    s.cur[r] = next;
  }
}

// The vectors [inner_begin, inner_end) of a flat plane load all three streams' next vectors
// whole (q + 16 - w >= 0, q + 32 + w <= n); the others mask them.
struct FlatRange {
  int64_t count, inner_begin, inner_end;
  // Few inner vectors: one loop of masked ones (three loops spill the accumulators between them)
  bool small() const { return inner_end - inner_begin < 8; }
  FlatRange(int64_t w, int64_t n) : count((n + L - 1) / L) {
    inner_begin = std::min(count, std::max<int64_t>(0, (w - L + L - 1) / L));
    inner_end = std::max(inner_begin, std::min(count, n - 2 * L - w >= 0 ? (n - 2 * L - w) / L + 1
                                                                         : int64_t(0)));
  }
};

template <bool Edge>
FALTUNG_DIRECT_INLINE void flat_sum_vector(float* out, FlatStreams& s, const float* x, int64_t v,
                                           int64_t w, const uint16_t* edges,
                                           const __m512* wv, __m512 b0) {
  __m512 t[9];
  const uint16_t* m = edges + kFlatMasks * v;
  flat_taps<Edge>(t, s, x, v * L, w, m);
  __m512 acc0 = _mm512_fmadd_ps(wv[0], t[0], b0), acc1 = _mm512_mul_ps(wv[3], t[3]),
         acc2 = _mm512_mul_ps(wv[6], t[6]);
  acc0 = _mm512_fmadd_ps(wv[1], t[1], acc0);
  acc1 = _mm512_fmadd_ps(wv[4], t[4], acc1);
  acc2 = _mm512_fmadd_ps(wv[7], t[7], acc2);
  acc0 = _mm512_fmadd_ps(wv[2], t[2], acc0);
  acc1 = _mm512_fmadd_ps(wv[5], t[5], acc1);
  acc2 = _mm512_fmadd_ps(wv[8], t[8], acc2);
  const __m512 sum = _mm512_add_ps(_mm512_add_ps(acc0, acc1), acc2);
  if (Edge) _mm512_mask_storeu_ps(out + v * L, m[5], sum);
  else _mm512_storeu_ps(out + v * L, sum);
}

void flat_sum(float* out, const float* x, const float* wk, float init, const FlatPlane& f) {
  __m512 wv[9];
  for (int k = 0; k < 9; ++k) wv[k] = _mm512_set1_ps(wk[k]);
  const __m512 b0 = _mm512_set1_ps(init);
  const int64_t w = f.w, n = f.h * f.w;
  const uint16_t* edges = f.edges;
  const FlatRange vr(w, n);
  FlatStreams s;
  flat_start(s, x, w, n);
  if (vr.small()) {
    for (int64_t v = 0; v < vr.count; ++v) flat_sum_vector<true>(out, s, x, v, w, edges, wv, b0);
    return;
  }
  for (int64_t v = 0; v < vr.inner_begin; ++v)
    flat_sum_vector<true>(out, s, x, v, w, edges, wv, b0);
  for (int64_t v = vr.inner_begin; v < vr.inner_end; ++v)
    flat_sum_vector<false>(out, s, x, v, w, edges, wv, b0);
  for (int64_t v = vr.inner_end; v < vr.count; ++v)
    flat_sum_vector<true>(out, s, x, v, w, edges, wv, b0);
}

// One vector's nine dot-product steps; keep: the pixels inside the plane (the lanes past it are
// skipped, not multiplied as 0 * x: x may be Inf).
template <bool Edge>
FALTUNG_DIRECT_INLINE void flat_dots_vector(__m512* p, FlatStreams& s, const float* g,
                                            const float* x, int64_t v, int64_t w,
                                            const uint16_t* edges) {
  __m512 t[9];
  const uint16_t* m = edges + kFlatMasks * v;
  flat_taps<Edge>(t, s, x, v * L, w, m);
  if (!Edge) {
    const __m512 gv = _mm512_loadu_ps(g + v * L);
    for (int k = 0; k < 9; ++k) p[k] = _mm512_fmadd_ps(gv, t[k], p[k]);
  } else {
    const __m512 gv = _mm512_maskz_loadu_ps(m[5], g + v * L);
    for (int k = 0; k < 9; ++k) p[k] = _mm512_mask3_fmadd_ps(gv, t[k], p[k], m[5]);
  }
}

// The sum of a vector's 16 lanes: halves, quarters, pairs and neighbours swapped and added (the
// masked forms with all lanes set: the plain ones, like _mm512_reduce_add_ps, warn under GCC 12).
FALTUNG_DIRECT_INLINE float lane_sum(__m512 v) {
  v = _mm512_add_ps(v, _mm512_mask_shuffle_f32x4(v, 0xFFFF, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_mask_shuffle_f32x4(v, 0xFFFF, v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  v = _mm512_add_ps(v, _mm512_mask_permute_ps(v, 0xFFFF, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_mask_permute_ps(v, 0xFFFF, v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(v);
}

// gw[t] = sum over the images i < batch and their pixels q of g[i * g_step + q] times tap t of
// pixel q in the plane x + i * x_step: nine lane-partial accumulators over the whole batch,
// added up once.
void flat_weight(float* gw, const float* g, int64_t g_step, const float* x, int64_t x_step,
                 int64_t batch, const FlatPlane& f) {
  __m512 p[9];
  for (int k = 0; k < 9; ++k) p[k] = _mm512_setzero_ps();
  const int64_t w = f.w, n = f.h * f.w;
  const uint16_t* edges = f.edges;
  const FlatRange vr(w, n);
  for (int64_t i = 0; i < batch; ++i, g += g_step, x += x_step) {
    FlatStreams s;
    flat_start(s, x, w, n);
    if (vr.small()) {
      for (int64_t v = 0; v < vr.count; ++v) flat_dots_vector<true>(p, s, g, x, v, w, edges);
      continue;
    }
    for (int64_t v = 0; v < vr.inner_begin; ++v)
      flat_dots_vector<true>(p, s, g, x, v, w, edges);
    for (int64_t v = vr.inner_begin; v < vr.inner_end; ++v)
      flat_dots_vector<false>(p, s, g, x, v, w, edges);
    for (int64_t v = vr.inner_end; v < vr.count; ++v)
      flat_dots_vector<true>(p, s, g, x, v, w, edges);
  }
  for (int k = 0; k < 9; ++k) gw[k] = lane_sum(p[k]);
}

}  // namespace

bool avx512_depthwise_direct(DepthwiseDirect* f32) {
  f32->stride1 = direct_sum<1>;
  f32->stride2 = direct_sum<2>;
  f32->dots = direct_dots<1>;
  f32->dots2 = direct_dots<2>;
  f32->input2 = direct_input2;
  f32->flat = flat_sum;
  f32->flat_weight = flat_weight;
  return true;
}

}  // namespace faltung::cpu
#else
namespace faltung::cpu {
bool avx512_depthwise_direct(DepthwiseDirect*) { return false; }
}  // namespace faltung::cpu
#endif
