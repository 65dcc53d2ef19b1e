// Batch normalization, forward (training and evaluation) and backward, x as (N, C, S).
// Training: a thread takes whole channels; a channel's N runs of S contiguous values are read
// once from memory for the mean, then from L2 (a ResNet plane of 8 x 112 x 112 floats is
// 400 KB) for the squared deviations and for the output. Statistics are two-pass (the mean,
// then the mean of squared deviations) in double accumulators for both dtypes, so a large
// mean cannot cancel the variance away. Evaluation needs no statistics and streams the runs in
// memory order. The inner loops are the run kernels of norm_kernels.hpp, the widest variant
// the CPU runs.
#include <cmath>

#include "faltung/norm.hpp"
#include "faltung/threads.hpp"
#include "norm_kernels.hpp"

namespace faltung {
namespace {

using cpu::NormKernels;

struct Moments {
  double mean, var;  // var: biased (divided by N*S)
};

int64_t run_offset(int64_t n, int64_t c, const NormShape& s) {
  return (n * s.channels + c) * s.spatial;
}

// Asks for run n of channel c + 1 (if any) to come into L2: a thread's next channel is then
// read from memory while the passes over this one run from L2. Without it, a plane of short
// runs far apart (8 runs of 56 x 56 floats, 3.2 MB apart) waits for the hardware prefetcher
// to ramp up on every run.
template <class T>
void prefetch_next(const T* array, int64_t n, int64_t c, const NormShape& s) {
  if (c + 1 >= s.channels) return;
  const char* run = reinterpret_cast<const char*>(array + run_offset(n, c + 1, s));
  const int64_t bytes = s.spatial * static_cast<int64_t>(sizeof(T));
  for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(run + b, 0, 2);
}

template <class T>
Moments moments(const NormKernels<T>& k, const T* x, int64_t c, const NormShape& s) {
  double total = 0;
  for (int64_t n = 0; n < s.batch; ++n) total += k.sum(x + run_offset(n, c, s), s.spatial);
  const double count = static_cast<double>(s.batch * s.spatial);
  const double mean = total / count;
  double squares = 0;
  for (int64_t n = 0; n < s.batch; ++n) {
    prefetch_next(x, n, c, s);
    squares += k.squares(x + run_offset(n, c, s), s.spatial, mean);
  }
  return {mean, squares / count};
}

template <class T>
double weight_of(const T* weight, int64_t c) {
  return weight ? static_cast<double>(weight[c]) : 1.0;
}

template <class T>
double bias_of(const T* bias, int64_t c) {
  return bias ? static_cast<double>(bias[c]) : 0.0;
}

}  // namespace

template <class T>
void batch_norm_forward_train(T* y, double* save_mean, double* save_invstd, T* running_mean,
                              T* running_var, const T* x, const T* weight, const T* bias,
                              const BatchNormParams& p) {
  const NormShape& s = p.shape;
  const NormKernels<T>& k = cpu::norm_kernels<T>();
  const double count = static_cast<double>(s.batch * s.spatial);
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t c = 0; c < s.channels; ++c) {
    const Moments m = moments(k, x, c, s);
    const double invstd = 1.0 / std::sqrt(m.var + p.eps);
    const double a = invstd * weight_of(weight, c), b = bias_of(bias, c);
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t offset = run_offset(n, c, s);
      k.affine(y + offset, x + offset, s.spatial, m.mean, a, b);
    }
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
  const NormKernels<T>& k = cpu::norm_kernels<T>();
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t run = 0; run < s.batch * s.channels; ++run) {
    const int64_t c = run % s.channels;
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + p.eps);
    k.affine(y + run * s.spatial, x + run * s.spatial, s.spatial,
             static_cast<double>(running_mean[c]), invstd * weight_of(weight, c), bias_of(bias, c));
  }
}

template <class T>
void batch_norm_backward_train(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_y,
                               const T* x, const double* mean, const double* invstd,
                               const T* weight, const BatchNormParams& p) {
  const NormShape& s = p.shape;
  const NormKernels<T>& k = cpu::norm_kernels<T>();
  const double count = static_cast<double>(s.batch * s.spatial);
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t c = 0; c < s.channels; ++c) {
    double mu, istd;
    if (mean) {
      mu = mean[c];
      istd = invstd[c];
    } else {
      const Moments m = moments(k, x, c, s);
      mu = m.mean;
      istd = 1.0 / std::sqrt(m.var + p.eps);
    }
    double sum_g = 0, sum_gx = 0;
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t offset = run_offset(n, c, s);
      k.gradient_sums(&sum_g, &sum_gx, grad_y + offset, x + offset, s.spatial, mu);
    }
    if (grad_weight) grad_weight[c] = static_cast<T>(sum_gx * istd);
    if (grad_bias) grad_bias[c] = static_cast<T>(sum_g);
    if (grad_x) {
      // gx = w * istd * (g - mean(g) - xhat * mean(g * xhat)), xhat = (x - mu) * istd
      const double a = weight_of(weight, c) * istd;
      const double b = -a * istd * istd * sum_gx / count, shift = -a * sum_g / count;
      for (int64_t n = 0; n < s.batch; ++n) {
        const int64_t offset = run_offset(n, c, s);
        prefetch_next(x, n, c, s);
        prefetch_next(grad_y, n, c, s);
        k.input_gradient(grad_x + offset, grad_y + offset, x + offset, s.spatial, mu, a, b, shift);
      }
    }
  }
}

template <class T>
void batch_norm_backward_eval(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_y,
                              const T* x, const T* running_mean, const T* running_var,
                              const T* weight, const BatchNormParams& p) {
  const NormShape& s = p.shape;
  const NormKernels<T>& k = cpu::norm_kernels<T>();
  auto invstd = [&](int64_t c) {
    return 1.0 / std::sqrt(static_cast<double>(running_var[c]) + p.eps);
  };
  if (grad_weight || grad_bias) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
    for (int64_t c = 0; c < s.channels; ++c) {
      double sum_g = 0, sum_gx = 0;
      for (int64_t n = 0; n < s.batch; ++n) {
        const int64_t offset = run_offset(n, c, s);
        k.gradient_sums(&sum_g, &sum_gx, grad_y + offset, x + offset, s.spatial,
                        static_cast<double>(running_mean[c]));
      }
      if (grad_weight) grad_weight[c] = static_cast<T>(sum_gx * invstd(c));
      if (grad_bias) grad_bias[c] = static_cast<T>(sum_g);
    }
  }
  if (grad_x) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
    for (int64_t run = 0; run < s.batch * s.channels; ++run) {
      const int64_t c = run % s.channels;
      k.scale(grad_x + run * s.spatial, grad_y + run * s.spatial, s.spatial,
              weight_of(weight, c) * invstd(c));
    }
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
