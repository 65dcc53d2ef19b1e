// Register-blocked GEMM micro-kernels: C[MR x NR] (+)= A_panel * B_panel over kc steps, where
// A_panel holds kc columns of MR values and B_panel kc rows of NR values (packed by gemm.cpp,
// zero-padded at the edges). One table entry per instruction set and dtype; the files
// gemm_kernels_avx512.cpp / _avx2.cpp are compiled for those ISAs only and include nothing but
// this header (with faltung/gemm.hpp, declarations only) and <immintrin.h>, so no ISA-specific
// copy of shared inline code can leak into the baseline build. gemm.cpp picks the best entry the CPU supports, once.
#pragma once
#include <cstdint>

#include "faltung/gemm.hpp"

namespace faltung::cpu {

// c = acc (beta == 0, c is not read) or c = beta * c + acc; ldc in elements. Row k of the B
// panel starts at b + k * ldb: ldb == nr for a packed panel, the matrix's row stride when B is
// read in place (small M, where packing B would cost as much as the arithmetic).
template <class T>
using MicroKernelFn = void (*)(int64_t kc, const T* a, const T* b, int64_t ldb, T* c, int64_t ldc,
                               T beta);

// The same with each B row at its own address: row k at b_rows[k] + j. Convolutions read B
// straight from the rows of a padded image this way (indirect convolution, no im2col).
template <class T>
using IndirectBKernelFn = void (*)(int64_t kc, const T* a, const T* const* b_rows, int64_t j,
                                   T* c, int64_t ldc, T beta);

// A read in place instead of packed: A(i, k) for the mr rows a_rows[i] over K in `segments`
// segments of seg_len steps, step t of segment s at a_rows[i][seg_offset[s] + t]; B packed
// (segments * seg_len rows of nr). A conv layer's weight gradient reads the rows of the padded
// input this way, one segment per output row.
template <class T>
using IndirectAKernelFn = void (*)(int64_t segments, int64_t seg_len, const int64_t* seg_offset,
                                   const T* const* a_rows, const T* b, T* c, int64_t ldc, T beta);

// Packs one B panel (kc x nr) by gathering runs (GatherRun, faltung/gemm.hpp).
template <class T>
using GatherPanelFn = void (*)(T* panel, int64_t kc, const T* const* b_rows, const GatherRun* runs,
                               int64_t count);

// Packs one mr x kc panel of A from `rows` (<= mr) rows of a row-major matrix, interleaved:
// dst[k * mr + i] = alpha * src[i * lda + k], rows past `rows` zero. Optional (nullptr: the
// driver's plain loop); the AVX-512 float kernel transposes 8 x 16 blocks in registers.
template <class T>
using PackRowsFn = void (*)(T* dst, const T* src, int64_t lda, int64_t rows, int64_t kc, T alpha);

// Packs B panels from the rows of a matrix that runs along K (op(B) = B^T): element (k, j) of
// the panel block, dst[(j / nr) * panel_stride + k * nr + j % nr] = src[j * ld + k], for
// j < n, k < kc; columns past n are left alone. Optional (nullptr: the driver's plain loop);
// the AVX-512 float kernel transposes 16 x 16 blocks in registers.
template <class T>
using PackColsFn = void (*)(T* dst, int64_t panel_stride, const T* src, int64_t ld, int64_t n,
                            int64_t kc);

template <class T>
struct MicroKernel {
  const char* isa;
  int mr, nr;              // register tile
  int lanes;               // elements per vector (a panel row is nr / lanes vectors)
  int64_t kc, nc;          // cache blocks: mr x kc A panel in L1, kc x nc B block in L2
  MicroKernelFn<T> run;
  IndirectBKernelFn<T> run_indirect_b[2];  // [1]: prefetching the next panel's rows
  IndirectAKernelFn<T> run_indirect_a;
  GatherPanelFn<T> gather_panel;
  PackRowsFn<T> pack_rows;
  PackColsFn<T> pack_cols;
};

// Each returns false (and leaves *out untouched) when built without that ISA.
bool avx512_kernels(MicroKernel<float>* f32, MicroKernel<double>* f64);
bool avx2_kernels(MicroKernel<float>* f32, MicroKernel<double>* f64);
void generic_kernels(MicroKernel<float>* f32, MicroKernel<double>* f64);

}  // namespace faltung::cpu
