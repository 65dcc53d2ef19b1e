// Local response normalization (PyTorch's semantics), forward and backward, x as (N, C, S):
//   y_c = x_c * (k + alpha/size * sum_{j = c - size/2}^{c + (size-1)/2} x_j^2)^-beta
// (zero outside [0, C)). A thread takes one image's tile of kLrnTile pixels at a time, all
// channels; d and d^-beta of the tile live in the NormTile workspace (2 x C x kLrnTile). The
// tile arithmetic is norm_kernels.inl's lrn_tile, the widest variant the CPU runs.
#include <algorithm>

#include "faltung/norm.hpp"
#include "faltung/threads.hpp"
#include "norm_kernels.hpp"

namespace faltung {
namespace {

using cpu::kLrnTile;

// The forward (grad_y null) or the input gradient, tile by tile in parallel.
template <class T>
void lrn(T* result, const T* grad_y, const T* x, const LrnParams& p) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  const int64_t tiles = (S + kLrnTile - 1) / kLrnTile;
  const auto tile = cpu::norm_kernels<T>().lrn_tile;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t item = 0; item < p.shape.batch * tiles; ++item) {
    const int64_t image = item / tiles * C * S, s0 = item % tiles * kLrnTile;
    T* D = workspace_as<T>(Slot::NormTile, static_cast<size_t>(2 * C * kLrnTile));
    tile(result + image, grad_y ? grad_y + image : nullptr, x + image, s0,
         std::min(kLrnTile, S - s0), D, D + C * kLrnTile, p);
  }
}

}  // namespace

template <class T>
void lrn_forward(T* y, const T* x, const LrnParams& p) {
  lrn<T>(y, nullptr, x, p);
}

template <class T>
void lrn_backward(T* grad_x, const T* grad_y, const T* x, const LrnParams& p) {
  lrn<T>(grad_x, grad_y, x, p);
}

template void lrn_forward<float>(float*, const float*, const LrnParams&);
template void lrn_forward<double>(double*, const double*, const LrnParams&);
template void lrn_backward<float>(float*, const float*, const float*, const LrnParams&);
template void lrn_backward<double>(double*, const double*, const double*, const LrnParams&);

}  // namespace faltung
