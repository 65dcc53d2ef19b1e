// The depthwise row operations (depthwise_rows.hpp) as portable C++ the compiler vectorises;
// included inside an unnamed namespace by each per-ISA file, so every ISA gets its own copy and
// none leaks into another. The unrolled sums keep each output element's accumulator in a
// register over all taps; the any-count sum streams through the row once per tap.

template <class T, int Taps>
void row_sum_fixed(T* out, int64_t out_stride, int64_t rows, int64_t n, T init,
                   const T* const* src, int64_t src_stride, const T* w, int64_t) {
  const T* s[Taps];
  T c[Taps];
  for (int t = 0; t < Taps; ++t) {
    s[t] = src[t];
    c[t] = w[t];
  }
  for (int64_t r = 0; r < rows; ++r, out += out_stride) {
    T* __restrict o = out;
    for (int64_t x = 0; x < n; ++x) {
      T a = init;
      for (int t = 0; t < Taps; ++t) a += c[t] * s[t][x];
      o[x] = a;
    }
    for (int t = 0; t < Taps; ++t) s[t] += src_stride;
  }
}

template <class T>
void row_sum_any(T* out, int64_t out_stride, int64_t rows, int64_t n, T init,
                 const T* const* src, int64_t src_stride, const T* w, int64_t taps) {
  for (int64_t r = 0; r < rows; ++r, out += out_stride) {
    T* __restrict o = out;
    for (int64_t x = 0; x < n; ++x) o[x] = init;
    for (int64_t t = 0; t < taps; ++t) {
      const T* __restrict s = src[t] + r * src_stride;
      const T c = w[t];
      for (int64_t x = 0; x < n; ++x) o[x] += c * s[x];
    }
  }
}

#include "depthwise_tiles.inl"

template <class T, int... Taps>
void fill_rows(DepthwiseRows<T>* k, std::integer_sequence<int, Taps...>) {
  k->sum[0] = row_sum_any<T>;
  ((k->sum[Taps + 1] = row_sum_fixed<T, Taps + 1>), ...);
  fill_tiles(k);
}

bool fill_rows(DepthwiseRows<float>* f32, DepthwiseRows<double>* f64) {
  fill_rows(f32, std::make_integer_sequence<int, kMaxFixedTaps>{});
  fill_rows(f64, std::make_integer_sequence<int, kMaxFixedTaps>{});
  return true;
}
