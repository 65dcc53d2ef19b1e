// The depthwise 3x3 stride-2 forward straight on NCHW rows, float32 on AVX-512 (chosen by
// use_stride2, measured): 16 output pixels of one row at a time. For
// each of the three input rows they read, two loads of 32 consecutive input pixels from column
// b = 2*ox0 - pad_left are split into their even and odd columns by two permutes (taps k = 0
// and 1) and the even ones shifted by one lane, the 33rd pixel shifted in (tap k = 2): three
// vectors, three FMAs. Columns outside the image are read as zeros (masked loads at a row's
// ends), rows outside it are skipped: the zero padding. No padded copy and no transpose: the
// channel-blocked tiles (depthwise_blocked.cpp) transpose the whole input plane, four times the
// output's size, for a stride-2 layer. Per (n, oc): y = bias + sum_t w[oc, t] * x[n, oc / M]
// at the tap, threaded over the output planes. (The weight gradient in the same form measured
// 0.7-0.8x the tiles and is not built: docs/performance.md, depthwise speed change 15.)
#pragma once
#include <cstdint>

#include "epilogue.hpp"
#include "faltung/params.hpp"

namespace faltung::cpu {

constexpr int kStride2Lanes = 16;

// One plane's geometry (3x3 kernel, stride 2, dilation 1, pad_left 0 or 1).
struct Stride2Plane {
  int64_t in_h, in_w, out_h, out_w, pad_top, pad_left;
};
// sum: out[oy, ox] = init + sum over the taps (i, k) inside the image of w[i*3 + k] *
//      x[2*oy - pad_top + i, 2*ox - pad_left + k] (per kernel row, the rows then added)
using Stride2SumFn = void (*)(float* out, const float* x, const float* w, float init,
                              const Stride2Plane& g);
struct DepthwiseStride2 {
  Stride2SumFn sum = nullptr;
};

// Fills the table and returns true, or returns false when built without AVX-512.
bool avx512_depthwise_stride2(DepthwiseStride2* f32);

}  // namespace faltung::cpu

namespace faltung::depthwise {

// The forward of a 3x3, stride-2, dilation-1 layer with pad_left <= 1 whose output rows fill at
// least 7/8 of their vectors' lanes, float32 on AVX-512 (where it measured faster than the
// tiles: docs/performance.md, depthwise speed change 15).
bool use_stride2(const Conv2dParams& p);

void stride2_forward(float* y, const float* x, const float* w, const float* bias,
                     const Conv2dParams& p, Epilogue epilogue);

}  // namespace faltung::depthwise
