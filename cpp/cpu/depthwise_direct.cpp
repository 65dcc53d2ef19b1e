// The depthwise 3x3 kernels on NCHW rows and flat planes (depthwise_direct.hpp): the choice and
// the drivers, threaded over the planes (weight gradients: over the output channels).
#include "depthwise_direct.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "depthwise_work.hpp"

namespace faltung::depthwise {
namespace {

const cpu::DepthwiseDirect& direct_table() {
  static const cpu::DepthwiseDirect table = [] {
    cpu::DepthwiseDirect t;
    if (std::string(gemm_kernel_name()) == "avx512") cpu::avx512_depthwise_direct(&t);
    return t;
  }();
  return table;
}

cpu::DirectPlane plane_of(const Conv2dParams& p) {
  return {p.in_h, p.in_w, p.out_h, p.out_w, p.pad_top, p.pad_left};
}

// Stride-2 input gradient (speed change 18): 1.4-2.0x the tiles' scatter with 112 input
// columns, 0.7-0.8x with 56 and 0.2-0.7x on smaller maps: from 112 columns.
// The 7/8 rule: the last vector of a row is partly empty; measured (speed changes 15, 16):
// stride 2 1.1-1.4x the tiles with 14, 28 and 56 output columns (7/8 of the lanes of a row's
// vectors in use), 0.9x with 20 (5/8), 0.3-0.5x with 4 and 7; stride 1 1.8-2.1x the row form
// with 74, 112 and 147 columns, 0.9x with 56 (smaller maps: the tiles).
bool fills_vectors(int64_t out_w) {
  constexpr int64_t L = cpu::kDirectLanes;
  return 8 * out_w >= 7 * L * ((out_w + L - 1) / L);
}

bool direct_3x3(const Conv2dParams& p) {
  return direct_table().stride2 != nullptr && p.kernel_h == 3 && p.kernel_w == 3 &&
         p.dilation_h == 1 && p.dilation_w == 1;
}

// Per output plane (n, oc): sum(out, x's plane (n, oc / M), oc's nine weights, bias), then
// the epilogue; threaded over the planes.
template <class Sum>
void forward_planes(float* y, const float* x, const float* w, const float* bias,
                    const Conv2dParams& p, Epilogue epilogue, const Sum& sum) {
  const int64_t M = multiplier(p);
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t plane = 0; plane < p.batch * p.out_channels; ++plane) {
    const int64_t n = plane / p.out_channels, oc = plane % p.out_channels;
    float* out = y + plane * p.out_pixels();
    sum(out, x + (n * p.in_channels + oc / M) * p.in_pixels(), w + oc * 9,
        bias != nullptr ? bias[oc] : 0.0f);
    if (epilogue != Epilogue::kNone) finish_row(out, out, p.out_pixels(), 0.0f, epilogue);
  }
}

// Multiplier 1, per plane (n, c) of grad_x: sum(out, grad_y's plane (n, c), c's kernel rotated
// by 180 degrees); threaded over the planes.
template <class Sum>
void rotated_planes(float* grad_x, const float* grad_y, const float* w, const Conv2dParams& p,
                    const Sum& sum) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t plane = 0; plane < p.batch * p.in_channels; ++plane) {
    const int64_t c = plane % p.in_channels;
    float rotated[9];
    for (int t = 0; t < 9; ++t) rotated[t] = w[c * 9 + 8 - t];
    sum(grad_x + plane * p.in_pixels(), grad_y + plane * p.out_pixels(), rotated);
  }
}

}  // namespace

bool use_direct(const Conv2dParams& p) {
  const bool stride1 = p.stride_h == 1 && p.stride_w == 1 && p.out_w >= 64;
  const bool stride2 = p.stride_h == 2 && p.stride_w == 2;
  return direct_3x3(p) && (stride1 || stride2) && p.pad_left <= 1 && fills_vectors(p.out_w);
}

