// GEMM driver, BLIS style, row-major: C = alpha * op(A) * op(B) + beta * C for float and double.
// Loops (outer to inner): N in nc blocks -> K in kc blocks (pack B: kc x nc as nr-wide panels,
// about half of L2) -> mr-row panels of A (packed once, alpha folded in; a panel stays in L1)
// -> nr-wide panels of B (streamed from L2) -> micro-kernel (gemm_kernels_*.cpp).
// Threads split N (or M when N is short) into disjoint ranges; each packs its own B blocks into
// its workspace. Edge tiles run the micro-kernel into a small buffer and are copied back.
// The K-block loop body is public (gemm_block and its indirect forms) for the convolutions,
// which make their packed or in-place B themselves. A . B^T with both operands row-major takes
// an inner-product path instead that packs nothing.
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
      } else if (uk.pack_rows != nullptr) {
        uk.pack_rows(dst, A + ip * mr * lda + pc, lda, rows, kc, alpha);
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

// Packs op(B)[0:kc, 0:n] as nr-wide panels (see gemm.hpp), zero-padding the last panel.
template <class T>
void pack_b_impl(T* dst, bool trans_b, int64_t kc, int64_t n, const T* B, int64_t ldb,
                 int64_t nr) {
  for (int64_t jp = 0; jp * nr < n; ++jp) {
    T* panel = dst + jp * kc * nr;
    const int64_t cols = std::min(nr, n - jp * nr);
    if (trans_b) {  // B is N x K: column j of op(B) is row j of B
      for (int64_t jj = 0; jj < cols; ++jj) {
        const T* src = B + (jp * nr + jj) * ldb;
        for (int64_t k = 0; k < kc; ++k) panel[k * nr + jj] = src[k];
      }
      for (int64_t jj = cols; jj < nr; ++jj)
        for (int64_t k = 0; k < kc; ++k) panel[k * nr + jj] = T(0);
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        T* out = panel + k * nr;
        std::memcpy(out, B + k * ldb + jp * nr, sizeof(T) * cols);
        std::fill(out + cols, out + nr, T(0));
      }
    }
  }
}

// C tile = edge (mr x nr scratch, only rows x cols of it), or beta * C + edge.
template <class T>
void store_edge(T* c_tile, int64_t ldc, const T* edge, int64_t nr, int64_t rows, int64_t cols,
                T beta) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t q = 0; q < cols; ++q)
      c_tile[r * ldc + q] =
          beta == T(0) ? edge[r * nr + q] : beta * c_tile[r * ldc + q] + edge[r * nr + q];
}

// One K block on the calling thread, BLIS's inner loops: each mr x kc A panel is loaded into L1
// once and multiplied with every nr-wide panel of the B block, which stays in L2. Edge tiles
// run the micro-kernel into a small buffer and are copied back.
template <class T>
void block_kernel(const T* packed_a, int64_t M, int64_t pc, int64_t kc, int64_t m_begin,
                  int64_t m_end, const T* packed_b, int64_t n, T beta, T* C, int64_t ldc,
                  const MicroKernel<T>& uk) {
  const int64_t mr = uk.mr, nr = uk.nr;
  const T* a_block = packed_a + pc * round_up(M, mr);
  alignas(64) T edge[16 * 64];  // mr x nr scratch for partial tiles
  for (int64_t i = m_begin; i < m_end; i += mr) {
    const T* a_panel = a_block + (i / mr) * kc * mr;
    const int64_t rows = std::min(mr, m_end - i);
    for (int64_t j = 0; j < n; j += nr) {
      const T* b_panel = packed_b + (j / nr) * kc * nr;
      const int64_t cols = std::min(nr, n - j);
      T* c_tile = C + (i - m_begin) * ldc + j;
      if (rows == mr && cols == nr) {
        uk.run(kc, a_panel, b_panel, nr, c_tile, ldc, beta);
        continue;
      }
      uk.run(kc, a_panel, b_panel, nr, edge, nr, T(0));
      store_edge(c_tile, ldc, edge, nr, rows, cols, beta);
    }
  }
}

