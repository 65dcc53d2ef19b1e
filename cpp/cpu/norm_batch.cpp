// Batch normalization, forward (training and evaluation) and backward, x as (N, C, S).
// A thread takes whole channels; a channel's N runs of S contiguous values are read once from
// memory for the statistics and again, now from L2 (a ResNet plane of 8 x 112 x 112 floats is
// 400 KB), for the output. Statistics: two passes (mean, then the mean of squared deviations)
// with double accumulators for both dtypes, so a large mean cannot cancel the variance away.
#include <cmath>

#include "faltung/norm.hpp"
#include "faltung/threads.hpp"

namespace faltung {
namespace {

struct Moments {
  double mean, var;  // var: biased (divided by N*S)
};

template <class T>
Moments moments(const T* x, int64_t c, const NormShape& s) {
  const int64_t S = s.spatial;
  double total = 0;
  for (int64_t n = 0; n < s.batch; ++n) {
    const T* run = x + (n * s.channels + c) * S;
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < S; ++i) sum += run[i];
    total += sum;
  }
  const double count = static_cast<double>(s.batch * S);
  const double mean = total / count;
  double squares = 0;
  for (int64_t n = 0; n < s.batch; ++n) {
    const T* run = x + (n * s.channels + c) * S;
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < S; ++i) {
      const double d = static_cast<double>(run[i]) - mean;
      sum += d * d;
    }
    squares += sum;
  }
  return {mean, squares / count};
}

// The mean as hi + lo in T: (x - hi) - lo keeps x - mean accurate in float when the mean is
// large against the spread (x - hi is exact for x near hi), at one extra subtraction.
template <class T>
struct SplitMean {
  T hi, lo;
  explicit SplitMean(double mean)
      : hi(static_cast<T>(mean)), lo(static_cast<T>(mean - static_cast<double>(hi))) {}
};

// y = (x - mean) * scale + shift over channel c.
template <class T>
void normalize_channel(T* y, const T* x, int64_t c, double mean, double scale, double shift,
                       const NormShape& s) {
  const SplitMean<T> m(mean);
  const T a = static_cast<T>(scale), b = static_cast<T>(shift);
  for (int64_t n = 0; n < s.batch; ++n) {
    const int64_t offset = (n * s.channels + c) * s.spatial;
    const T* in = x + offset;
    T* out = y + offset;
#pragma omp simd
    for (int64_t i = 0; i < s.spatial; ++i) out[i] = ((in[i] - m.hi) - m.lo) * a + b;
  }
}

// (sum of g, sum of g * (x - mean)) over channel c.
template <class T>
void gradient_sums(double& sum_g, double& sum_gx, const T* g, const T* x, int64_t c, double mean,
                   const NormShape& s) {
  sum_g = 0;
  sum_gx = 0;
  for (int64_t n = 0; n < s.batch; ++n) {
    const int64_t offset = (n * s.channels + c) * s.spatial;
    const T* gr = g + offset;
    const T* xr = x + offset;
    double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (int64_t i = 0; i < s.spatial; ++i) {
      const double gi = static_cast<double>(gr[i]);
      a += gi;
      b += gi * (static_cast<double>(xr[i]) - mean);
    }
    sum_g += a;
    sum_gx += b;
  }
}

// grad_x = g * a + (x - mean) * b + shift over channel c; x null: grad_x = g * a.
template <class T>
void input_gradient_channel(T* gx, const T* g, const T* x, int64_t c, double mean, double a,
                            double b, double shift, const NormShape& s) {
  const SplitMean<T> m(mean);
  const T ta = static_cast<T>(a), tb = static_cast<T>(b), tc = static_cast<T>(shift);
  for (int64_t n = 0; n < s.batch; ++n) {
    const int64_t offset = (n * s.channels + c) * s.spatial;
    const T* gr = g + offset;
    T* out = gx + offset;
    if (x) {
      const T* xr = x + offset;
#pragma omp simd
      for (int64_t i = 0; i < s.spatial; ++i) out[i] = gr[i] * ta + ((xr[i] - m.hi) - m.lo) * tb + tc;
    } else {
#pragma omp simd
      for (int64_t i = 0; i < s.spatial; ++i) out[i] = gr[i] * ta;
    }
  }
}

template <class T>
double weight_of(const T* weight, int64_t c) {
  return weight ? static_cast<double>(weight[c]) : 1.0;
}

}  // namespace

