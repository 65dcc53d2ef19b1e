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

constexpr int64_t kChunk = 256;    // interior columns per step: the running values live on the stack
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

  explicit Windows(const Pool2dParams& p) : rows(pool_axis_windows(p, 0)), cols(pool_axis_windows(p, 1)) {
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

}  // namespace faltung::pool_detail
