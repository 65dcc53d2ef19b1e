// Max pooling forward on channel-blocked tiles, NCHW in and out: kTileLanes consecutive planes
// (of any images: planes are independent) are transposed into one channel-minor tile padded
// with -inf in the thread's workspace, every output pixel scans its window's taps with one
// vector compare-and-select per tap for all of them (pool_tiles.inl), and the outputs are
// transposed back (the depthwise transposes, depthwise_tiles.inl). Indices travel as float
// (exact: planes of this path are small) through the same transpose and are widened to int64.
// The padded tile also covers ceil_mode windows that reach past the input's end.
#include "pool_max_blocked.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "depthwise_work.hpp"
#include "pool_common.hpp"
#include "faltung/threads.hpp"

namespace faltung::pool_detail {

constexpr int64_t L = cpu::kTileLanes;

constexpr int64_t kBlockedMaxArea = 112 * 112;  // input pixels per plane, at most

// Measured at one thread (docs/performance.md, pooling speed change P12): 3x3/2 on 13x13 to
// 112x112 planes gain (larger ones were not measured); 2x2/2 does not (its 4 taps save less
// than the transposes cost).
bool use_blocked_max(const Pool2dParams& p) {
  return depthwise::rows<float>().tile_max != nullptr && !p.adaptive &&
         p.kernel_h * p.kernel_w >= 9 && p.in_pixels() <= kBlockedMaxArea;
}

void blocked_max_forward(float* y, int64_t* indices, const float* x, const Pool2dParams& p) {
  const auto& ops = depthwise::rows<float>();
  const int64_t hp = std::max(p.in_h + p.pad_top + p.pad_bottom,
                              (p.out_h - 1) * p.stride_h + (p.kernel_h - 1) * p.dilation_h + 1);
  const int64_t wp = std::max(p.in_w + p.pad_left + p.pad_right,
                              (p.out_w - 1) * p.stride_w + (p.kernel_w - 1) * p.dilation_w + 1);
  const int64_t in_px = p.in_pixels(), out_px = p.out_pixels(), taps = p.kernel_h * p.kernel_w;
  const std::vector<int64_t> pos = depthwise::positions(p.in_h, p.in_w, p.pad_top, p.pad_left, wp);
  const std::vector<int64_t> dense = depthwise::positions(p.out_h, p.out_w, 0, 0, p.out_w);
  // tap t of output pixel o: tile offset offsets[t] from the window's corner, plane index
  // origin[o] + tap[t]; first[o]: the window's first real cell (reported when nothing wins)
  std::vector<int64_t> offsets;
  std::vector<float> tap, origin, first;
  for (int64_t i = 0; i < p.kernel_h; ++i)
    for (int64_t k = 0; k < p.kernel_w; ++k) {
      offsets.push_back(i * p.dilation_h * wp + k * p.dilation_w);
      tap.push_back(static_cast<float>(i * p.dilation_h * p.in_w + k * p.dilation_w));
    }
  if (indices) {
    const std::vector<AxisWindow> rows = pool_axis_windows(p, 0), cols = pool_axis_windows(p, 1);
    for (int64_t oh = 0; oh < p.out_h; ++oh)
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        origin.push_back(static_cast<float>((oh * p.stride_h - p.pad_top) * p.in_w +
                                            ow * p.stride_w - p.pad_left));
        first.push_back(static_cast<float>(rows[oh].lo * p.in_w + cols[ow].lo));
      }
  }
  const int64_t blocks = (p.planes() + L - 1) / L;
  const int64_t tile = hp * wp * L, out_tile = out_px * L;
  thread_ranges(blocks, [&](int64_t first_block, int64_t count_blocks) {
    if (count_blocks == 0) return;
    // input tile, output tile, then (indices) the index tile and its planes
    float* in = workspace_as<float>(Slot::PoolTile, tile + 3 * out_tile);
    float* out = in + tile;
    float* index = out + out_tile;
    float* index_planes = index + out_tile;
    std::fill(in, in + tile, -std::numeric_limits<float>::infinity());  // the padding
    for (int64_t b = first_block; b < first_block + count_blocks; ++b) {
      const int64_t p0 = b * L, count = std::min(L, p.planes() - p0);
      ops.to_tile(in, pos.data(), x + p0 * in_px, in_px, count, in_px);
      ops.tile_max(out, indices ? index : nullptr, p.out_h, p.out_w, in, p.stride_h * wp,
                   p.stride_w, offsets.data(), tap.data(), origin.data(), first.data(), taps);
      ops.from_tile(y + p0 * out_px, out_px, count, out, dense.data(), out_px);
      if (indices) {
        ops.from_tile(index_planes, out_px, count, index, dense.data(), out_px);
        int64_t* dst = indices + p0 * out_px;
        for (int64_t e = 0; e < count * out_px; ++e) dst[e] = static_cast<int64_t>(index_planes[e]);
      }
    }
  });
}

}  // namespace faltung::pool_detail
