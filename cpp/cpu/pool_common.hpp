// Shared by the pooling kernels (pool_max.cpp, pool_avg.cpp, pool_lp.cpp): the window tables of
// one call, the range of "interior" output columns whose windows lie wholly inside the input
// (these run row-at-a-time loops that the compiler vectorises, with the column stride and the
// kernel width compile-time constants where they are 1, 2 or 3), and the dispatch.
//
// Separable interior path (max without indices, average forward and backward): a chunk of n
// output columns of one output row first reduces its window rows into one buffer row of
// `width` input columns (contiguous, fully vectorised), then reduces each output's kernel_w taps
// along that row (a strided group of loads). Backward runs the two steps in reverse.
#pragma once
#include <algorithm>
#include <vector>

#include "faltung/pool.hpp"
#include "faltung/threads.hpp"

namespace faltung::pool_detail {

constexpr int64_t kChunk = 256;    // interior columns per step (running values on the stack)
constexpr int64_t kRowBuf = 2048;  // input columns of one separable step (a stack buffer)

// Input columns a chunk of n output columns covers.
inline int64_t chunk_width(const Pool2dParams& p, int64_t n) {
  return (n - 1) * p.stride_w + p.dilation_w * (p.kernel_w - 1) + 1;
}

// Output columns per separable step: as many as kChunk and kRowBuf allow (0: the kernel is too
// wide for the buffer, or the windows are adaptive: use the per-window path).
inline int64_t separable_chunk(const Pool2dParams& p) {
  if (p.adaptive) return 0;
  const int64_t eff = p.dilation_w * (p.kernel_w - 1) + 1;
  if (eff > kRowBuf) return 0;
  return std::min(kChunk, (kRowBuf - eff) / p.stride_w + 1);
}

struct Windows {
  std::vector<AxisWindow> rows, cols;
  int64_t interior_begin = 0, interior_end = 0;  // output columns with complete windows

  explicit Windows(const Pool2dParams& p)
      : rows(pool_axis_windows(p, 0)), cols(pool_axis_windows(p, 1)) {
    if (p.adaptive) return;  // windows of varying width: every column takes the general path
    const int64_t eff = p.dilation_w * (p.kernel_w - 1) + 1;
    int64_t b = 0;
    while (b < p.out_w && (cols[b].first_tap != 0 || cols[b].hi - cols[b].lo < eff)) ++b;
    int64_t e = b;
    while (e < p.out_w && cols[e].first_tap == 0 && cols[e].hi - cols[e].lo == eff) ++e;
    interior_begin = b;
    interior_end = e;
  }
};

// f(first, count) over each thread's contiguous range of `items` (planes, blocks). One thread
// calls f directly: an OpenMP region of one thread still allocates its team, about 1 us a call
// here, most of a small layer's fixed cost (docs/performance.md P20).
template <class F>
void thread_ranges(int64_t items, F f) {
  const int64_t threads = num_threads();
  if (threads == 1) return f(int64_t{0}, items);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t t = 0; t < threads; ++t) {
    const int64_t first = items * t / threads, last = items * (t + 1) / threads;
    f(first, last - first);
  }
}

// Calls f(S, KW) as std::integral_constant<int64_t, ...> with S = stride_w and KW = kernel_w for
// the common layers (stride 1 or 2, kernel width 2 or 3), else 0 (meaning "read it at run time").
template <class F>
void with_column_shape(const Pool2dParams& p, F&& f) {
  using std::integral_constant;
  auto kw = [&](auto s) {
    if (p.kernel_w == 2) f(s, integral_constant<int64_t, 2>{});
    else if (p.kernel_w == 3) f(s, integral_constant<int64_t, 3>{});
    else f(s, integral_constant<int64_t, 0>{});
  };
  if (p.stride_w == 1) kw(integral_constant<int64_t, 1>{});
  else if (p.stride_w == 2) kw(integral_constant<int64_t, 2>{});
  else kw(integral_constant<int64_t, 0>{});
}

