// The inner loops of batch norm over one run of S contiguous values (one image's plane of one
// channel), float and double, one table per instruction set: norm_batch_kernels_generic.cpp
// (the x86-64-v2 baseline), _avx2.cpp and _avx512.cpp compile the same body
// (norm_batch_kernels.inl) with wider vectors. norm_batch.cpp picks the best table the CPU
// runs, once, and composes channels from runs. The ISA files include nothing but this header
// and the .inl (plain arithmetic), so no ISA-specific copy of shared inline code can leak.
#pragma once
#include <cstdint>

namespace faltung::cpu {

template <class T>
struct BatchNormKernels {
  double (*sum)(const T* x, int64_t n);                          // sum of x
  double (*squares)(const T* x, int64_t n, double mean);         // sum of (x - mean)^2
  void (*gradient_sums)(double* sum_g, double* sum_gx, const T* g, const T* x, int64_t n,
                        double mean);                            // += sum g, sum g (x - mean)
  void (*affine)(T* y, const T* x, int64_t n, double mean, double a, double b);
                                                                 // y = (x - mean) a + b
  void (*input_gradient)(T* gx, const T* g, const T* x, int64_t n, double mean, double a,
                         double b, double c);                    // gx = g a + (x - mean) b + c
  void (*scale)(T* gx, const T* g, int64_t n, double a);         // gx = g a
};

bool generic_batch_norm_kernels(BatchNormKernels<float>* f32, BatchNormKernels<double>* f64);
// false (tables untouched) when the build has no such variant; the generic one is always there
bool avx2_batch_norm_kernels(BatchNormKernels<float>* f32, BatchNormKernels<double>* f64);
bool avx512_batch_norm_kernels(BatchNormKernels<float>* f32, BatchNormKernels<double>* f64);

}  // namespace faltung::cpu
