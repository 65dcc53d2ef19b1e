// GEMM driver, BLIS style, row-major: C = alpha * op(A) * op(B) + beta * C for float and double.
// Loops (outer to inner): N in nc blocks -> K in kc blocks (pack B: kc x nc as nr-wide panels,
// about half of L2) -> mr-row panels of A (packed once, alpha folded in; a panel stays in L1)
// -> nr-wide panels of B (streamed from L2) -> micro-kernel (gemm_kernels_*.cpp).
// Threads split N (or M when N is short) into disjoint ranges; each packs its own B blocks into
// its workspace. Edge tiles run the micro-kernel into a small buffer and are copied back.
// The K-block loop body is public (gemm_block and its indirect forms) for the convolutions,
// which make their packed or in-place B themselves.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "faltung/gemm.hpp"
#include "faltung/threads.hpp"
#include "gemm_kernels.hpp"

namespace faltung {
namespace {

using cpu::MicroKernel;
// The best kernels this CPU runs; FALTUNG_ISA=avx2 or generic caps the choice (so that every
// kernel family can be tested on one machine), an unknown or unsupported value is ignored.
struct KernelTable {
  MicroKernel<float> f32;
  MicroKernel<double> f64;
  KernelTable() {
    cpu::generic_kernels(&f32, &f64);
#if defined(FALTUNG_X86)
    const char* cap = std::getenv("FALTUNG_ISA");
    const std::string limit = cap != nullptr ? cap : "";
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f") && limit != "avx2" && limit != "generic";
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                      limit != "generic";
    if (avx512) {
      cpu::avx512_kernels(&f32, &f64);
    } else if (avx2) {
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
// Only the panels [panel_begin, panel_end) of every K block are written.
template <class T>
void pack_a_impl(T* packed, bool trans_a, int64_t M, int64_t K, T alpha, const T* A, int64_t lda,
                 int64_t panel_begin, int64_t panel_end, const MicroKernel<T>& uk) {
  const int64_t mr = uk.mr, m_pad = round_up(M, mr), kc_max = k_block(K, uk);
  for (int64_t pc = 0; pc < K; pc += kc_max) {
    const int64_t kc = std::min(kc_max, K - pc);
    for (int64_t ip = panel_begin; ip < panel_end; ++ip) {
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

// dst[(j / nr) * panel_stride + k * nr + j % nr] = src[j * ld + k] for j < n, k < kc.
template <class T>
void pack_cols_impl(T* dst, int64_t panel_stride, const T* src, int64_t ld, int64_t n, int64_t kc,
                    const MicroKernel<T>& uk) {
  if (uk.pack_cols != nullptr) return uk.pack_cols(dst, panel_stride, src, ld, n, kc);
  const int64_t nr = uk.nr;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t k = 0; k < kc; ++k) dst[(j / nr) * panel_stride + k * nr + j % nr] = src[j * ld + k];
}

// Packs op(B)[0:kc, 0:n] as nr-wide panels (see gemm.hpp), zero-padding the last panel.
template <class T>
void pack_b_impl(T* dst, bool trans_b, int64_t kc, int64_t n, const T* B, int64_t ldb,
                 const MicroKernel<T>& uk) {
  const int64_t nr = uk.nr;
  if (trans_b) {  // B is N x K: column j of op(B) is row j of B
    pack_cols_impl(dst, kc * nr, B, ldb, n, kc, uk);
  } else {
    // Row by row, so that each row of B is read front to back (one stream the hardware
    // prefetcher follows, rather than one per panel).
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t jp = 0; jp * nr < n; ++jp)
        std::memcpy(dst + jp * kc * nr + k * nr, B + k * ldb + jp * nr,
                    sizeof(T) * std::min(nr, n - jp * nr));
  }
  if (n % nr != 0) {
    T* last = dst + (n / nr) * kc * nr;
    for (int64_t k = 0; k < kc; ++k) std::fill(last + k * nr + n % nr, last + (k + 1) * nr, T(0));
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
      pack_b_impl(packed_b, trans_b, kc, nc, b_origin, ldb, uk);
      block_kernel(packed_a, M, pc, kc, m_begin, m_end, packed_b, nc, pc == 0 ? beta : T(1),
                   C + m_begin * ldc + jc, ldc, uk);
    }
  }
}

// C = beta * C (the K == 0 case); beta == 0 writes zeros without reading C.
template <class T>
void scale_c(int64_t M, int64_t N, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
}

// C = packed_A . op(B) + beta * C over all K blocks, threaded like gemm().
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
  const MicroKernel<T>& uk = kernel<T>();
  pack_a_impl(packed, trans_a, M, K, alpha, A, lda, 0, (M + uk.mr - 1) / uk.mr, uk);
}

template <class T>
void pack_a_panels(T* packed, bool trans_a, int64_t M, int64_t K, T alpha, const T* A,
                   int64_t lda, int64_t panel_begin, int64_t panel_end) {
  pack_a_impl(packed, trans_a, M, K, alpha, A, lda, panel_begin, panel_end, kernel<T>());
}

template <class T>
int64_t packed_b_size(int64_t kc, int64_t n) {
  return kc * round_up(n, kernel<T>().nr);
}

template <class T>
void pack_b_columns(T* dst, int64_t panel_stride, const T* src, int64_t ld, int64_t n,
                    int64_t kc) {
  pack_cols_impl(dst, panel_stride, src, ld, n, kc, kernel<T>());
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
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) return scale_c(M, N, beta, C, ldc);
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
  template void gemm_block<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, const T*,  \
                              int64_t, T, T*, int64_t);                                         \
  template void gemm_block_indirect_b<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t,  \
                                         const T* const*, int64_t, T, T*, int64_t);             \
  template void pack_b_columns<T>(T*, int64_t, const T*, int64_t, int64_t, int64_t);           \
  template void gather_b_panel<T>(T*, int64_t, const T* const*, const GatherRun*, int64_t);   \
  template void gemm_block_indirect_a<T>(const T* const*, int64_t, int64_t, int64_t,             \
                                         const int64_t*, const T*, int64_t, T, T*, int64_t);    \
  template int64_t packed_a_size<T>(int64_t, int64_t);                                          \
  template void pack_a<T>(T*, bool, int64_t, int64_t, T, const T*, int64_t);                    \
  template void pack_a_panels<T>(T*, bool, int64_t, int64_t, T, const T*, int64_t, int64_t,      \
                                 int64_t);                                                      \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*,  \
                        int64_t, T, T*, int64_t);                                       \
  template double micro_kernel_peak_gflops<T>(double);
FALTUNG_INSTANTIATE_GEMM(float)
FALTUNG_INSTANTIATE_GEMM(double)

}  // namespace faltung
