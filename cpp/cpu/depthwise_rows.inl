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

// part[0:L) += g[0:L) * s[0:L)
template <int L, class T>
inline void multiply_add(T* part, const T* __restrict g, const T* __restrict s) {
  for (int l = 0; l < L; ++l) part[l] += g[l] * s[l];
}

// Tap by tap, each dot product in lane partial sums (a float reduction is not vectorised
// without reassociation, so the lanes are spelt out): four independent chains of kDotLanes in
// the main loop (one chain would wait on the FMA latency), the rest in blocks of 16, 8, 4 lanes
// and single elements. (An unrolled all-taps loop was vectorised by GCC across the taps, with
// gathers: 10x slower.)
template <class T>
void row_dots(T* acc, const T* __restrict g, int64_t n, const T* const* src, int64_t taps) {
  constexpr int L = kDotLanes;
  for (int64_t t = 0; t < taps; ++t, acc += L) {
    const T* __restrict s = src[t];
    T part[4 * L] = {};
    int64_t x = 0;
    for (; x + 4 * L <= n; x += 4 * L) multiply_add<4 * L>(part, g + x, s + x);
    for (; x + L <= n; x += L) multiply_add<L>(part, g + x, s + x);
    if (x + L / 2 <= n) {
      multiply_add<L / 2>(part, g + x, s + x);
      x += L / 2;
    }
    if (x + L / 4 <= n) {
      multiply_add<L / 4>(part, g + x, s + x);
      x += L / 4;
    }
    for (int l = 0; x < n; ++x, ++l) part[l] += g[x] * s[x];
    for (int l = 0; l < L; ++l) acc[l] += (part[l] + part[L + l]) + (part[2 * L + l] + part[3 * L + l]);
  }
}

template <class T, int... Taps>
void fill_rows(DepthwiseRows<T>* k, std::integer_sequence<int, Taps...>) {
  k->sum[0] = row_sum_any<T>;
  ((k->sum[Taps + 1] = row_sum_fixed<T, Taps + 1>), ...);
  k->dots = row_dots<T>;
}

bool fill_rows(DepthwiseRows<float>* f32, DepthwiseRows<double>* f64) {
  fill_rows(f32, std::make_integer_sequence<int, kMaxFixedTaps>{});
  fill_rows(f64, std::make_integer_sequence<int, kMaxFixedTaps>{});
  return true;
}
