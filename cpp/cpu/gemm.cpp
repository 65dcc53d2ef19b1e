// GEMM driver, BLIS style, row-major: C = alpha * op(A) * op(B) + beta * C for float and double.
// Loops (outer to inner): N in nc blocks -> K in kc blocks (pack B: kc x nc, as nr-wide panels)
// -> M in mc blocks (A is packed once, as mr-tall panels per kc block) -> nr panel -> mr panel
// -> micro-kernel (gemm_kernels_*.cpp). For short A (conv layers) B is not packed at all.
// Threads split N (or M when N is short) into disjoint ranges; each packs its own B panels into
// its workspace. Edge tiles run the micro-kernel into a small buffer and are copied back.
// A . B^T with both operands row-major (conv weight gradients) takes an inner-product path
// instead that packs nothing.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "faltung/gemm.hpp"
#include "faltung/threads.hpp"
#include "gemm_kernels.hpp"

namespace faltung {
namespace {

using cpu::MicroKernel;
// B is read in place when A has at most this many rows (see macro_kernel).
constexpr int64_t kDirectBMaxRows = 1024;

struct KernelTable {
  MicroKernel<float> f32;
  MicroKernel<double> f64;
  KernelTable() {
    cpu::generic_kernels(&f32, &f64);
#if defined(FALTUNG_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
      cpu::avx512_kernels(&f32, &f64);
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      cpu::avx2_kernels(&f32, &f64);
    }
#endif
  }
};

const KernelTable& kernels() {
  static const KernelTable table;
  return table;
}

template <class T>
const MicroKernel<T>& kernel();
template <>
const MicroKernel<float>& kernel<float>() { return kernels().f32; }
template <>
const MicroKernel<double>& kernel<double>() { return kernels().f64; }

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// K is cut into equal kc blocks of at most uk.kc (576 -> 2 x 288, not 256 + 256 + 64), so no
// block is a short, overhead-dominated tail. pack_a and the macro-kernel must agree on it.
template <class T>
int64_t k_block(int64_t K, const MicroKernel<T>& uk) {
  const int64_t blocks = (K + uk.kc - 1) / uk.kc;
  return (K + blocks - 1) / blocks;
}

// Packed A: for each kc block (starting at pc) all M rows as mr-tall panels, each panel kc
// columns of mr values: element (i, k) of panel ip at base + pc*m_pad + ip*kc*mr + k*mr + i.
template <class T>
void pack_a_impl(T* packed, bool trans_a, int64_t M, int64_t K, T alpha, const T* A, int64_t lda,
                 const MicroKernel<T>& uk) {
  const int64_t mr = uk.mr, m_pad = round_up(M, mr), kc_max = k_block(K, uk);
  for (int64_t pc = 0; pc < K; pc += kc_max) {
    const int64_t kc = std::min(kc_max, K - pc);
    for (int64_t ip = 0; ip < m_pad / mr; ++ip) {
      T* dst = packed + pc * m_pad + ip * kc * mr;
      const int64_t rows = std::min(mr, M - ip * mr);
      if (trans_a) {  // A is K x M: row k of op(A)^T is contiguous
        for (int64_t k = 0; k < kc; ++k) {
          const T* src = A + (pc + k) * lda + ip * mr;
          for (int64_t i = 0; i < rows; ++i) dst[k * mr + i] = alpha * src[i];
          for (int64_t i = rows; i < mr; ++i) dst[k * mr + i] = T(0);
        }
      } else {
        for (int64_t i = 0; i < rows; ++i) {
          const T* src = A + (ip * mr + i) * lda + pc;
          for (int64_t k = 0; k < kc; ++k) dst[k * mr + i] = alpha * src[k];
        }
        for (int64_t i = rows; i < mr; ++i)
          for (int64_t k = 0; k < kc; ++k) dst[k * mr + i] = T(0);
      }
    }
  }
}

// Packs op(B)[pc:pc+kc, j0:j0+nc] as nr-wide panels: element (k, j) of panel jp at
// jp*kc*nr + k*nr + j, zero-padded to a whole panel.
template <class T>
void pack_b(T* dst, bool trans_b, const T* B, int64_t ldb, int64_t pc, int64_t kc, int64_t j0,
            int64_t nc, int64_t nr) {
  for (int64_t jp = 0; jp * nr < nc; ++jp) {
    T* panel = dst + jp * kc * nr;
    const int64_t cols = std::min(nr, nc - jp * nr);
    const int64_t j = j0 + jp * nr;
    if (trans_b) {  // B is N x K: column j of op(B) is row j of B
      for (int64_t jj = 0; jj < cols; ++jj) {
        const T* src = B + (j + jj) * ldb + pc;
        for (int64_t k = 0; k < kc; ++k) panel[k * nr + jj] = src[k];
      }
      for (int64_t jj = cols; jj < nr; ++jj)
        for (int64_t k = 0; k < kc; ++k) panel[k * nr + jj] = T(0);
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const T* src = B + (pc + k) * ldb + j;
        T* out = panel + k * nr;
        std::memcpy(out, src, sizeof(T) * cols);
        for (int64_t jj = cols; jj < nr; ++jj) out[jj] = T(0);
      }
    }
  }
}

