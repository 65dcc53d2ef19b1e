// Direct convolution with the batch along the vectors, for layers with few output channels
// (LeNet-5: 6 and 16), where the GEMM's 8 x 32 register tile runs mostly empty or its gathered
// panels cost as much as the arithmetic. float32 on AVX-512 only (conv2d_direct_avx512.cpp);
// elsewhere the table stays empty and conv2d keeps its GEMM paths (conv2d_direct.cpp chooses).
//
// Layout "lanes": kDirectLanes images side by side, element (c, y, x) of image n at
// ((c * rows + y) * cols + x) * kDirectLanes + n, so that one vector holds one pixel of
// kDirectLanes images and every tap of a kernel is a plain vector load.
// Taps are numbered (i, c, j) (kernel row outermost), so the taps that read real (not padding)
// rows for one output row are one contiguous range [row_lo, row_hi).
//   to_lanes:      dst[(y * row_stride + x) * L + n] = src[n * image_stride + y * w + x] for
//                  y < h, x < w, n < images; lanes n >= images are set to 0
//   from_lanes:    dst[n * image_stride + k] = epilogue(src[k * L + n] + bias) for k < pixels,
//                  n < images
//   forward:       out[(o * pixels + q) * L + n] = sum over taps t in [row_lo, row_hi) of output
//                  row q / out_w of w[o * taps + t] * x[pix_off[q] + tap_off[t] + n]
//                  (w packed by o blocks: block [o0, o0 + mr) at w + o0 * taps as [t][mr])
//   weight:        acc[(o * taps + t) * L + n] += sum over q < pixels of
//                  g[(o * pixels + q) * L + n] * x[pix_off[q] + tap_off[t] + n]
#pragma once
#include <cstdint>

#include "faltung/conv2d.hpp"

namespace faltung::cpu {

constexpr int64_t kDirectLanes = 16;
constexpr int64_t kDirectMaxRows = 8;  // output channels of one register tile

// One call's geometry, in the lanes layout (offsets count floats).
struct DirectGeometry {
  int64_t out_channels, taps, pixels, out_w;
  int64_t mr;                        // output channels per register tile (<= kDirectMaxRows)
  const int64_t* pix_off;            // [pixels]: where output pixel q's window starts
  const int64_t* tap_off;            // [taps]: where tap t sits in a window
  const int64_t *row_lo, *row_hi;    // [out_h]: the taps reading real rows (forward)
};

struct DirectKernels {
  void (*to_lanes)(float* dst, int64_t row_stride, const float* src, int64_t image_stride,
                   int64_t images, int64_t h, int64_t w) = nullptr;
  void (*from_lanes)(float* dst, int64_t image_stride, int64_t images, const float* src,
                     int64_t pixels, float bias, Epilogue epilogue) = nullptr;
  void (*forward)(float* out, const float* x, const float* w, const DirectGeometry& g) = nullptr;
  void (*weight)(float* acc, const float* g, const float* x, const DirectGeometry& geo) = nullptr;
};

// Fills the table and returns true, or returns false when built without AVX-512.
bool avx512_direct_kernels(DirectKernels* f32);

}  // namespace faltung::cpu

namespace faltung::conv {

// Whether the direct path takes this float32 layer (AVX-512, few output channels, a batch
// that fills the lanes), and the passes on it.
bool use_direct_forward(const Conv2dParams& p);
bool use_direct_weight(const Conv2dParams& p);
void forward_direct(float* y, const float* x, const float* w, const float* bias,
                    const Conv2dParams& p, Epilogue epilogue);
void backward_weight_direct(float* grad_w, const float* grad_y, const float* x,
                            const Conv2dParams& p);

}  // namespace faltung::conv