// Windows that tile whole rows: kernel == stride, no padding, dilation 1, in_w == out_w *
// kernel_w and no ceil_mode window cut by the bottom (VGG's 2x2/2, DenseNet's transitions).
inline bool tiles_rows(const Pool2dParams& p) {
  return !p.adaptive && p.kernel_h == p.stride_h && p.kernel_w == p.stride_w && p.pad_top == 0 &&
         p.pad_bottom == 0 && p.pad_left == 0 && p.pad_right == 0 && p.dilation_h == 1 &&
         p.dilation_w == 1 && p.in_w == p.out_w * p.kernel_w && p.out_h * p.kernel_h <= p.in_h &&
         p.in_w <= kRowBuf;
}

// One plane of a tiles_rows geometry, forward: blocks of output rows reduce their kernel_h input
// rows into one buffer (in_w values per output row), whose consecutive groups of kernel_w are
// then exactly the outputs of those rows, contiguous in y: one long vectorised loop per block
// instead of short ones per row (planes of 7x7 to 28x28 outputs are common).
// y = finish(combine(...(combine(a, b), ...))) over each window.
template <class T, int64_t KW, class Combine, class Finish>
void tiled_rows_plane(T* y, const T* x, const Pool2dParams& p, Combine combine, Finish finish) {
  const int64_t w = p.in_w, kh = p.kernel_h, kw = KW ? KW : p.kernel_w;
  const int64_t rows = std::max<int64_t>(1, kRowBuf / w);
  T v[kRowBuf];
  for (int64_t oh0 = 0; oh0 < p.out_h; oh0 += rows) {
    const int64_t r = std::min(rows, p.out_h - oh0);
    for (int64_t b = 0; b < r; ++b) {
      const T* first = x + (oh0 + b) * kh * w;
      T* dst = v + b * w;
      if (kh == 1) {
        for (int64_t i = 0; i < w; ++i) dst[i] = first[i];
        continue;
      }
      for (int64_t i = 0; i < w; ++i) dst[i] = combine(first[i], first[w + i]);
      for (int64_t ki = 2; ki < kh; ++ki) {
        const T* row = first + ki * w;
        for (int64_t i = 0; i < w; ++i) dst[i] = combine(dst[i], row[i]);
      }
    }
    T* out = y + oh0 * p.out_w;
    for (int64_t k = 0; k < r * p.out_w; ++k) {
      T a = v[k * kw];
      for (int64_t kj = 1; kj < kw; ++kj) a = combine(a, v[k * kw + kj]);
      out[k] = finish(a);
    }
  }
}

// Runs block(y, x, b) over a whole tiles_rows geometry, b the params of one block of output rows
// (b.out_h of them, from b.in_h input rows). When the windows also cover every input row
// (in_h == out_h * kernel_h) the planes follow each other without a gap, so the batch is one
// tall plane cut into blocks of output rows; otherwise plane by plane.
template <class T, class Block>
void for_row_blocks(T* y, const T* x, const Pool2dParams& p, Block block) {
  if (p.in_h == p.out_h * p.kernel_h) {
    constexpr int64_t kBlock = 64;  // output rows per task
    const int64_t total = p.planes() * p.out_h;
    thread_ranges((total + kBlock - 1) / kBlock, [&](int64_t first, int64_t count) {
      for (int64_t r0 = first * kBlock; r0 < std::min(total, (first + count) * kBlock);
           r0 += kBlock) {
        Pool2dParams b = p;
        b.out_h = std::min(kBlock, total - r0);
        b.in_h = b.out_h * p.kernel_h;
        block(y + r0 * p.out_w, x + r0 * p.kernel_h * p.in_w, b);
      }
    });
    return;
  }
  thread_ranges(p.planes(), [&](int64_t first, int64_t count) {
    for (int64_t plane = first; plane < first + count; ++plane)
      block(y + plane * p.out_pixels(), x + plane * p.in_pixels(), p);
  });
}

// A whole tiles_rows forward in the portable loops of tiled_rows_plane.
template <class T, int64_t KW, class Combine, class Finish>
void tiled_rows(T* y, const T* x, const Pool2dParams& p, Combine combine, Finish finish) {
  for_row_blocks(y, x, p, [&](T* yb, const T* xb, const Pool2dParams& b) {
    tiled_rows_plane<T, KW>(yb, xb, b, combine, finish);
  });
}

}  // namespace faltung::pool_detail
