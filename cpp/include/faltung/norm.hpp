// Normalization kernels: batch norm, local response norm (LRN) and the lecture's local contrast
// normalization (LCN), forward and backward, float and double.
// Layout: x is (N, C, S) row-major, S the product of the spatial sizes (1 for a 2-D (N, C)
// input, H*W for NCHW). Batch norm normalises each channel over N*S values; LRN and LCN act on
// the vector of C channel values at each (n, s). Kernels overwrite their outputs; pointers
// documented as nullable may be null. make_*_params validate once; the kernels trust them.
#pragma once
#include <cstdint>

namespace faltung {

struct NormShape {
  int64_t batch, channels, spatial;  // N, C, S
  int64_t count() const { return batch * channels * spatial; }
};

struct BatchNormParams {
  NormShape shape;
  double eps;       // added to the variance; >= 0
  double momentum;  // running = (1 - momentum) * running + momentum * batch statistic
};

struct LrnParams {
  NormShape shape;
  int64_t size;  // window: channels c - size/2 .. c + (size-1)/2, zero outside [0, C)
  double alpha, beta, k;  // d_c = k + alpha/size * sum of x^2 over the window; y = x * d^-beta
};

struct LcnParams {
  NormShape shape;  // channels >= 2
  double eps;       // y = x / sqrt(sum_c x_c^2 / (C - 1) + eps)
};

// Each validates (std::invalid_argument naming the argument) and returns the struct.
BatchNormParams make_batch_norm_params(int64_t batch, int64_t channels, int64_t spatial,
                                       double eps, double momentum, bool training);
LrnParams make_lrn_params(int64_t batch, int64_t channels, int64_t spatial, int64_t size,
                          double alpha, double beta, double k);
LcnParams make_lcn_params(int64_t batch, int64_t channels, int64_t spatial, double eps);

// Batch norm, training: batch mean and biased variance per channel (two passes, double sums),
// y = (x - mean) * invstd * weight + bias, save_mean/save_invstd (C, double whatever T is, so
// that a float backward loses nothing of a large mean) written for the backward,
// running_mean/running_var (nullable, C) updated with the unbiased variance.
// weight and bias are nullable (1 and 0).
template <class T>
void batch_norm_forward_train(T* y, double* save_mean, double* save_invstd, T* running_mean,
                              T* running_var, const T* x, const T* weight, const T* bias,
                              const BatchNormParams& p);
// Batch norm, evaluation: the running statistics normalise.
template <class T>
void batch_norm_forward_eval(T* y, const T* x, const T* running_mean, const T* running_var,
                             const T* weight, const T* bias, const BatchNormParams& p);
// Training backward through the batch statistics. mean/invstd: the saved statistics, or both
// null to recompute them from x. grad_x, grad_weight, grad_bias are nullable.
template <class T>
void batch_norm_backward_train(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_y,
                               const T* x, const double* mean, const double* invstd,
                               const T* weight, const BatchNormParams& p);
// Evaluation backward: the affine map with the running statistics.
template <class T>
void batch_norm_backward_eval(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_y,
                              const T* x, const T* running_mean, const T* running_var,
                              const T* weight, const BatchNormParams& p);

template <class T>
void lrn_forward(T* y, const T* x, const LrnParams& p);
template <class T>
void lrn_backward(T* grad_x, const T* grad_y, const T* x, const LrnParams& p);

template <class T>
void lcn_forward(T* y, const T* x, const LcnParams& p);
template <class T>
void lcn_backward(T* grad_x, const T* grad_y, const T* x, const LcnParams& p);

}  // namespace faltung
