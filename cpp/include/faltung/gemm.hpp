// General matrix multiply on row-major matrices, float and double:
//   C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C,  op(X) = X or X^T.
// Argument order follows BLAS (not the outputs-first rule of the other kernels), so that readers
// recognise it. lda/ldb/ldc are row strides in elements. beta == 0 overwrites C without reading it (NaN in an
// uninitialised C does not leak). Called outside an OpenMP parallel region it uses
// faltung::num_threads() threads; called inside one it runs on the calling thread only.
// Implementation: BLIS-style packing and cache blocking with register-blocked FMA micro-kernels
// (AVX-512, AVX2, plain C++) chosen once at run time (cpp/cpu/gemm.cpp).
#pragma once
#include <cstdint>

namespace faltung {

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// ---- Building blocks for kernels that make their own packed operands ----------------------
// Convolutions pack their weight once per call and make their B blocks themselves (read in
// place from a padded image, gathered from it, or packed from grad_y), so they drive the
// blocked loops with these pieces.
//
// K is cut into equal blocks of at most kc_max (gemm_k_block). Packed A holds op(A) (M x K,
// alpha folded in) for every K block as mr-tall panels: element (i, k) of K block pc lies at
// pc * round_up(M, mr) + (i / mr) * kc * mr + (k - pc) * mr + i % mr. A packed B block holds
// kc rows and n columns of op(B) as nr-wide panels: element (k, j) at
// (j / nr) * kc * nr + k * nr + j % nr; the columns of the last panel past n are zero.
struct GemmBlocking {
  int64_t mr, nr;  // register tile of the micro-kernel
  int64_t lanes;   // elements per vector register: a panel row is nr / lanes vectors
  int64_t kc_max;  // deepest K block: an mr x kc A panel stays in L1
  int64_t nc;      // columns of a B block: kc_max x nc fills about half of L2
};
template <class T>
GemmBlocking gemm_blocking();
template <class T>
int64_t gemm_k_block(int64_t K);  // the kc of every K block of a K-deep product (the last: K - pc)

template <class T>
int64_t packed_a_size(int64_t M, int64_t K);
template <class T>
void pack_a(T* packed, bool trans_a, int64_t M, int64_t K, T alpha, const T* A, int64_t lda);
// pack_a for the mr-row panels [panel_begin, panel_end) of every K block only (panel ip holds
// rows ip * mr ...): threads pack disjoint ranges of one packed A.
template <class T>
void pack_a_panels(T* packed, bool trans_a, int64_t M, int64_t K, T alpha, const T* A,
                   int64_t lda, int64_t panel_begin, int64_t panel_end);
template <class T>
int64_t packed_b_size(int64_t kc, int64_t n);
// Part of a B block from a matrix whose rows run along K (op(B) = src^T): element (k, j) =
// src[j * ld + k] for j < n, k < kc, written at dst[(j / nr) * panel_stride + k * nr + j % nr]
// (dst: row k = 0 of the first panel; panel_stride = the block's kc * nr). Columns past n are
// left alone.
template <class T>
void pack_b_columns(T* dst, int64_t panel_stride, const T* src, int64_t ld, int64_t n,
                    int64_t kc);

// C[m_begin:m_end, 0:n] = packed A (rows m_begin..m_end, K block starting at pc, kc deep)
// . packed B block + beta * C, on the calling thread. m_begin is a multiple of mr; C points at
// row m_begin.
template <class T>
void gemm_block(const T* packed_a, int64_t M, int64_t pc, int64_t kc, int64_t m_begin,
                int64_t m_end, const T* packed_b, int64_t n, T beta, T* C, int64_t ldc);

// gemm_block with B read in place: row k of the B block is b_rows[k][0:n] (indirect
// convolution: the rows of a padded image). Reads nothing past column n of a row.
template <class T>
void gemm_block_indirect_b(const T* packed_a, int64_t M, int64_t pc, int64_t kc, int64_t m_begin,
                           int64_t m_end, const T* const* b_rows, int64_t n, T beta, T* C,
                           int64_t ldc);

// One nr-wide panel of a B block gathered from runs of in-place rows: each panel row is
// nr / lanes vectors, and lanes [lo, hi) of vector `vector` of row k come from
// b_rows[k][src + lane]; lanes outside every run are zero. Several small images' output pixels
// side by side are a few runs per panel (one per output row).
struct GatherRun {
  int64_t src;  // offset of lane 0 of the vector (the lanes outside [lo, hi) are not read)
  int32_t vector, lo, hi;
};
template <class T>
void gather_b_panel(T* panel, int64_t kc, const T* const* b_rows, const GatherRun* runs,
                    int64_t count);

// C[0:m, 0:n] = A . packed B block + beta * C on the calling thread, with A read in place:
// A(i, k) for k in segment s (seg_len steps each) is a_rows[i][seg_offset[s] + t]. The B block
// holds segments * seg_len rows.
template <class T>
void gemm_block_indirect_a(const T* const* a_rows, int64_t m, int64_t segments, int64_t seg_len,
                           const int64_t* seg_offset, const T* packed_b, int64_t n, T beta, T* C,
                           int64_t ldc);

// The ceiling of this machine for our GEMM: GFLOP/s of the chosen micro-kernel on one thread
// with its operands in L1 (no packing, no memory traffic), measured for about `seconds`.
// Benchmarks quote "% of peak" against it rather than a number from a data sheet.
template <class T>
double micro_kernel_peak_gflops(double seconds);

// Name of the micro-kernel family in use ("avx512", "avx2" or "generic").
const char* gemm_kernel_name();

}  // namespace faltung
