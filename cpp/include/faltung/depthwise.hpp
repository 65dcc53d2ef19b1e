// Depthwise convolution: every input channel c convolved with its own M kernels (the channel
// multiplier), output channel c*M + j; and its backward passes. Layout NCHW, weight
// (C*M, 1, kh, kw). The geometry is a conv2d with groups = C (Conv2dParams, M = out/in
// channels), so stride, padding and dilation mean what they mean there. Direct kernels, never a
// grouped im2col (cpp/cpu/depthwise.cpp says how). The bias gradient is conv2d_backward_bias.
// Outputs first, then inputs, then the params; every kernel overwrites its output.
#pragma once
#include "faltung/conv2d.hpp"
#include "faltung/params.hpp"

namespace faltung {

// True when p is a depthwise geometry: one input channel per group, groups = in_channels.
inline bool is_depthwise(const Conv2dParams& p) {
  return p.groups == p.in_channels && p.in_channels_per_group() == 1;
}

// y = epilogue(depthwise(x, w) + bias); bias may be null.
template <class T>
void depthwise_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p,
                       Epilogue epilogue = Epilogue::kNone);

// grad_x = the adjoint of depthwise_forward (without bias) applied to grad_y.
template <class T>
void depthwise_backward_input(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p);

// grad_w[c*M + j, 0, i, k] = sum over images and output pixels of grad_y * the input it read.
template <class T>
void depthwise_backward_weight(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p);

}  // namespace faltung