template <class T>
void indirect_b_kernel(const T* packed_a, int64_t M, int64_t pc, int64_t kc, int64_t m_begin,
                       int64_t m_end, const T* const* b_rows, int64_t n, T beta, T* C,
                       int64_t ldc, const MicroKernel<T>& uk) {
  const int64_t mr = uk.mr, nr = uk.nr;
  const T* a_block = packed_a + pc * round_up(M, mr);
  const int64_t full = n / nr * nr;
  alignas(64) T edge[16 * 64];
  // The last, partial column panel is gathered (zero-padded), so no row is read past column n.
  T* tail = full < n ? workspace_as<T>(Slot::PackB, static_cast<size_t>(kc * nr)) : nullptr;
  if (tail != nullptr) {
    GatherRun runs[64];
    int64_t count = 0;
    for (int64_t j = full; j < n; j += uk.lanes) {
      const int32_t vector = static_cast<int32_t>((j - full) / uk.lanes);
      runs[count++] = GatherRun{j, vector, 0, static_cast<int32_t>(std::min<int64_t>(uk.lanes, n - j))};
    }
    uk.gather_panel(tail, kc, b_rows, runs, count);
  }
  for (int64_t i = m_begin; i < m_end; i += mr) {
    const T* a_panel = a_block + (i / mr) * kc * mr;
    const int64_t rows = std::min(mr, m_end - i);
    T* c_row = C + (i - m_begin) * ldc;
    // The first row panel's pass brings B into cache: it prefetches the next column panel.
    const auto run = uk.run_indirect_b[i == m_begin && full > nr ? 1 : 0];
    for (int64_t j = 0; j < full; j += nr) {
      if (rows == mr) {
        run(kc, a_panel, b_rows, j, c_row + j, ldc, beta);
      } else {
        run(kc, a_panel, b_rows, j, edge, nr, T(0));
        store_edge(c_row + j, ldc, edge, nr, rows, nr, beta);
      }
    }
    if (tail != nullptr) {
      uk.run(kc, a_panel, tail, nr, edge, nr, T(0));
      store_edge(c_row + full, ldc, edge, nr, rows, n - full, beta);
    }
  }
}

template <class T>
void indirect_a_kernel(const T* const* a_rows, int64_t m, int64_t segments, int64_t seg_len,
                       const int64_t* seg_offset, const T* packed_b, int64_t n, T beta, T* C,
                       int64_t ldc, const MicroKernel<T>& uk) {
  const int64_t mr = uk.mr, nr = uk.nr, kc = segments * seg_len;
  alignas(64) T edge[16 * 64];
  const T* rows_ptr[16];
  for (int64_t i = 0; i < m; i += mr) {
    const int64_t rows = std::min(mr, m - i);
    // Rows past m repeat the last row; their results are dropped.
    for (int64_t r = 0; r < mr; ++r) rows_ptr[r] = a_rows[std::min(i + r, m - 1)];
    for (int64_t j = 0; j < n; j += nr) {
      const int64_t cols = std::min(nr, n - j);
      const T* b_panel = packed_b + (j / nr) * kc * nr;
      T* c_tile = C + i * ldc + j;
      if (rows == mr && cols == nr) {
        uk.run_indirect_a(segments, seg_len, seg_offset, rows_ptr, b_panel, c_tile, ldc, beta);
      } else {
        uk.run_indirect_a(segments, seg_len, seg_offset, rows_ptr, b_panel, edge, nr, T(0));
        store_edge(c_tile, ldc, edge, nr, rows, cols, beta);
      }
    }
  }
}

