// Shared by the pooling kernels (pool_max.cpp, pool_avg.cpp, pool_lp.cpp): the window tables of
// one call, the range of "interior" output columns whose windows lie wholly inside the input
// (these run a row-at-a-time loop that the compiler vectorises, with the column stride a
// compile-time constant where it is 1 or 2), and the stride dispatch.
#pragma once
#include <algorithm>
#include <vector>

#include "faltung/pool.hpp"
#include "faltung/threads.hpp"

namespace faltung::pool_detail {

constexpr int64_t kChunk = 256;  // interior columns per step: the running values live on the stack

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

// Calls f(std::integral_constant<int64_t, S>) with S = stride_w for 1 and 2, else S = 0 (meaning
// "read the stride at run time").
template <class F>
void with_column_stride(int64_t stride_w, F&& f) {
  if (stride_w == 1) f(std::integral_constant<int64_t, 1>{});
  else if (stride_w == 2) f(std::integral_constant<int64_t, 2>{});
  else f(std::integral_constant<int64_t, 0>{});
}

}  // namespace faltung::pool_detail