// B is read in place (no packing) when op(B) is row-major and A is short: with few rows of A
// each B element is used too few times to repay a copy (on a 64 x 3136 x 576 conv-shaped
// product, packing B cost 40 % of the time). Edge panels are still packed.

// The single-threaded macro-kernel over rows [m0, m1) (m0 a multiple of mr) and columns
// [n0, n1) of C.
template <class T>
void macro_kernel(const T* packed_a, int64_t M, int64_t K, int64_t m0, int64_t m1, int64_t n0,
                  int64_t n1, bool trans_b, const T* B, int64_t ldb, T beta, T* C, int64_t ldc,
                  const MicroKernel<T>& uk) {
  const int64_t mr = uk.mr, nr = uk.nr, m_pad = round_up(M, mr), kc_max = k_block(K, uk);
  const bool direct_b = !trans_b && M <= kDirectBMaxRows;
  const int64_t nc_max = direct_b ? nr : std::min(uk.nc, round_up(n1 - n0, nr));
  T* packed_b = workspace_as<T>(Slot::PackB, static_cast<size_t>(kc_max * nc_max));
  alignas(64) T edge[16 * 64];  // mr x nr scratch for partial tiles
  for (int64_t jc = n0; jc < n1; jc += uk.nc) {
    const int64_t nc = std::min(uk.nc, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, K - pc);
      const T beta_block = pc == 0 ? beta : T(1);
      if (!direct_b) pack_b(packed_b, trans_b, B, ldb, pc, kc, jc, nc, nr);
      for (int64_t ic = m0; ic < m1; ic += uk.mc) {
        const int64_t mc = std::min(uk.mc, m1 - ic);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int64_t cols = std::min(nr, nc - jr);
          const T* b_panel = packed_b + (jr / nr) * kc * nr;
          int64_t b_stride = nr;
          if (direct_b && cols == nr) {
            b_panel = B + pc * ldb + jc + jr;
            b_stride = ldb;
          } else if (direct_b) {
            pack_b(packed_b, false, B, ldb, pc, kc, jc + jr, cols, nr);
            b_panel = packed_b;
          }
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int64_t row = ic + ir;
            const T* a_panel = packed_a + pc * m_pad + (row / mr) * kc * mr;
            const int64_t rows = std::min(mr, M - row);
            T* c_tile = C + row * ldc + jc + jr;
            if (rows == mr && cols == nr) {
              uk.run(kc, a_panel, b_panel, b_stride, c_tile, ldc, beta_block);
              continue;
            }
            uk.run(kc, a_panel, b_panel, b_stride, edge, nr, T(0));
            for (int64_t i = 0; i < rows; ++i)
              for (int64_t j = 0; j < cols; ++j)
                c_tile[i * ldc + j] = beta_block == T(0)
                                          ? edge[i * nr + j]
                                          : beta_block * c_tile[i * ldc + j] + edge[i * nr + j];
          }
        }
      }
    }
  }
}

