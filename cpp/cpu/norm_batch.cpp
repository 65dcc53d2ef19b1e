// Batch normalization, forward (training and evaluation) and backward, x as (N, C, S).
// Training: a thread takes whole channels; a channel's N runs of S contiguous values are read
// once from memory for the mean, then from L2 (a ResNet plane of 8 x 112 x 112 floats is
// 400 KB) for the squared deviations and for the output. Statistics are two-pass (the mean,
// then the mean of squared deviations) in double accumulators for both dtypes, so a large
// mean cannot cancel the variance away. Evaluation needs no statistics and streams the runs in
// memory order. The inner loops are the run kernels of norm_kernels.hpp, the widest variant
// the CPU runs. Short runs (a ResNet layer4 plane is 7 x 7) cost more in calls and final
// reductions than in reading: there a thread takes blocks of kBlock channels, and each
// kernel call covers one image's runs of the block (contiguous).
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

constexpr int64_t kBlock = 16;      // channels of a block (short runs)
constexpr int64_t kShortRun = 256;  // runs of up to this many values go by blocks

// The limit as measured: 7 x 7 and 14 x 14 planes gain by blocks, 28 x 28 (784) lost 4-8%.
bool short_runs(const NormShape& s) { return s.spatial <= kShortRun; }

// f(c0, width) for the blocks of channels c0 .. c0 + width, in parallel.
template <class F>
void for_each_block(const NormShape& s, F&& f) {
  const int64_t blocks = (s.channels + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t c0 = block * kBlock, left = s.channels - c0;
    f(c0, left < kBlock ? left : kBlock);
  }
}

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

// The moments of channels c0 .. c0 + width into m[0 .. width), width <= kBlock.
template <class T>
void block_moments(Moments* m, const NormKernels<T>& k, const T* x, int64_t c0, int64_t width,
                   const NormShape& s) {
  double sums[kBlock] = {}, means[kBlock], squares[kBlock] = {};
  for (int64_t n = 0; n < s.batch; ++n)
    k.block_sums(sums, x + run_offset(n, c0, s), width, s.spatial);
  const double count = static_cast<double>(s.batch * s.spatial);
  for (int64_t r = 0; r < width; ++r) means[r] = sums[r] / count;
  for (int64_t n = 0; n < s.batch; ++n)
    k.block_squares(squares, x + run_offset(n, c0, s), width, s.spatial, means);
  for (int64_t r = 0; r < width; ++r) m[r] = {means[r], squares[r] / count};
}

template <class T>
double weight_of(const T* weight, int64_t c) {
  return weight ? static_cast<double>(weight[c]) : 1.0;
}

template <class T>
double bias_of(const T* bias, int64_t c) {
  return bias ? static_cast<double>(bias[c]) : 0.0;
}

// Stores channel c's statistics (and updates the running ones); returns its 1/std.
template <class T>
double record(double* save_mean, double* save_invstd, T* running_mean, T* running_var,
              int64_t c, const Moments& m, const BatchNormParams& p) {
  const double invstd = 1.0 / std::sqrt(m.var + p.eps);
  save_mean[c] = m.mean;
  save_invstd[c] = invstd;
  if (running_mean) {
    const double count = static_cast<double>(p.shape.batch * p.shape.spatial);
    const double keep = 1.0 - p.momentum;
    running_mean[c] = static_cast<T>(keep * running_mean[c] + p.momentum * m.mean);
    running_var[c] =
        static_cast<T>(keep * running_var[c] + p.momentum * m.var * count / (count - 1));
  }
  return invstd;
}

// gx = w * istd * (g - mean(g) - xhat * mean(g * xhat)), xhat = (x - mu) * istd
//    = g a + (x - mu) b + shift; also stores grad_weight[c], grad_bias[c] where asked.
struct GradientTerms {
  double a, b, shift;
};

template <class T>
GradientTerms gradient_terms(T* grad_weight, T* grad_bias, int64_t c, double istd, double sum_g,
                             double sum_gx, const T* weight, const NormShape& s) {
  if (grad_weight) grad_weight[c] = static_cast<T>(sum_gx * istd);
  if (grad_bias) grad_bias[c] = static_cast<T>(sum_g);
  const double count = static_cast<double>(s.batch * s.spatial);
  const double a = weight_of(weight, c) * istd;
  return {a, -a * istd * istd * sum_gx / count, -a * sum_g / count};
}

