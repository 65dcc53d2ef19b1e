// Inner loops of the pooling kernels that gain from 16-float vectors with masked tails, float32
// only: one table, filled by pool_kernels_avx512.cpp when the CPU runs AVX-512 (the ISA the
// GEMM chose, FALTUNG_ISA caps it), else empty (nullptr entries: the callers in pool_max.cpp and
// pool_avg.cpp keep their portable loops, which give the same results).
// The ISA file includes nothing but this header and <immintrin.h>.
#pragma once
#include <cstdint>

namespace faltung::cpu {

struct PoolKernels {
  // 2x2 windows with stride 2 tiling whole rows, forward: `rows` output rows of w / 2 values,
  // contiguous in y, from 2 * rows input rows of width w (even), contiguous in x.
  // max: PyTorch's NaN-propagating maximum; avg: ((top + bottom) even + (top + bottom) odd) / div.
  void (*max_2x2_rows)(float* y, const float* x, int64_t rows, int64_t w);
  void (*avg_2x2_rows)(float* y, const float* x, int64_t rows, int64_t w, float div);
  // 2x2/2 max-pool backward of one plane whose windows tile it exactly (in_h = 2 out_h, in_w =
  // w = 2 out_w < 2^31): every cell of gx gets its window's gradient when the window's index
  // names it, else 0. Returns false, with gx partly written, when some index does not name a
  // cell of its own window.
  bool (*max_grad_2x2_plane)(float* gx, const float* g, const int64_t* idx, int64_t out_h,
                             int64_t out_w);
  // y[i] = (sum of x[i n .. (i + 1) n)) / div for i < planes: global average pooling.
  void (*plane_means)(float* y, const float* x, int64_t planes, int64_t n, float div);
  // out = (3x3 box sums of in, zero outside the plane) / div over `planes` planes of h x w:
  // average pooling 3x3, stride 1, padding 1 with one divisor for every
  // window (Inception's branch pool), forward on x and backward on grad_y alike.
  void (*box_3x3)(float* out, const float* in, int64_t planes, int64_t h, int64_t w, float div);
  // 3x3 windows with stride 2 (AlexNet, ResNet's stem; pad_top, pad_left 0 or 1, dilation 1),
  // max-pool backward of one h x w plane (3 <= w, h w < 2^31): every cell of gx gets the sum of
  // the gradients whose index names it. Returns false, with gx partly written, when some index
  // does not name a cell of its own window.
  bool (*max_grad_3x3s2_plane)(float* gx, const float* g, const int64_t* idx, int64_t h,
                               int64_t w, int64_t out_h, int64_t out_w, int64_t pad_top,
                               int64_t pad_left);
};

const PoolKernels& pool_kernels();  // the table for this CPU

// Fills the table and returns true; false (table untouched) when the build or the CPU has none.
bool avx512_pool_kernels(PoolKernels* k);

}  // namespace faltung::cpu
