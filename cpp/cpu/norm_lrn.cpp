// Local response normalization (PyTorch's semantics), forward and backward, x as (N, C, S):
//   d_c = k + alpha/size * sum_{j = c - size/2}^{c + (size-1)/2} x_j^2   (x_j = 0 outside [0, C))
//   y_c = x_c * d_c^-beta
//   grad_x_i = g_i d_i^-beta - (2 alpha beta / size) x_i sum_{c = i - (size-1)/2}^{i + size/2} g_c x_c d_c^(-beta-1)
// A thread takes one image's tile of kTile pixels at a time, all channels: the window sums run
// along the pixels (contiguous, vectorised) with double accumulators; d and d^-beta of the tile
// live in the NormTile workspace (2 x C x kTile). beta = 0.75 (AlexNet) avoids pow:
// d^-0.75 = r * sqrt(r) with r = 1/sqrt(d); other betas call std::pow per element.
#include <algorithm>
#include <cmath>

#include "faltung/norm.hpp"
#include "faltung/threads.hpp"

namespace faltung {
namespace {

constexpr int64_t kTile = 64;

// D[c][i] = d_c and P[c][i] = d_c^-beta for pixels s0 .. s0 + width of image xn.
template <class T>
void window_scales(T* D, T* P, const T* xn, int64_t s0, int64_t width, const LrnParams& p) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  const int64_t before = p.size / 2, after = (p.size - 1) / 2;
  const double a = p.alpha / static_cast<double>(p.size);
  const T minus_beta = static_cast<T>(-p.beta);
  double acc[kTile];
  for (int64_t c = 0; c < C; ++c) {
    std::fill(acc, acc + width, 0.0);
    for (int64_t j = std::max<int64_t>(0, c - before); j <= std::min(C - 1, c + after); ++j) {
      const T* row = xn + j * S + s0;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) {
        const double v = static_cast<double>(row[i]);
        acc[i] += v * v;
      }
    }
    T* d = D + c * kTile;
    T* q = P + c * kTile;
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) d[i] = static_cast<T>(p.k + a * acc[i]);
    if (p.beta == 0.75) {
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) {
        const T r = T(1) / std::sqrt(d[i]);
        q[i] = r * std::sqrt(r);
      }
    } else {
      for (int64_t i = 0; i < width; ++i) q[i] = std::pow(d[i], minus_beta);
    }
  }
}

// Calls f(n, s0, width, D, P) for every tile, in parallel.
template <class T, class F>
void for_each_tile(const T* x, const LrnParams& p, F&& f) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  const int64_t tiles = (S + kTile - 1) / kTile;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t item = 0; item < p.shape.batch * tiles; ++item) {
    const int64_t n = item / tiles, s0 = (item % tiles) * kTile;
    const int64_t width = std::min(kTile, S - s0);
    T* D = workspace_as<T>(Slot::NormTile, static_cast<size_t>(2 * C * kTile));
    T* P = D + C * kTile;
    window_scales(D, P, x + n * C * S, s0, width, p);
    f(n * C * S, s0, width, D, P);
  }
}

}  // namespace

template <class T>
void lrn_forward(T* y, const T* x, const LrnParams& p) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  for_each_tile(x, p, [&](int64_t image, int64_t s0, int64_t width, const T*, const T* P) {
    for (int64_t c = 0; c < C; ++c) {
      const T* in = x + image + c * S + s0;
      const T* q = P + c * kTile;
      T* out = y + image + c * S + s0;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) out[i] = in[i] * q[i];
    }
  });
}

template <class T>
void lrn_backward(T* grad_x, const T* grad_y, const T* x, const LrnParams& p) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  const int64_t before = p.size / 2, after = (p.size - 1) / 2;
  const double factor = 2.0 * p.alpha * p.beta / static_cast<double>(p.size);
  for_each_tile(x, p, [&](int64_t image, int64_t s0, int64_t width, T* D, const T* P) {
    // D becomes t_c = g_c x_c d_c^-beta / d_c
    for (int64_t c = 0; c < C; ++c) {
      const T* g = grad_y + image + c * S + s0;
      const T* in = x + image + c * S + s0;
      const T* q = P + c * kTile;
      T* t = D + c * kTile;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) t[i] = g[i] * in[i] * q[i] / t[i];
    }
    double acc[kTile];
    for (int64_t c = 0; c < C; ++c) {  // c: the input channel i of the formula
      std::fill(acc, acc + width, 0.0);
      for (int64_t j = std::max<int64_t>(0, c - after); j <= std::min(C - 1, c + before); ++j) {
        const T* t = D + j * kTile;
#pragma omp simd
        for (int64_t i = 0; i < width; ++i) acc[i] += static_cast<double>(t[i]);
      }
      const T* g = grad_y + image + c * S + s0;
      const T* in = x + image + c * S + s0;
      const T* q = P + c * kTile;
      T* out = grad_x + image + c * S + s0;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i)
        out[i] = static_cast<T>(static_cast<double>(g[i]) * q[i] -
                                factor * static_cast<double>(in[i]) * acc[i]);
    }
  });
}

template void lrn_forward<float>(float*, const float*, const LrnParams&);
template void lrn_forward<double>(double*, const double*, const LrnParams&);
template void lrn_backward<float>(float*, const float*, const float*, const LrnParams&);
template void lrn_backward<double>(double*, const double*, const double*, const LrnParams&);

}  // namespace faltung
