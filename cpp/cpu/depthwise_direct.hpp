// The depthwise 3x3 forward straight on NCHW rows, stride 1 or 2, the stride-1 input gradient
// as the same sum over grad_y, the stride-2 input gradient in gather form (taps split by the
// parity of the grad_x row and column, even and odd columns interleaved by two permutes), and
// the stride-1 weight gradient's dot products over the same loads, float32 on AVX-512 (chosen
// by use_direct, use_direct_input and use_direct_weight,
// measured): 16 output pixels of one row at a time, three chains of three FMAs,
// no padded copy and no transpose. Stride 1: the three taps of an input row are three
// unaligned loads at columns b, b+1, b+2 (b = ox0 - pad_left). Stride 2: two loads of 32
// consecutive pixels from column b = 2*ox0 - pad_left are split into their even and odd columns
// by two permutes (taps k = 0 and 1) and the even ones shifted by one lane, the 33rd pixel
// shifted in (tap k = 2). Columns outside the image are read as zeros (masked loads at a row's
// ends), rows outside it are skipped: the zero padding. The row form (depthwise.cpp) copies
// every plane into a padded buffer first; the channel-blocked tiles (depthwise_blocked.cpp)
// transpose it, for a stride-2 layer four times the output's size. Per (n, oc): y = bias +
// sum_t w[oc, t] * x[n, oc / M] at the tap, threaded over the output planes. (The stride-2
// weight gradient in this form measured 0.7-0.8x the tiles and is not built:
// docs/performance.md, depthwise speed change 15.)
// Flat planes (stride 1, padding 1 on every side, 3x3, planes of 196 pixels or more and fewer
// than 64 columns; speed change 19): the plane read as one run of h*w pixels, 16 at a time;
// the three kernel rows are three streams at flat offsets q - w, q, q + w (loads masked to the
// plane at its first and last vectors: the zero rows), their taps k = 0 and 2 the stream shifted
// by one lane with the neighbouring vector's end shifted in (valignd), zeroed in column 0 or
// w-1: 3 loads, 6 shifts, 9 FMAs per 16 pixels, no transpose, no padded copy. Forward, input
// gradient (multiplier 1, rotated kernel) and weight gradient (nine accumulators per output
// channel over the whole batch).
#pragma once
#include <cstdint>

#include "depthwise_blocked.hpp"
#include "epilogue.hpp"
#include "faltung/params.hpp"

namespace faltung::cpu {

constexpr int kDirectLanes = 16;

// One plane's geometry (3x3 kernel, dilation 1, pad_left 0 or 1).
struct DirectPlane {
  int64_t in_h, in_w, out_h, out_w, pad_top, pad_left;
};
// out[oy, ox] = init + sum over the taps (i, k) inside the image of w[i*3 + k] *
// x[s*oy - pad_top + i, s*ox - pad_left + k] (per kernel row, the rows then added), s = 1 or 2
using DirectSumFn = void (*)(float* out, const float* x, const float* w, float init,
                             const DirectPlane& g);
// acc[t * 16 + l] += sum over the output pixels q = l mod 16 of g[q] times tap t's input pixel
// (0 outside the image); dots stride 1, dots2 stride 2
using DirectDotsFn = void (*)(float* acc, const float* g, const float* x, const DirectPlane& d);
// Stride-2 input gradient: x is grad_y (out_h x out_w), out grad_x (in_h x in_w); gx[iy, ix] =
// sum over (i, k) with iy + pad_top - i and ix + pad_left - k even, inside grad_y, of w[i*3+k] *
// gy[(iy + pad_top - i) / 2, (ix + pad_left - k) / 2]
using DirectInputFn = void (*)(float* gx, const float* gy, const float* w, const DirectPlane& g);
// A plane of h x w pixels read flat (stride 1, 3x3, padding 1 on every side), with
// kFlatMasks masks per vector of 16 pixels q = 16v .. at edges + kFlatMasks*v: the pixels not
// in column 0, those not in column w-1, the lanes of the three kernel rows' next loads (flat
// offsets q + 16 + (r-1)*w, r = 0, 1, 2) inside the plane, the pixels inside the plane.
constexpr int kFlatMasks = 6;
struct FlatPlane {
  int64_t h, w;
  const uint16_t* edges;
};
// out[q] = init + sum over the taps inside the image of w[t] * x at tap t of pixel q
using FlatSumFn = void (*)(float* out, const float* x, const float* w, float init,
                           const FlatPlane& f);
// gw[t] = sum over the images i < batch and their pixels q of g[i * g_step + q] times tap t of
// pixel q in the plane x + i * x_step
using FlatWeightFn = void (*)(float* gw, const float* g, int64_t g_step, const float* x,
                              int64_t x_step, int64_t batch, const FlatPlane& f);
struct DepthwiseDirect {
  DirectSumFn stride1 = nullptr, stride2 = nullptr;
  DirectDotsFn dots = nullptr;
  DirectInputFn input2 = nullptr;
  FlatSumFn flat = nullptr;
  FlatWeightFn flat_weight = nullptr;
  DirectDotsFn dots2 = nullptr;
};

// Fills the table and returns true, or returns false when built without AVX-512.
bool avx512_depthwise_direct(DepthwiseDirect* f32);

}  // namespace faltung::cpu

namespace faltung::depthwise {

// The forward of a 3x3, dilation-1 layer with stride 1 (at least 64 output columns) or 2 and
// pad_left <= 1 whose output rows fill at least 7/8 of their vectors' lanes, float32 on
// AVX-512 (where it measured faster than the tiles and the row form: docs/performance.md,
// depthwise speed changes 15 and 16).
bool use_direct(const Conv2dParams& p);

void direct_forward(float* y, const float* x, const float* w, const float* bias,
                    const Conv2dParams& p, Epilogue epilogue);

// Multiplier 1. Stride 1: pad_left 1 or 2, pad_top <= 2 (the rotated kernel's padding 2 - pad
// must be 0 or 1 on the left and not negative on top), input rows of at least 64 columns
// filling 7/8 of their vectors (docs/performance.md, depthwise speed change 16). Stride 2:
// pad_left <= 1, at least 112 input columns, the gather form (speed change 18).
bool use_direct_input(const Conv2dParams& p);
void direct_backward_input(float* grad_x, const float* grad_y, const float* w,
                           const Conv2dParams& p);

// The stride-1 weight gradient under use_direct's rule with at least 112 output columns (speed
// change 17): per output channel, lane partial sums over the batch, added up once per weight
// (threads split the channels: no reduction, independent of the thread count).
bool use_direct_weight(const Conv2dParams& p);
void direct_backward_weight(float* grad_w, const float* grad_y, const float* x,
                            const Conv2dParams& p);

// Stride 1, 3x3, dilation 1, padding 1 on every side, fewer than 64 output columns, float32 on
// AVX-512: the flat-plane form (docs/performance.md, depthwise speed change 19), forward,
// input gradient (multiplier 1) and weight gradient.
bool use_flat(const Conv2dParams& p, Pass pass);
void flat_forward(float* y, const float* x, const float* w, const float* bias,
                  const Conv2dParams& p, Epilogue epilogue);
void flat_backward_input(float* grad_x, const float* grad_y, const float* w,
                         const Conv2dParams& p);
void flat_backward_weight(float* grad_w, const float* grad_y, const float* x,
                          const Conv2dParams& p);

}  // namespace faltung::depthwise
