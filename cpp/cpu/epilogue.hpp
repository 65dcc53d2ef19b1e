// The forward passes' last touch of an output row (conv2d, depthwise): add the bias and apply
// the epilogue (faltung/conv2d.hpp: nothing, or a ReLU) while the row is still in cache.
#pragma once
#include <cstdint>

#include "faltung/conv2d.hpp"

namespace faltung {

// dst[i] = epilogue(src[i] + bias) for i < count (dst may be src). The branch sits outside the
// loops so that each one vectorises; a NaN stays NaN under the ReLU, as in PyTorch.
template <class T>
void finish_row(T* dst, const T* src, int64_t count, T bias, Epilogue epilogue) {
  if (epilogue == Epilogue::kRelu) {
    for (int64_t i = 0; i < count; ++i) {
      const T value = src[i] + bias;
      dst[i] = value < T(0) ? T(0) : value;
    }
  } else {
    for (int64_t i = 0; i < count; ++i) dst[i] = src[i] + bias;
  }
}

}  // namespace faltung
