// The two row operations every depthwise pass is made of (cpp/cpu/depthwise.cpp), over rows of
// n contiguous elements, one tap = one source row and one weight:
//   sum:   out[x] = init + sum_t w[t] * src[t][x]           (forward, input gradient), over
//          `rows` rows: row r reads src[t] + r * src_stride, writes out + r * out_stride
//   dots:  acc[t][l] += sum over x = l mod kDotLanes of g[x] * src[t][x]   (weight gradient:
//          lane partial sums, added up by the caller once per weight)
// Entry [t] of the sum table takes exactly t taps (t = 1..kMaxFixedTaps: unrolled, the
// accumulators in registers: 3x3 kernels at any stride, and the phase subsets of strided input
// gradients); entry [0] takes any count (taps >= 0). dots goes tap by tap at any count. The code is portable C++ (depthwise_rows.inl)
// compiled once per ISA (depthwise_rows_avx512.cpp, _avx2.cpp, _generic.cpp) and chosen at run
// time like the GEMM kernels (same FALTUNG_ISA cap). Sums run in tap order, from init.
#pragma once
#include <cstdint>

namespace faltung::cpu {

constexpr int kMaxFixedTaps = 9;
constexpr int kDotLanes = 16;

template <class T>
using RowSumFn = void (*)(T* out, int64_t out_stride, int64_t rows, int64_t n, T init,
                          const T* const* src, int64_t src_stride, const T* w, int64_t taps);
template <class T>
using RowDotsFn = void (*)(T* acc, const T* g, int64_t n, const T* const* src, int64_t taps);

template <class T>
struct DepthwiseRows {
  RowSumFn<T> sum[kMaxFixedTaps + 1];
  RowDotsFn<T> dots;
};

// Each fills the tables and returns true, or returns false when built without that ISA.
bool avx512_depthwise_rows(DepthwiseRows<float>* f32, DepthwiseRows<double>* f64);
bool avx2_depthwise_rows(DepthwiseRows<float>* f32, DepthwiseRows<double>* f64);
void generic_depthwise_rows(DepthwiseRows<float>* f32, DepthwiseRows<double>* f64);

}  // namespace faltung::cpu