// The inner-product path for C = alpha * A . B^T + beta * C (A: M x K, B: N x K, rows along K)
// over rows [m0, m1) of C: blocks of kDotKc along K and kDotNc rows of B keep a B block in L2
// while the A rows stream; tiles at the M/N edges copy their rows into zero-padded scratch.
constexpr int64_t kDotKc = 512, kDotNc = 256;

template <class T>
void dot_macro_kernel(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                      const T* B, int64_t ldb, T beta, T* C, int64_t ldc, int64_t m0, int64_t m1,
                      const MicroKernel<T>& uk) {
  const int64_t mr = uk.dot_mr, nr = uk.dot_nr;
  T* scratch = workspace_as<T>(Slot::PackB, static_cast<size_t>((mr + nr) * kDotKc));
  alignas(64) T edge[16 * 16];
  // Rows [first, first + count) of X (ld) restricted to [pc, pc + kc), as `rows` rows.
  auto padded = [&](T* dst, const T* X, int64_t ld, int64_t first, int64_t count, int64_t rows,
                    int64_t pc, int64_t kc) {
    for (int64_t r = 0; r < rows; ++r) {
      if (r < count) std::memcpy(dst + r * kc, X + (first + r) * ld + pc, sizeof(T) * kc);
      else std::fill(dst + r * kc, dst + (r + 1) * kc, T(0));
    }
  };
  for (int64_t jc = 0; jc < N; jc += kDotNc) {
    const int64_t j_end = std::min(N, jc + kDotNc);
    for (int64_t pc = 0; pc < K; pc += kDotKc) {
      const int64_t kc = std::min(kDotKc, K - pc);
      const T beta_block = pc == 0 ? beta : T(1);
      for (int64_t i = m0; i < m1; i += mr) {
        const int64_t rows = std::min(mr, m1 - i);
        for (int64_t j = jc; j < j_end; j += nr) {
          const int64_t cols = std::min(nr, j_end - j);
          if (rows == mr && cols == nr) {
            uk.dot(kc, A + i * lda + pc, lda, B + j * ldb + pc, ldb, C + i * ldc + j, ldc, alpha,
                   beta_block);
            continue;
          }
          T* a_rows = scratch;
          T* b_rows = scratch + mr * kc;
          padded(a_rows, A, lda, i, rows, mr, pc, kc);
          padded(b_rows, B, ldb, j, cols, nr, pc, kc);
          uk.dot(kc, a_rows, kc, b_rows, kc, edge, nr, alpha, T(0));
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t q = 0; q < cols; ++q) {
              T& out = C[(i + r) * ldc + j + q];
              out = beta_block == T(0) ? edge[r * nr + q] : beta_block * out + edge[r * nr + q];
            }
        }
      }
    }
  }
}

// C = beta * C (the K == 0 case); beta == 0 writes zeros without reading C.
template <class T>
void scale_c(int64_t M, int64_t N, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
}

}  // namespace

template <class T>
int64_t packed_a_size(int64_t M, int64_t K) {
  return round_up(M, kernel<T>().mr) * K;
}

template <class T>
void pack_a(T* packed, bool trans_a, int64_t M, int64_t K, T alpha, const T* A, int64_t lda) {
  pack_a_impl(packed, trans_a, M, K, alpha, A, lda, kernel<T>());
}

