// 2-D convolution (cross-correlation, as in every deep-learning library) as GEMM, and its
// three backward passes (cpp/cpu/conv2d.cpp says which variant computes what). Layout NCHW, weight OIHW (out, in/groups, kh, kw).
// Outputs first, then inputs, then the params; every kernel overwrites its output.
#pragma once
#include "faltung/params.hpp"

namespace faltung {

// What the forward pass applies to every output after adding the bias, while the output is
// still in cache: nothing, or max(., 0) (a NaN stays NaN, as in PyTorch's relu).
enum class Epilogue { kNone, kRelu };

// y = epilogue(conv(x, w) + bias); bias may be null.
template <class T>
void conv2d_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p,
                    Epilogue epilogue = Epilogue::kNone);

// grad_x = W^T . grad_y, then col2im.
template <class T>
void conv2d_backward_input(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p);

// grad_w = sum over the batch of grad_y . col^T.
template <class T>
void conv2d_backward_weight(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p);

// grad_b[o] = sum of grad_y over batch and pixels.
template <class T>
void conv2d_backward_bias(T* grad_b, const T* grad_y, const Conv2dParams& p);

}  // namespace faltung
