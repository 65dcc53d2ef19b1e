// Plain C++ GEMM micro-kernels for CPUs without AVX2 (and for non-x86 builds): outer-product
// form (packed, indirect B, indirect A), the gathering B packer, the same contract as the SIMD
// kernels, a 4 x 8 tile the compiler may vectorise for the baseline ISA.
#include <algorithm>

#include "gemm_kernels.hpp"

namespace faltung::cpu {
namespace {

template <class T, int MR, int NR>
void store_tile(const T (&acc)[MR][NR], T* c, int64_t ldc, T beta) {
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      c[i * ldc + j] = beta == T(0) ? acc[i][j] : beta * c[i * ldc + j] + acc[i][j];
}

template <class T, int MR, int NR>
void generic_micro_kernel(int64_t kc, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc,
                          T beta) {
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    a += MR;
    b += ldb;
  }
  store_tile(acc, c, ldc, beta);
}

template <class T, int MR, int NR>
void generic_indirect_b_kernel(int64_t kc, const T* a, const T* const* b_rows, int64_t j, T* c,
                               int64_t ldc, T beta) {
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR)
    for (int i = 0; i < MR; ++i)
      for (int q = 0; q < NR; ++q) acc[i][q] += a[i] * b_rows[k][j + q];
  store_tile(acc, c, ldc, beta);
}

template <class T, int MR, int NR>
void generic_indirect_a_kernel(int64_t segments, int64_t seg_len, const int64_t* seg_offset,
                               const T* const* a_rows, const T* b, T* c, int64_t ldc, T beta) {
  T acc[MR][NR] = {};
  for (int64_t s = 0; s < segments; ++s)
    for (int64_t t = 0; t < seg_len; ++t, b += NR)
      for (int i = 0; i < MR; ++i)
        for (int q = 0; q < NR; ++q) acc[i][q] += a_rows[i][seg_offset[s] + t] * b[q];
  store_tile(acc, c, ldc, beta);
}

// The generic kernels' "vectors" are whole panel rows (one vector of NR lanes).
template <class T, int NR>
void generic_gather_panel(T* panel, int64_t kc, const T* const* b_rows, const GatherRun* runs,
                          int64_t count) {
  for (int64_t k = 0; k < kc; ++k) {
    T* row = panel + k * NR;
    std::fill(row, row + NR, T(0));
    for (int64_t r = 0; r < count; ++r)
      for (int l = runs[r].lo; l < runs[r].hi; ++l) row[l] = b_rows[k][runs[r].src + l];
  }
}

}  // namespace

void generic_kernels(MicroKernel<float>* f32, MicroKernel<double>* f64) {
  *f32 = {"generic", 4, 8, 8, 256, 512, &generic_micro_kernel<float, 4, 8>,
          {&generic_indirect_b_kernel<float, 4, 8>, &generic_indirect_b_kernel<float, 4, 8>},
          &generic_indirect_a_kernel<float, 4, 8>,
          &generic_gather_panel<float, 8>, nullptr, nullptr};
  *f64 = {"generic", 4, 8, 8, 256, 256, &generic_micro_kernel<double, 4, 8>,
          {&generic_indirect_b_kernel<double, 4, 8>, &generic_indirect_b_kernel<double, 4, 8>},
          &generic_indirect_a_kernel<double, 4, 8>,
          &generic_gather_panel<double, 8>, nullptr, nullptr};
}

}  // namespace faltung::cpu