template <class T>
void gemm_packed_a(const T* packed_a, int64_t M, int64_t N, int64_t K, bool trans_b, const T* B,
                   int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return scale_c(M, N, beta, C, ldc);
  const MicroKernel<T>& uk = kernel<T>();
  const int threads = omp_in_parallel() ? 1 : num_threads();
  const int64_t m_panels = (M + uk.mr - 1) / uk.mr, n_panels = (N + uk.nr - 1) / uk.nr;
  const bool small = M * N * K < int64_t(48) * 48 * 48;
  if (threads <= 1 || small || (m_panels < 2 && n_panels < 2))
    return macro_kernel(packed_a, M, K, 0, M, 0, N, trans_b, B, ldb, beta, C, ldc, uk);
  const bool split_n = n_panels >= std::min<int64_t>(m_panels, 4 * threads);
  const int64_t units = split_n ? n_panels : m_panels;
  const int workers = static_cast<int>(std::min<int64_t>(threads, units));
#pragma omp parallel num_threads(workers)
  {
    const int64_t t = omp_get_thread_num(), team = omp_get_num_threads();
    const int64_t first = units * t / team, last = units * (t + 1) / team;
    if (split_n)
      macro_kernel(packed_a, M, K, 0, M, first * uk.nr, std::min(N, last * uk.nr), trans_b, B, ldb,
                   beta, C, ldc, uk);
    else
      macro_kernel(packed_a, M, K, first * uk.mr, std::min(M, last * uk.mr), 0, N, trans_b, B,
                   ldb, beta, C, ldc, uk);
  }
}

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) return scale_c(M, N, beta, C, ldc);
  if (!trans_a && trans_b) {  // both operands' rows run along K: inner products, no packing
    const MicroKernel<T>& uk = kernel<T>();
    const int threads = omp_in_parallel() ? 1 : num_threads();
    const int64_t units = (M + uk.dot_mr - 1) / uk.dot_mr;
    if (threads <= 1 || units < 2 || M * N * K < int64_t(48) * 48 * 48)
      return dot_macro_kernel(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 0, M, uk);
    const int workers = static_cast<int>(std::min<int64_t>(threads, units));
#pragma omp parallel num_threads(workers)
    {
      const int64_t t = omp_get_thread_num(), team = omp_get_num_threads();
      const int64_t first = units * t / team, last = units * (t + 1) / team;
      dot_macro_kernel(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, first * uk.dot_mr,
                       std::min(M, last * uk.dot_mr), uk);
    }
    return;
  }
  T* packed = workspace_as<T>(Slot::PackA, static_cast<size_t>(packed_a_size<T>(M, K)));
  pack_a(packed, trans_a, M, K, alpha, A, lda);
  gemm_packed_a(packed, M, N, K, trans_b, B, ldb, beta, C, ldc);
}

template <class T>
double micro_kernel_peak_gflops(double seconds) {
  const MicroKernel<T>& uk = kernel<T>();
  const int64_t kc = 128;
  std::vector<T> a(kc * uk.mr, T(1e-3)), b(kc * uk.nr, T(1e-3)), c(uk.mr * uk.nr, T(0));
  int64_t calls = 0;
  const double start = omp_get_wtime();
  double elapsed = 0.0;
  do {
    for (int i = 0; i < 1000; ++i) uk.run(kc, a.data(), b.data(), uk.nr, c.data(), uk.nr, T(1));
    calls += 1000;
    elapsed = omp_get_wtime() - start;
  } while (elapsed < seconds);
  return 2.0 * uk.mr * uk.nr * kc * calls / elapsed * 1e-9;
}

const char* gemm_kernel_name() { return kernels().f32.isa; }

#define FALTUNG_INSTANTIATE_GEMM(T)                                                             \
  template int64_t packed_a_size<T>(int64_t, int64_t);                                          \
  template void pack_a<T>(T*, bool, int64_t, int64_t, T, const T*, int64_t);                    \
  template void gemm_packed_a<T>(const T*, int64_t, int64_t, int64_t, bool, const T*, int64_t, \
                                 T, T*, int64_t);                                               \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*,  \
                        int64_t, T, T*, int64_t);                                       \
  template double micro_kernel_peak_gflops<T>(double);
FALTUNG_INSTANTIATE_GEMM(float)
FALTUNG_INSTANTIATE_GEMM(double)

}  // namespace faltung
