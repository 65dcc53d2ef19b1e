// Geometry of a 2-D convolution (NCHW input, OIHW weight) and its validated construction.
// make_conv2d_params is the one place in C++ that checks a geometry and derives the output
// size; the kernels trust a Conv2dParams that it built. The Python layer has its own twin
// (python/faltung/_params.py) because the Numba backend needs it without the C++ module.
#pragma once
#include <cstdint>

namespace faltung {

struct Conv2dParams {
  int64_t batch, in_channels, in_h, in_w;
  int64_t out_channels, kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_bottom, pad_left, pad_right;
  int64_t dilation_h, dilation_w;
  int64_t groups;
  int64_t out_h, out_w;  // derived

  int64_t in_channels_per_group() const { return in_channels / groups; }
  int64_t out_channels_per_group() const { return out_channels / groups; }
  // Rows of the im2col matrix of one group: (c, kh, kw) in Caffe's order.
  int64_t col_rows() const { return in_channels_per_group() * kernel_h * kernel_w; }
  int64_t out_pixels() const { return out_h * out_w; }
  int64_t in_pixels() const { return in_h * in_w; }
  // A 1x1, stride-1, unpadded convolution is a plain GEMM on the input: no im2col needed.
  bool is_pointwise() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
           pad_bottom == 0 && pad_left == 0 && pad_right == 0;
  }
};

// Validates every field (throws std::invalid_argument naming the argument, what was expected
// and what came) and derives out_h/out_w.
Conv2dParams make_conv2d_params(int64_t batch, int64_t in_channels, int64_t in_h, int64_t in_w,
                                int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                                int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                int64_t pad_bottom, int64_t pad_left, int64_t pad_right,
                                int64_t dilation_h, int64_t dilation_w, int64_t groups);

}  // namespace faltung
