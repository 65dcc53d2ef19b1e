// Depthwise passes on channel-blocked tiles (depthwise_blocked.hpp), NCHW in and out: a block
// of kTileLanes channels of one image is transposed into a zero-padded channel-minor tile in
// the thread's workspace (what channels_last stores), the taps run as one vector FMA per output
// pixel for the whole block (any stride, dilation, kernel size), and the result is transposed
// back. Per block of 16 planes that is two transposes and out_pixels * taps FMAs, where the
// row operations pay per plane a padded copy, a source pointer per tap and a vector tail.
//   forward:      per (image, block, j): out tile = bias + sum_t w * shifted input tile
//   grad input:   stride 1: the forward form on the M grad_y tiles zero-padded by the kernel's
//                 reach, rotated kernel, the M*kh*kw taps summed into one grad_x tile;
//                 strided: the scatter form, each grad_y pixel times each tap's weight added
//                 into a zeroed padded tile, whose image cells are transposed out
//   grad weight:  threads split the blocks (each owns its channels' weights: no reduction,
//                 independent of the thread count); per image, the input tile and each
//                 grad_y tile; every tap accumulates one vector per block over all pixels
// The weights of a block are laid out tile-wise once per block a thread meets (lanes beyond
// the channel count are zero, as are the tile lanes they meet). Plane area decides the form per
// pass (use_blocked, measured).
#include "depthwise_blocked.hpp"

#include <algorithm>
#include <vector>

#include "depthwise_work.hpp"

namespace faltung::depthwise {
namespace {

constexpr int64_t L = cpu::kTileLanes;

// A block's weights and initial values as tiles: wt[(j*taps + t)*L + l] = w[((c0 + l)*M + j)*taps
// + t], then M vectors init[j*L + l] = bias[(c0 + l)*M + j] (0 without bias); lanes past the
// channels are zero.
template <class T>
void weights_tile(T* wt, const T* w, const T* bias, int64_t c0, int64_t count, int64_t M,
                  int64_t taps) {
  for (int64_t e = 0; e < M * taps; ++e)
    for (int64_t l = 0; l < L; ++l) wt[e * L + l] = l < count ? w[(c0 + l) * M * taps + e] : T(0);
  T* init = wt + M * taps * L;
  for (int64_t j = 0; j < M; ++j)
    for (int64_t l = 0; l < L; ++l)
      init[j * L + l] = bias != nullptr && l < count ? bias[(c0 + l) * M + j] : T(0);
}

// Tile offset of tap (i, k) from its output pixel's window, in a padded tile of rows of `width`.
std::vector<int64_t> tap_offsets(const Conv2dParams& p, int64_t width) {
  std::vector<int64_t> offsets;
  for (int64_t i = 0; i < p.kernel_h; ++i)
    for (int64_t k = 0; k < p.kernel_w; ++k)
      offsets.push_back(i * p.dilation_h * width + k * p.dilation_w);
  return offsets;
}

// What the passes that read the padded input tile share: the tile is hp x wp pixels, image
// pixel p at pos[p]; output pixel p at dense[p] of a dense tile; tap offsets in the input tile.
struct Geometry {
  int64_t C, M, taps, blocks, hp, wp;
  std::vector<int64_t> pos, dense, offsets;
  explicit Geometry(const Conv2dParams& p)
      : C(p.in_channels), M(multiplier(p)), taps(p.kernel_h * p.kernel_w),
        blocks((C + L - 1) / L), hp(p.in_h + p.pad_top + p.pad_bottom),
        wp(p.in_w + p.pad_left + p.pad_right),
        pos(positions(p.in_h, p.in_w, p.pad_top, p.pad_left, wp)),
        dense(positions(p.out_h, p.out_w, 0, 0, p.out_w)), offsets(tap_offsets(p, wp)) {}
};

template <class T>
cpu::TileSumFn<T> tile_sum(int64_t taps) {
  return taps == 9 ? rows<T>().tile_sum_9 : rows<T>().tile_sum_any;
}

}  // namespace

// Measured at one thread on the benchmark layers (docs/performance.md, depthwise speed
// changes 8 and 9), blocked against rows: forward 1.3-3.4x on stride-1 maps to 28x28, 0.85x at
// 56x56 (its 56-wide rows go straight into the output), 1.1-1.3x (noise-sized) on the larger
// ones, left to rows; strided forwards 1.4-1.8x, measured up to 112x112. Stride-1 input
// gradient 1.2-2.3x to 14x14, 0.8-0.9x at 19x19 and 56x56; strided input gradient (scatter
// form) 1.8-2.6x against the phase-gather rows, measured up to 112x112.
bool use_blocked(const Conv2dParams& p, Pass pass) {
  if (rows<float>().to_tile == nullptr) return false;  // not AVX-512
  if (pass == Pass::kWeight) return true;
  const int64_t area = p.in_h * p.in_w;
  const bool strided = p.stride_h > 1 || p.stride_w > 1;
  if (pass == Pass::kInput) return area <= (strided ? 112 * 112 : 256);
  return area <= (strided ? 112 * 112 : 28 * 28);
}

template <class T>
void blocked_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p,
                     Epilogue epilogue) {
  const Geometry geo(p);
  const int64_t C = geo.C, M = geo.M, taps = geo.taps, blocks = geo.blocks;
  const int64_t hp = geo.hp, wp = geo.wp;
  const std::vector<int64_t>&pos = geo.pos, &dense = geo.dense, &offsets = geo.offsets;
  const auto& ops = rows<T>();
  const auto sum = tile_sum<T>(taps);
#pragma omp parallel num_threads(num_threads())
  {
  T* in = workspace_as<T>(Slot::DepthwisePlane, hp * wp * L);
  std::fill(in, in + hp * wp * L, T(0));  // the padding, written once
  T* out = workspace_as<T>(Slot::DepthwiseRows, p.out_pixels() * L);
  T* wt = workspace_as<T>(Slot::DepthwiseWeights, (M * taps + M) * L);
  T* init = wt + M * taps * L;
  int64_t loaded = -1;
#pragma omp for schedule(static)
  for (int64_t item = 0; item < blocks * p.batch; ++item) {
    const int64_t b = item / p.batch, n = item % p.batch;
    const int64_t c0 = b * L, count = std::min(L, C - c0);
    if (b != loaded) {
      weights_tile(wt, w, bias, c0, count, M, taps);
      loaded = b;
    }
    ops.to_tile(in, pos.data(), x + (n * C + c0) * p.in_pixels(), p.in_pixels(), count,
                p.in_pixels());
    for (int64_t j = 0; j < M; ++j) {
      sum(out, p.out_h, p.out_w, init + j * L, in, p.stride_h * wp, p.stride_w, offsets.data(),
          wt + j * taps * L, taps);
      T* dst = y + (n * p.out_channels + c0 * M + j) * p.out_pixels();
      ops.from_tile(dst, M * p.out_pixels(), count, out, dense.data(), p.out_pixels());
      if (epilogue != Epilogue::kNone)
        for (int64_t l = 0; l < count; ++l) {
          T* plane = dst + l * M * p.out_pixels();
          finish_row(plane, plane, p.out_pixels(), T(0), epilogue);
        }
    }
  }
  }
}