// Measured against the tiles: stride 1 (speed change 17) 1.1-1.2x with 112 and 147 output
// columns, 0.75x with 74; stride 2 with the prefetch (speed change 22) 2.0-2.2x with 56, 1.0x
// with 28.
bool use_direct_weight(const Conv2dParams& p) {
  return use_direct(p) && p.out_w >= (p.stride_h == 1 ? 112 : 56);
}

bool use_direct_input(const Conv2dParams& p) {
  if (!direct_3x3(p) || multiplier(p) != 1) return false;
  if (p.stride_h == 2 && p.stride_w == 2) return p.pad_left <= 1 && p.in_w >= 112;
  return p.stride_h == 1 && p.stride_w == 1 && p.in_w >= 64 && p.pad_left >= 1 &&
         p.pad_left <= 2 && p.pad_top <= 2 && fills_vectors(p.in_w);
}

void direct_forward(float* y, const float* x, const float* w, const float* bias,
                    const Conv2dParams& p, Epilogue epilogue) {
  const cpu::DirectPlane g = plane_of(p);
  const auto sum = p.stride_h == 1 ? direct_table().stride1 : direct_table().stride2;
  forward_planes(y, x, w, bias, p, epilogue,
                 [&](float* out, const float* in, const float* k, float init) {
                   sum(out, in, k, init, g);
                 });
}

// grad_x[iy, ix] = sum over i, k of w[i, k] * grad_y[iy + pad_top - i, ix + pad_left - k]: the
// forward on grad_y with the kernel rotated by 180 degrees and padding 2 - pad.
void direct_backward_input(float* grad_x, const float* grad_y, const float* w,
                           const Conv2dParams& p) {
  if (p.stride_h == 2) {  // the gather form (speed change 18)
    const cpu::DirectPlane g = plane_of(p);
    const auto gather = direct_table().input2;
#pragma omp parallel for schedule(static) num_threads(num_threads())
    for (int64_t plane = 0; plane < p.batch * p.in_channels; ++plane)
      gather(grad_x + plane * p.in_pixels(), grad_y + plane * p.out_pixels(),
             w + (plane % p.in_channels) * 9, g);
    return;
  }
  const cpu::DirectPlane g{p.out_h, p.out_w, p.in_h, p.in_w, 2 - p.pad_top, 2 - p.pad_left};
  const auto sum = direct_table().stride1;
  rotated_planes(grad_x, grad_y, w, p, [&](float* out, const float* in, const float* k) {
    sum(out, in, k, 0.0f, g);
  });
}

// Each thread owns a contiguous range of output channels (their weights: no partial sums to
// reduce) and walks it image by image, so that its planes follow each other in memory as the
// stride-2 kernel's prefetch assumes (speed change 22); per channel the images are summed in
// order, the same sums for every thread count.
void direct_backward_weight(float* grad_w, const float* grad_y, const float* x,
                            const Conv2dParams& p) {
  constexpr int64_t L = cpu::kDirectLanes;
  const int64_t M = multiplier(p), threads = num_threads();
  const cpu::DirectPlane g = plane_of(p);
  const auto dots = p.stride_h == 1 ? direct_table().dots : direct_table().dots2;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t t = 0; t < threads; ++t) {
    const int64_t first = p.out_channels * t / threads, last = p.out_channels * (t + 1) / threads;
    float* acc = workspace_as<float>(Slot::DepthwiseWeights, 9 * L * (last - first));
    std::fill(acc, acc + 9 * L * (last - first), 0.0f);
    for (int64_t n = 0; n < p.batch; ++n)
      for (int64_t oc = first; oc < last; ++oc)
        dots(acc + 9 * L * (oc - first), grad_y + (n * p.out_channels + oc) * p.out_pixels(),
             x + (n * p.in_channels + oc / M) * p.in_pixels(), g);
    for (int64_t oc = first; oc < last; ++oc)
      for (int64_t t9 = 0; t9 < 9; ++t9) {
        const float* lanes = acc + 9 * L * (oc - first) + t9 * L;
        float sum = 0.0f;
        for (int64_t l = 0; l < L; ++l) sum += lanes[l];
        grad_w[oc * 9 + t9] = sum;
      }
  }
}

