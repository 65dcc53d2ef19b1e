// The lecture's local contrast normalization (seed 000, "Lokale Kontrastadaption"): each
// position's vector of C channel values is scaled to unit variance about zero (no mean is
// subtracted, as in the notes' formula), x as (N, C, S):
//   y_c = x_c / sqrt(sum_c x_c^2 / (C - 1) + eps)
// A thread takes one image's tile of kLcnTile pixels at a time; the tile arithmetic is
// norm_kernels.inl's lcn_tile, the widest variant the CPU runs.
#include <algorithm>

#include "faltung/norm.hpp"
#include "faltung/threads.hpp"
#include "norm_kernels.hpp"

namespace faltung {
namespace {

using cpu::kLcnTile;

// The forward (grad_y null) or the input gradient, tile by tile in parallel.
template <class T>
void lcn(T* result, const T* grad_y, const T* x, const LcnParams& p) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  const int64_t tiles = (S + kLcnTile - 1) / kLcnTile;
  const auto tile = cpu::norm_kernels<T>().lcn_tile;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t item = 0; item < p.shape.batch * tiles; ++item) {
    const int64_t image = item / tiles * C * S, s0 = item % tiles * kLcnTile;
    tile(result + image, grad_y ? grad_y + image : nullptr, x + image, s0,
         std::min(kLcnTile, S - s0), p);
  }
}

}  // namespace

template <class T>
void lcn_forward(T* y, const T* x, const LcnParams& p) {
  lcn<T>(y, nullptr, x, p);
}

template <class T>
void lcn_backward(T* grad_x, const T* grad_y, const T* x, const LcnParams& p) {
  lcn<T>(grad_x, grad_y, x, p);
}

template void lcn_forward<float>(float*, const float*, const LcnParams&);
template void lcn_forward<double>(double*, const double*, const LcnParams&);
template void lcn_backward<float>(float*, const float*, const float*, const LcnParams&);
template void lcn_backward<double>(double*, const double*, const double*, const LcnParams&);

}  // namespace faltung
