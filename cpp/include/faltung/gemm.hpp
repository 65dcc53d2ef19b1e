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

// Packing op(A) once and multiplying it with many B matrices: convolution layers reuse their
// weight across images and column tiles, so they pack it once per call.
// packed_a_size: elements needed for the packed op(A) (M x K), alpha folded in.
template <class T>
int64_t packed_a_size(int64_t M, int64_t K);
template <class T>
void pack_a(T* packed, bool trans_a, int64_t M, int64_t K, T alpha, const T* A, int64_t lda);
// C = packed_A * op(B) + beta * C, threaded like gemm().
template <class T>
void gemm_packed_a(const T* packed_a, int64_t M, int64_t N, int64_t K, bool trans_b, const T* B,
                   int64_t ldb, T beta, T* C, int64_t ldc);

// The ceiling of this machine for our GEMM: GFLOP/s of the chosen micro-kernel on one thread
// with its operands in L1 (no packing, no memory traffic), measured for about `seconds`.
// Benchmarks quote "% of peak" against it rather than a number from a data sheet.
template <class T>
double micro_kernel_peak_gflops(double seconds);

// Name of the micro-kernel family in use ("avx512", "avx2" or "generic").
const char* gemm_kernel_name();

}  // namespace faltung
