// Depthwise-separable convolution, forward (Keras's SeparableConv2D): the depthwise convolution
// of x (N, C, H, W) by dw (C*M, 1, kh, kw), then the pointwise (1x1) convolution by pw
// (O, C*M) and one bias (O,) (may be null), no activation in between. p is the depthwise
// geometry (faltung/depthwise.hpp); y is (N, O, out_h, out_w). The backward passes are
// compositions of the depthwise and conv2d kernels (python/faltung/functional/depthwise.py).
#pragma once
#include "faltung/params.hpp"

namespace faltung {

template <class T>
void separable_forward(T* y, const T* x, const T* dw, const T* pw, const T* bias,
                       const Conv2dParams& p, int64_t out_channels);

}  // namespace faltung
