// The channel-blocked form of the depthwise passes (depthwise_blocked.cpp), float32 with the
// AVX-512 tile operations only: always for the weight gradient, by plane size and stride for
// the forward and input gradient (use_blocked).
#pragma once
#include "epilogue.hpp"
#include "faltung/params.hpp"

namespace faltung::depthwise {

// Which pass asks (their rules differ: docs/performance.md, depthwise speed changes 7-9).
enum class Pass { kForward, kInput, kWeight };

// For float32 (the only type instantiated: float64 tiles measured 5-10x slower than rows).
bool use_blocked(const Conv2dParams& p, Pass pass);

template <class T>
void blocked_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p,
                     Epilogue epilogue);
// stride 1: the gather form; strided: the scatter form
template <class T>
void blocked_backward_input(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p);
template <class T>
void blocked_backward_weight(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p);

}  // namespace faltung::depthwise
