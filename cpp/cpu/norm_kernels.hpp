// The inner loops of the normalization kernels, float and double, one table per instruction
// set: norm_kernels_generic.cpp (the x86-64-v2 baseline), _avx2.cpp and _avx512.cpp compile the
// same body (norm_kernels.inl) with wider vectors; norm_kernels.cpp picks the best table the
// CPU runs, once (FALTUNG_ISA=avx2|generic caps it, as for the GEMM). The drivers
// (norm_batch.cpp, norm_lrn.cpp, norm_lcn.cpp) own the parallel loops and workspaces.
// The ISA files include nothing but this header, faltung/norm.hpp (declarations and plain
// structs) and the .inl (plain arithmetic and compiler builtins), so no ISA-specific copy of
// shared inline code can leak into the baseline build.
#pragma once
#include <cstdint>

#include "faltung/norm.hpp"

namespace faltung::cpu {

constexpr int64_t kLrnTile = 64;   // pixels of one LRN tile (the workspace holds 2 x C x this)
constexpr int64_t kLcnTile = 256;  // pixels of one LCN tile

template <class T>
struct NormKernels {
  // Batch norm over one run of n contiguous values (one image's plane of one channel):
  double (*sum)(const T* x, int64_t n);                          // sum of x
  double (*squares)(const T* x, int64_t n, double mean);         // sum of (x - mean)^2
  void (*gradient_sums)(double* sum_g, double* sum_gx, const T* g, const T* x, int64_t n,
                        double mean);                            // += sum g, sum g (x - mean)
  void (*affine)(T* y, const T* x, int64_t n, double mean, double a, double b);
                                                                 // y = (x - mean) a + b
  void (*input_gradient)(T* gx, const T* g, const T* x, int64_t n, double mean, double a,
                         double b, double c);                    // gx = g a + (x - mean) b + c
  void (*scale)(T* gx, const T* g, int64_t n, double a);         // gx = g a
  // The same over `runs` consecutive runs of n values (one image's runs of a block of
  // channels, contiguous in NCHW) with per-run statistics: one call, and the sums of several
  // runs side by side, for planes too short to pay a call and a reduction each.
  void (*block_sums)(double* sum, const T* x, int64_t runs, int64_t n);   // sum[r] += ...
  void (*block_squares)(double* sum, const T* x, int64_t runs, int64_t n, const double* mean);
  void (*block_gradient_sums)(double* sum_g, double* sum_gx, const T* g, const T* x,
                              int64_t runs, int64_t n, const double* mean);
  void (*block_affine)(T* y, const T* x, int64_t runs, int64_t n, const double* mean,
                       const double* a, const double* b);
  void (*block_input_gradient)(T* gx, const T* g, const T* x, int64_t runs, int64_t n,
                               const double* mean, const double* a, const double* b,
                               const double* c);
  // LRN over pixels s0 .. s0 + width of one image (x, grad_y, result point at its start): the
  // forward when grad_y is null, else the input gradient. D and P: C x kLrnTile scratch each.
  void (*lrn_tile)(T* result, const T* grad_y, const T* x, int64_t s0, int64_t width, T* D,
                   T* P, const LrnParams& p);
  // LCN over pixels s0 .. s0 + width of one image, width <= kLcnTile; forward or gradient.
  void (*lcn_tile)(T* result, const T* grad_y, const T* x, int64_t s0, int64_t width,
                   const LcnParams& p);
};

template <class T>
const NormKernels<T>& norm_kernels();  // the best table for this CPU

// Each fills both tables and returns true; false (tables untouched) when the build has no
// such variant. The generic one is always there.
bool generic_norm_kernels(NormKernels<float>* f32, NormKernels<double>* f64);
bool avx2_norm_kernels(NormKernels<float>* f32, NormKernels<double>* f64);
bool avx512_norm_kernels(NormKernels<float>* f32, NormKernels<double>* f64);

}  // namespace faltung::cpu