// Rows [m_begin, m_end) and columns [n_begin, n_end) of C = packed_A . op(B) + beta * C on the
// calling thread: B blocks of kc x nc are packed into this thread's workspace one at a time.
template <class T>
void macro_kernel(const T* packed_a, int64_t M, int64_t K, int64_t m_begin, int64_t m_end,
                  int64_t n_begin, int64_t n_end, bool trans_b, const T* B, int64_t ldb, T beta,
                  T* C, int64_t ldc, const MicroKernel<T>& uk) {
  const int64_t kc_max = k_block(K, uk);
  T* packed_b = workspace_as<T>(Slot::PackB, static_cast<size_t>(kc_max * round_up(uk.nc, uk.nr)));
  for (int64_t jc = n_begin; jc < n_end; jc += uk.nc) {
    const int64_t nc = std::min(uk.nc, n_end - jc);
    for (int64_t pc = 0; pc < K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, K - pc);
      const T* b_origin = trans_b ? B + jc * ldb + pc : B + pc * ldb + jc;
      pack_b_impl(packed_b, trans_b, kc, nc, b_origin, ldb, uk.nr);
      block_kernel(packed_a, M, pc, kc, m_begin, m_end, packed_b, nc, pc == 0 ? beta : T(1),
                   C + m_begin * ldc + jc, ldc, uk);
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
GemmBlocking gemm_blocking() {
  const MicroKernel<T>& uk = kernel<T>();
  return {uk.mr, uk.nr, uk.lanes, uk.kc, uk.nc};
}

template <class T>
int64_t gemm_k_block(int64_t K) {
  return k_block(K, kernel<T>());
}

template <class T>
int64_t packed_a_size(int64_t M, int64_t K) {
  return round_up(M, kernel<T>().mr) * K;
}

template <class T>
void pack_a(T* packed, bool trans_a, int64_t M, int64_t K, T alpha, const T* A, int64_t lda) {
  pack_a_impl(packed, trans_a, M, K, alpha, A, lda, kernel<T>());
}

template <class T>
int64_t packed_b_size(int64_t kc, int64_t n) {
  return kc * round_up(n, kernel<T>().nr);
}

template <class T>
void pack_b(T* packed, bool trans_b, int64_t kc, int64_t n, const T* B, int64_t ldb) {
  pack_b_impl(packed, trans_b, kc, n, B, ldb, kernel<T>().nr);
}

template <class T>
void gemm_block(const T* packed_a, int64_t M, int64_t pc, int64_t kc, int64_t m_begin,
                int64_t m_end, const T* packed_b, int64_t n, T beta, T* C, int64_t ldc) {
  block_kernel(packed_a, M, pc, kc, m_begin, m_end, packed_b, n, beta, C, ldc, kernel<T>());
}

template <class T>
void gemm_block_indirect_b(const T* packed_a, int64_t M, int64_t pc, int64_t kc, int64_t m_begin,
                           int64_t m_end, const T* const* b_rows, int64_t n, T beta, T* C,
                           int64_t ldc) {
  indirect_b_kernel(packed_a, M, pc, kc, m_begin, m_end, b_rows, n, beta, C, ldc, kernel<T>());
}

template <class T>
void gather_b_panel(T* panel, int64_t kc, const T* const* b_rows, const GatherRun* runs,
                    int64_t count) {
  kernel<T>().gather_panel(panel, kc, b_rows, runs, count);
}

template <class T>
void gemm_block_indirect_a(const T* const* a_rows, int64_t m, int64_t segments, int64_t seg_len,
                           const int64_t* seg_offset, const T* packed_b, int64_t n, T beta, T* C,
                           int64_t ldc) {
  indirect_a_kernel(a_rows, m, segments, seg_len, seg_offset, packed_b, n, beta, C, ldc,
                    kernel<T>());
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
  // Split N when it has panels for every thread (each thread packs only its own B blocks);
  // otherwise split M, every thread packing the same B blocks.
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
  template GemmBlocking gemm_blocking<T>();                                                     \
  template int64_t gemm_k_block<T>(int64_t);                                                    \
  template int64_t packed_b_size<T>(int64_t, int64_t);                                          \
  template void pack_b<T>(T*, bool, int64_t, int64_t, const T*, int64_t);                        \
  template void gemm_block<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, const T*,  \
                              int64_t, T, T*, int64_t);                                         \
  template void gemm_block_indirect_b<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t,  \
                                         const T* const*, int64_t, T, T*, int64_t);             \
  template void gather_b_panel<T>(T*, int64_t, const T* const*, const GatherRun*, int64_t);   \
  template void gemm_block_indirect_a<T>(const T* const*, int64_t, int64_t, int64_t,             \
                                         const int64_t*, const T*, int64_t, T, T*, int64_t);    \
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