template <class T>
void batch_norm_forward_train(T* y, double* save_mean, double* save_invstd, T* running_mean,
                              T* running_var, const T* x, const T* weight, const T* bias,
                              const BatchNormParams& p) {
  const NormShape& s = p.shape;
  const double count = static_cast<double>(s.batch * s.spatial);
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t c = 0; c < s.channels; ++c) {
    const Moments m = moments(x, c, s);
    const double invstd = 1.0 / std::sqrt(m.var + p.eps);
    normalize_channel(y, x, c, m.mean, invstd * weight_of(weight, c),
                      bias ? static_cast<double>(bias[c]) : 0.0, s);
    save_mean[c] = m.mean;
    save_invstd[c] = invstd;
    if (running_mean) {
      const double keep = 1.0 - p.momentum;
      running_mean[c] = static_cast<T>(keep * running_mean[c] + p.momentum * m.mean);
      running_var[c] =
          static_cast<T>(keep * running_var[c] + p.momentum * m.var * count / (count - 1));
    }
  }
}

template <class T>
void batch_norm_forward_eval(T* y, const T* x, const T* running_mean, const T* running_var,
                             const T* weight, const T* bias, const BatchNormParams& p) {
  const NormShape& s = p.shape;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t c = 0; c < s.channels; ++c) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + p.eps);
    normalize_channel(y, x, c, static_cast<double>(running_mean[c]),
                      invstd * weight_of(weight, c), bias ? static_cast<double>(bias[c]) : 0.0, s);
  }
}

template <class T>
void batch_norm_backward_train(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_y,
                               const T* x, const double* mean, const double* invstd,
                               const T* weight, const BatchNormParams& p) {
  const NormShape& s = p.shape;
  const double count = static_cast<double>(s.batch * s.spatial);
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t c = 0; c < s.channels; ++c) {
    double mu, istd;
    if (mean) {
      mu = mean[c];
      istd = invstd[c];
    } else {
      const Moments m = moments(x, c, s);
      mu = m.mean;
      istd = 1.0 / std::sqrt(m.var + p.eps);
    }
    double sum_g, sum_gx;
    gradient_sums(sum_g, sum_gx, grad_y, x, c, mu, s);
    if (grad_weight) grad_weight[c] = static_cast<T>(sum_gx * istd);
    if (grad_bias) grad_bias[c] = static_cast<T>(sum_g);
    if (grad_x) {
      // gx = w * istd * (g - mean(g) - xhat * mean(g * xhat)), xhat = (x - mu) * istd
      const double a = weight_of(weight, c) * istd;
      input_gradient_channel(grad_x, grad_y, x, c, mu, a, -a * istd * istd * sum_gx / count,
                             -a * sum_g / count, s);
    }
  }
}

template <class T>
void batch_norm_backward_eval(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_y,
                              const T* x, const T* running_mean, const T* running_var,
                              const T* weight, const BatchNormParams& p) {
  const NormShape& s = p.shape;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t c = 0; c < s.channels; ++c) {
    const double mu = static_cast<double>(running_mean[c]);
    const double istd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + p.eps);
    if (grad_weight || grad_bias) {
      double sum_g, sum_gx;
      gradient_sums(sum_g, sum_gx, grad_y, x, c, mu, s);
      if (grad_weight) grad_weight[c] = static_cast<T>(sum_gx * istd);
      if (grad_bias) grad_bias[c] = static_cast<T>(sum_g);
    }
    if (grad_x)
      input_gradient_channel<T>(grad_x, grad_y, nullptr, c, mu, weight_of(weight, c) * istd, 0, 0, s);
  }
}

#define FALTUNG_INSTANTIATE(T)                                                                  \
  template void batch_norm_forward_train<T>(T*, double*, double*, T*, T*, const T*, const T*,   \
                                            const T*, const BatchNormParams&);                 \
  template void batch_norm_forward_eval<T>(T*, const T*, const T*, const T*, const T*,          \
                                           const T*, const BatchNormParams&);                  \
  template void batch_norm_backward_train<T>(T*, T*, T*, const T*, const T*, const double*,     \
                                             const double*, const T*, const BatchNormParams&); \
  template void batch_norm_backward_eval<T>(T*, T*, T*, const T*, const T*, const T*,           \
                                            const T*, const T*, const BatchNormParams&);
FALTUNG_INSTANTIATE(float)
FALTUNG_INSTANTIATE(double)
#undef FALTUNG_INSTANTIATE

}  // namespace faltung
