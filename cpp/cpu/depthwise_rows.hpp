// The two row operations the row form of the depthwise passes is made of (cpp/cpu/depthwise.cpp),
// and the tile operations of the channel-blocked form (below), per ISA. Rows are n contiguous
// elements, one tap = one source row and one weight:
//   sum:   out[x] = init + sum_t w[t] * src[t][x]           (forward, input gradient), over
//          `rows` rows: row r reads src[t] + r * src_stride, writes out + r * out_stride
//   dots:  acc[t][l] += sum over x = l mod kDotLanes of g[x] * src[t][x]   (weight gradient:
//          lane partial sums, added up by the caller once per weight)
// Entry [t] of the sum table takes exactly t taps (t = 1..kMaxFixedTaps: unrolled, the
// accumulators in registers: 3x3 kernels at any stride, and the phase subsets of strided input
// gradients); entry [0] takes any count (taps >= 0). dots goes tap by tap at any count. The
// code is portable C++
// (depthwise_rows.inl, depthwise_tiles.inl) compiled once per ISA (depthwise_rows_avx512.cpp,
// _avx2.cpp, _generic.cpp) and chosen at run time like the GEMM kernels (same FALTUNG_ISA cap).
// Sums run in tap order, from init.
#pragma once
#include <cstdint>

namespace faltung::cpu {

constexpr int kMaxFixedTaps = 9;
constexpr int kDotLanes = 16;
constexpr int kTileLanes = 16;  // channels in one channel-blocked tile

// The channel-blocked tile operations (depthwise_tiles.inl; depthwise_blocked.cpp uses them),
// float32 on AVX-512 only.
// A tile stores pixel p's kTileLanes channel values at tile + p * kTileLanes; offsets, steps
// and positions count pixels.
//   to_tile:   tile[pos[p]][l] = x[l * plane_stride + p] for p < pixels, l < count; lanes
//              >= count are set to 0; other tile pixels are left alone (the zero padding)
//   from_tile: y[l * plane_stride + p] = tile[pos[p]][l] for p < pixels, l < count
//   tile_sum:  out[oy * out_w + ox] = init + sum_t w[t] * in[oy * row_step + ox * col_step +
//              offsets[t]] (per lane, in tap order; w[t] and init are tiles of one pixel)
//   tile_scatter: in[oy * row_step + ox * col_step + offsets[t]] += w[t] * g[oy * out_w + ox]
//              (per lane, over the pixels in order, tap by tap)
//   tile_dots: acc[t] += sum over (oy, ox) of g[oy * out_w + ox] * in[oy * row_step +
//              ox * col_step + offsets[t]] (per lane, over the pixels in order)
//   tile_max:  max pooling (pool_tiles.inl, pool_max_blocked.cpp): out[oy * out_w + ox] = the
//              max of in[oy * row_step + ox * col_step + offsets[t]] over the taps in order,
//              from -inf, a tap winning when greater or NaN; index (may be null) gets the
//              winner's origin[o] + tap[t], or first[o] when none wins (small integers as T)
// _9: exactly 9 taps (3x3 kernels), weights or accumulators in registers; _any: any count.
template <class T>
using RowDotsFn = void (*)(T* acc, const T* g, int64_t n, const T* const* src, int64_t taps);
template <class T>
using ToTileFn = void (*)(T* tile, const int64_t* pos, const T* x, int64_t plane_stride,
                          int64_t count, int64_t pixels);
template <class T>
using FromTileFn = void (*)(T* y, int64_t plane_stride, int64_t count, const T* tile,
                            const int64_t* pos, int64_t pixels);
template <class T>
using TileSumFn = void (*)(T* out, int64_t out_h, int64_t out_w, const T* init, const T* in,
                           int64_t row_step, int64_t col_step, const int64_t* offsets,
                           const T* w, int64_t taps);
template <class T>
using TileScatterFn = void (*)(T* in, const T* g, int64_t out_h, int64_t out_w, int64_t row_step,
                               int64_t col_step, const int64_t* offsets, const T* w,
                               int64_t taps);
template <class T>
using TileDotsFn = void (*)(T* acc, const T* g, int64_t out_h, int64_t out_w, const T* in,
                            int64_t row_step, int64_t col_step, const int64_t* offsets,
                            int64_t taps);

template <class T>
using TileMaxFn = void (*)(T* out, T* index, int64_t out_h, int64_t out_w, const T* in,
                           int64_t row_step, int64_t col_step, const int64_t* offsets,
                           const T* tap, const T* origin, const T* first, int64_t taps);

template <class T>
using RowSumFn = void (*)(T* out, int64_t out_stride, int64_t rows, int64_t n, T init,
                          const T* const* src, int64_t src_stride, const T* w, int64_t taps);

template <class T>
struct DepthwiseRows {
  RowSumFn<T> sum[kMaxFixedTaps + 1];
  RowDotsFn<T> dots;
  // null where the tiles do not pay (all but float32 on AVX-512): use_blocked then says no
  ToTileFn<T> to_tile = nullptr;
  FromTileFn<T> from_tile = nullptr;
  TileSumFn<T> tile_sum_any = nullptr, tile_sum_9 = nullptr;
  TileScatterFn<T> tile_scatter_any = nullptr, tile_scatter_9 = nullptr;
  TileDotsFn<T> tile_dots_any = nullptr, tile_dots_9 = nullptr;
  TileMaxFn<T> tile_max = nullptr;
};

// Each fills the tables and returns true, or returns false when built without that ISA.
bool avx512_depthwise_rows(DepthwiseRows<float>* f32, DepthwiseRows<double>* f64);
bool avx2_depthwise_rows(DepthwiseRows<float>* f32, DepthwiseRows<double>* f64);
void generic_depthwise_rows(DepthwiseRows<float>* f32, DepthwiseRows<double>* f64);

}  // namespace faltung::cpu