namespace {

// The masks of a flat plane's vectors (cpu::FlatPlane).
std::vector<uint16_t> flat_edges(int64_t h, int64_t w) {
  constexpr int64_t L = cpu::kDirectLanes;
  const int64_t n = h * w, count = (n + L - 1) / L;
  std::vector<uint16_t> edges(cpu::kFlatMasks * count, 0);
  for (int64_t v = 0; v < count; ++v) {
    uint16_t* m = edges.data() + cpu::kFlatMasks * v;
    for (int64_t l = 0; l < L; ++l) {
      const int64_t q = v * L + l;
      const uint16_t bit = uint16_t(1u << l);
      if (q % w != 0) m[0] |= bit;
      if (q % w != w - 1) m[1] |= bit;
      for (int64_t r = 0; r < 3; ++r) {
        const int64_t src = q + L + (r - 1) * w;
        if (src >= 0 && src < n) m[2 + r] |= bit;
      }
      if (q < n) m[5] |= bit;
    }
  }
  return edges;
}

}  // namespace

// Measured (speed change 19, one thread) against the previous forms: 1.5-2.8x on 56x56, 28x28
// and 19x19 maps in the forward and input gradient, 1.0-2.3x in the weight gradient, 1.3-1.6x
// on 14x14; 10x10 1.0x (weight gradient 0.86x), 7x7 0.7-0.8x (three of a plane's four vectors are
// edges, 49 of 64 lanes in use): from 196 pixels, below the 64 columns where the rows
// (use_direct) take over.
bool use_flat(const Conv2dParams& p, Pass pass) {
  const bool same = p.pad_top == 1 && p.pad_bottom == 1 && p.pad_left == 1 && p.pad_right == 1;
  return direct_table().flat != nullptr && direct_3x3(p) && p.stride_h == 1 && p.stride_w == 1 &&
         same && p.in_h * p.in_w >= 196 && p.out_w < 64 &&
         (pass != Pass::kInput || multiplier(p) == 1);
}

void flat_forward(float* y, const float* x, const float* w, const float* bias,
                  const Conv2dParams& p, Epilogue epilogue) {
  const std::vector<uint16_t> edges = flat_edges(p.in_h, p.in_w);
  const cpu::FlatPlane f{p.in_h, p.in_w, edges.data()};
  const auto sum = direct_table().flat;
  forward_planes(y, x, w, bias, p, epilogue,
                 [&](float* out, const float* in, const float* k, float init) {
                   sum(out, in, k, init, f);
                 });
}

// Multiplier 1: the forward on grad_y with the kernel rotated by 180 degrees (padding 1 stays 1).
void flat_backward_input(float* grad_x, const float* grad_y, const float* w,
                         const Conv2dParams& p) {
  const std::vector<uint16_t> edges = flat_edges(p.in_h, p.in_w);
  const cpu::FlatPlane f{p.in_h, p.in_w, edges.data()};
  const auto sum = direct_table().flat;
  rotated_planes(grad_x, grad_y, w, p, [&](float* out, const float* in, const float* k) {
    sum(out, in, k, 0.0f, f);
  });
}

// Threads split the output channels (no reduction, independent of the thread count).
void flat_backward_weight(float* grad_w, const float* grad_y, const float* x,
                          const Conv2dParams& p) {
  const int64_t M = multiplier(p);
  const std::vector<uint16_t> edges = flat_edges(p.in_h, p.in_w);
  const cpu::FlatPlane f{p.in_h, p.in_w, edges.data()};
  const auto weight = direct_table().flat_weight;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t oc = 0; oc < p.out_channels; ++oc)
    weight(grad_w + oc * 9, grad_y + oc * p.out_pixels(), p.out_channels * p.out_pixels(),
           x + (oc / M) * p.in_pixels(), p.in_channels * p.in_pixels(), p.batch, f);
}

}  // namespace faltung::depthwise