namespace {

// Strided: the scatter form of the adjoint. Per (image, block) the padded tile is zeroed, every
// grad_y pixel adds w * g to the nine (kh*kw) tile pixels its window covered, for each j, and
// the image cells are transposed out (the padding cropped).
template <class T>
void backward_input_scatter(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p) {
  const Geometry geo(p);
  const int64_t C = geo.C, M = geo.M, taps = geo.taps, blocks = geo.blocks;
  const int64_t hp = geo.hp, wp = geo.wp;
  const std::vector<int64_t>&pos = geo.pos, &dense = geo.dense, &offsets = geo.offsets;
  const auto& ops = rows<T>();
  const auto scatter = taps == 9 ? ops.tile_scatter_9 : ops.tile_scatter_any;
#pragma omp parallel num_threads(num_threads())
  {
  T* in = workspace_as<T>(Slot::DepthwisePlane, hp * wp * L);
  T* g = workspace_as<T>(Slot::DepthwiseRows, p.out_pixels() * L);
  T* wt = workspace_as<T>(Slot::DepthwiseWeights, (M * taps + M) * L);
  int64_t loaded = -1;
#pragma omp for schedule(static)
  for (int64_t item = 0; item < blocks * p.batch; ++item) {
    const int64_t b = item / p.batch, n = item % p.batch;
    const int64_t c0 = b * L, count = std::min(L, C - c0);
    if (b != loaded) {
      weights_tile(wt, w, static_cast<const T*>(nullptr), c0, count, M, taps);
      loaded = b;
    }
    std::fill(in, in + hp * wp * L, T(0));
    for (int64_t j = 0; j < M; ++j) {
      ops.to_tile(g, dense.data(), grad_y + (n * p.out_channels + c0 * M + j) * p.out_pixels(),
                  M * p.out_pixels(), count, p.out_pixels());
      scatter(in, g, p.out_h, p.out_w, p.stride_h * wp, p.stride_w, offsets.data(),
              wt + j * taps * L, taps);
    }
    ops.from_tile(grad_x + (n * C + c0) * p.in_pixels(), p.in_pixels(), count, in, pos.data(),
                  p.in_pixels());
  }
  }
}

// Stride 1: the gather (forward) form on grad_y (see the file comment).
template <class T>
void backward_input_gather(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p) {
  const int64_t C = p.in_channels, M = multiplier(p), taps = p.kernel_h * p.kernel_w;
  const int64_t blocks = (C + L - 1) / L;
  // grad_y at (top, lead) of a tile padded by the kernel's reach on every side: tap (i, k) of
  // grad_x pixel (iy, ix) reads tile pixel (iy + pad_top - i*dh + top, ix + pad_left - k*dw +
  // lead), inside the tile and zero outside grad_y
  const int64_t top = (p.kernel_h - 1) * p.dilation_h, lead = (p.kernel_w - 1) * p.dilation_w;
  const int64_t ht = p.out_h + 2 * top, wt_ = p.out_w + 2 * lead, tile = ht * wt_;
  const std::vector<int64_t> pos = positions(p.out_h, p.out_w, top, lead, wt_);
  const std::vector<int64_t> dense = positions(p.in_h, p.in_w, 0, 0, p.in_w);
  std::vector<int64_t> offsets;
  for (int64_t j = 0; j < M; ++j)
    for (int64_t i = 0; i < p.kernel_h; ++i)
      for (int64_t k = 0; k < p.kernel_w; ++k)
        offsets.push_back(j * tile + (p.pad_top - i * p.dilation_h + top) * wt_ + p.pad_left -
                          k * p.dilation_w + lead);
  const auto& ops = rows<T>();
  const auto sum = tile_sum<T>(M * taps);
#pragma omp parallel num_threads(num_threads())
  {
  T* in = workspace_as<T>(Slot::DepthwiseGrad, M * tile * L);
  std::fill(in, in + M * tile * L, T(0));
  T* out = workspace_as<T>(Slot::DepthwiseRows, p.in_pixels() * L);
  T* wt = workspace_as<T>(Slot::DepthwiseWeights, (M * taps + M) * L);
  const T* zero = wt + M * taps * L;  // the "bias" tiles of no bias
  int64_t loaded = -1;
#pragma omp for schedule(static)
  for (int64_t item = 0; item < blocks * p.batch; ++item) {
    const int64_t b = item / p.batch, n = item % p.batch;
    const int64_t c0 = b * L, count = std::min(L, C - c0);
    if (b != loaded) {
      weights_tile(wt, w, static_cast<const T*>(nullptr), c0, count, M, taps);
      loaded = b;
    }
    for (int64_t j = 0; j < M; ++j)
      ops.to_tile(in + j * tile * L, pos.data(),
                  grad_y + (n * p.out_channels + c0 * M + j) * p.out_pixels(),
                  M * p.out_pixels(), count, p.out_pixels());
    sum(out, p.in_h, p.in_w, zero, in, wt_, 1, offsets.data(), wt, M * taps);
    ops.from_tile(grad_x + (n * C + c0) * p.in_pixels(), p.in_pixels(), count, out,
                  dense.data(), p.in_pixels());
  }
  }
}

}  // namespace

