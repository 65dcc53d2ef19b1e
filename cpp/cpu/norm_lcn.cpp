// The lecture's local contrast normalization (seed 000, "Lokale Kontrastadaption"): each
// position's vector of C channel values is scaled to unit variance about zero (no mean is
// subtracted, as in the notes' formula), x as (N, C, S):
//   r = 1 / sqrt(sum_c x_c^2 / (C - 1) + eps),   y_c = x_c * r
//   grad_x_i = g_i r - x_i r^3 / (C - 1) * sum_c g_c x_c
// A thread takes one image's tile of kTile pixels; the channel sums run along the pixels
// (contiguous, vectorised) in double accumulators on the stack.
#include <algorithm>
#include <cmath>

#include "faltung/norm.hpp"
#include "faltung/threads.hpp"

namespace faltung {
namespace {

constexpr int64_t kTile = 256;

template <class F>
void for_each_tile(const LcnParams& p, F&& f) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  const int64_t tiles = (S + kTile - 1) / kTile;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t item = 0; item < p.shape.batch * tiles; ++item) {
    const int64_t n = item / tiles, s0 = (item % tiles) * kTile;
    f(n * C * S + s0, std::min(kTile, S - s0));
  }
}

// acc[i] += a[c][i] * b[c][i] over all channels (rows S apart).
template <class T>
void channel_dot(double* acc, const T* a, const T* b, int64_t width, const LcnParams& p) {
  std::fill(acc, acc + width, 0.0);
  for (int64_t c = 0; c < p.shape.channels; ++c) {
    const T* u = a + c * p.shape.spatial;
    const T* v = b + c * p.shape.spatial;
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) acc[i] += static_cast<double>(u[i]) * static_cast<double>(v[i]);
  }
}

}  // namespace

template <class T>
void lcn_forward(T* y, const T* x, const LcnParams& p) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  const double dof = static_cast<double>(C - 1);
  for_each_tile(p, [&](int64_t offset, int64_t width) {
    double squares[kTile];
    T r[kTile];
    channel_dot(squares, x + offset, x + offset, width, p);
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) r[i] = static_cast<T>(1.0 / std::sqrt(squares[i] / dof + p.eps));
    for (int64_t c = 0; c < C; ++c) {
      const T* in = x + offset + c * S;
      T* out = y + offset + c * S;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) out[i] = in[i] * r[i];
    }
  });
}

template <class T>
void lcn_backward(T* grad_x, const T* grad_y, const T* x, const LcnParams& p) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  const double dof = static_cast<double>(C - 1);
  for_each_tile(p, [&](int64_t offset, int64_t width) {
    double squares[kTile], dots[kTile];
    T a[kTile], b[kTile];
    channel_dot(squares, x + offset, x + offset, width, p);
    channel_dot(dots, grad_y + offset, x + offset, width, p);
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) {
      const double r = 1.0 / std::sqrt(squares[i] / dof + p.eps);
      a[i] = static_cast<T>(r);
      b[i] = static_cast<T>(-r * r * r * dots[i] / dof);
    }
    for (int64_t c = 0; c < C; ++c) {
      const T* g = grad_y + offset + c * S;
      const T* in = x + offset + c * S;
      T* out = grad_x + offset + c * S;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) out[i] = g[i] * a[i] + in[i] * b[i];
    }
  });
}

template void lcn_forward<float>(float*, const float*, const LcnParams&);
template void lcn_forward<double>(double*, const double*, const LcnParams&);
template void lcn_backward<float>(float*, const float*, const float*, const LcnParams&);
template void lcn_backward<double>(double*, const double*, const double*, const LcnParams&);

}  // namespace faltung