template <class T>
void forward_train_blocks(T* y, double* save_mean, double* save_invstd, T* running_mean,
                          T* running_var, const T* x, const T* weight, const T* bias,
                          const BatchNormParams& p) {
  const NormShape& s = p.shape;
  const NormKernels<T>& k = cpu::norm_kernels<T>();
  for_each_block(s, [&](int64_t c0, int64_t width) {
    Moments m[kBlock];
    block_moments(m, k, x, c0, width, s);
    double mean[kBlock], a[kBlock], b[kBlock];
    for (int64_t r = 0; r < width; ++r) {
      const double invstd =
          record(save_mean, save_invstd, running_mean, running_var, c0 + r, m[r], p);
      mean[r] = m[r].mean;
      a[r] = invstd * weight_of(weight, c0 + r);
      b[r] = bias_of(bias, c0 + r);
    }
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t offset = run_offset(n, c0, s);
      k.block_affine(y + offset, x + offset, width, s.spatial, mean, a, b);
    }
  });
}

template <class T>
void backward_train_blocks(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_y, const T* x,
                           const double* mean, const double* invstd, const T* weight,
                           const BatchNormParams& p) {
  const NormShape& s = p.shape;
  const NormKernels<T>& k = cpu::norm_kernels<T>();
  for_each_block(s, [&](int64_t c0, int64_t width) {
    double mu[kBlock], istd[kBlock];
    if (mean) {
      for (int64_t r = 0; r < width; ++r) {
        mu[r] = mean[c0 + r];
        istd[r] = invstd[c0 + r];
      }
    } else {
      Moments m[kBlock];
      block_moments(m, k, x, c0, width, s);
      for (int64_t r = 0; r < width; ++r) {
        mu[r] = m[r].mean;
        istd[r] = 1.0 / std::sqrt(m[r].var + p.eps);
      }
    }
    double sum_g[kBlock] = {}, sum_gx[kBlock] = {};
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t offset = run_offset(n, c0, s);
      k.block_gradient_sums(sum_g, sum_gx, grad_y + offset, x + offset, width, s.spatial, mu);
    }
    double a[kBlock], b[kBlock], shift[kBlock];
    for (int64_t r = 0; r < width; ++r) {
      const GradientTerms t = gradient_terms(grad_weight, grad_bias, c0 + r, istd[r], sum_g[r],
                                             sum_gx[r], weight, s);
      a[r] = t.a;
      b[r] = t.b;
      shift[r] = t.shift;
    }
    if (!grad_x) return;
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t offset = run_offset(n, c0, s);
      k.block_input_gradient(grad_x + offset, grad_y + offset, x + offset, width, s.spatial, mu,
                             a, b, shift);
    }
  });
}

}  // namespace

template <class T>
void batch_norm_forward_train(T* y, double* save_mean, double* save_invstd, T* running_mean,
                              T* running_var, const T* x, const T* weight, const T* bias,
                              const BatchNormParams& p) {
  const NormShape& s = p.shape;
  if (short_runs(s)) {
    forward_train_blocks(y, save_mean, save_invstd, running_mean, running_var, x, weight, bias, p);
    return;
  }
  const NormKernels<T>& k = cpu::norm_kernels<T>();
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t c = 0; c < s.channels; ++c) {
    const Moments m = moments(k, x, c, s);
    const double invstd = record(save_mean, save_invstd, running_mean, running_var, c, m, p);
    const double a = invstd * weight_of(weight, c), b = bias_of(bias, c);
    for (int64_t n = 0; n < s.batch; ++n) {
      const int64_t offset = run_offset(n, c, s);
      k.affine(y + offset, x + offset, s.spatial, m.mean, a, b);
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
  if (short_runs(s)) {
    backward_train_blocks(grad_x, grad_weight, grad_bias, grad_y, x, mean, invstd, weight, p);
    return;
  }
  const NormKernels<T>& k = cpu::norm_kernels<T>();
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
    const GradientTerms t =
        gradient_terms(grad_weight, grad_bias, c, istd, sum_g, sum_gx, weight, s);
    if (grad_x) {
      for (int64_t n = 0; n < s.batch; ++n) {
        const int64_t offset = run_offset(n, c, s);
        prefetch_next(x, n, c, s);
        prefetch_next(grad_y, n, c, s);
        k.input_gradient(grad_x + offset, grad_y + offset, x + offset, s.spatial, mu, t.a, t.b,
                         t.shift);
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