template <class T>
void blocked_backward_input(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p) {
  if (p.stride_h == 1 && p.stride_w == 1)
    backward_input_gather(grad_x, grad_y, w, p);
  else
    backward_input_scatter(grad_x, grad_y, w, p);
}

template <class T>
void blocked_backward_weight(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p) {
  const Geometry geo(p);
  const int64_t C = geo.C, M = geo.M, taps = geo.taps, blocks = geo.blocks;
  const int64_t hp = geo.hp, wp = geo.wp;
  const std::vector<int64_t>&pos = geo.pos, &dense = geo.dense, &offsets = geo.offsets;
  const auto& ops = rows<T>();
  const auto dots = taps == 9 ? ops.tile_dots_9 : ops.tile_dots_any;
#pragma omp parallel num_threads(num_threads())
  {
  T* in = workspace_as<T>(Slot::DepthwisePlane, hp * wp * L);
  std::fill(in, in + hp * wp * L, T(0));
  T* g = workspace_as<T>(Slot::DepthwiseRows, p.out_pixels() * L);
  T* acc = workspace_as<T>(Slot::DepthwiseWeights, M * taps * L);
#pragma omp for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c0 = b * L, count = std::min(L, C - c0);
    std::fill(acc, acc + M * taps * L, T(0));
    for (int64_t n = 0; n < p.batch; ++n) {
      ops.to_tile(in, pos.data(), x + (n * C + c0) * p.in_pixels(), p.in_pixels(), count,
                  p.in_pixels());
      for (int64_t j = 0; j < M; ++j) {
        ops.to_tile(g, dense.data(), grad_y + (n * p.out_channels + c0 * M + j) * p.out_pixels(),
                    M * p.out_pixels(), count, p.out_pixels());
        dots(acc + j * taps * L, g, p.out_h, p.out_w, in, p.stride_h * wp, p.stride_w,
             offsets.data(), taps);
      }
    }
    for (int64_t e = 0; e < M * taps; ++e)
      for (int64_t l = 0; l < count; ++l) grad_w[(c0 + l) * M * taps + e] = acc[e * L + l];
  }
  }
}

template void blocked_forward<float>(float*, const float*, const float*, const float*,
                                     const Conv2dParams&, Epilogue);
template void blocked_backward_input<float>(float*, const float*, const float*,
                                            const Conv2dParams&);
template void blocked_backward_weight<float>(float*, const float*, const float*,
                                             const Conv2dParams&);

}  // namespace faltung::depthwise
