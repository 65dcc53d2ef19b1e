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

// kDotLanes elements as one GCC/Clang vector (one or more registers of the ISA this file is
// compiled for): a float reduction is not vectorised without reassociation, and GCC vectorised
// an unrolled all-taps loop across the taps with gathers, so the lanes are spelt out.
template <class T>
struct LanesOf;
template <>
struct LanesOf<float> {
  typedef float type __attribute__((vector_size(kDotLanes * sizeof(float))));
};
template <>
struct LanesOf<double> {
  typedef double type __attribute__((vector_size(kDotLanes * sizeof(double))));
};
template <class T>
using Lanes = typename LanesOf<T>::type;

// (memcpy: an unaligned load; no vector crosses a function boundary, whose ABI would depend on
// the ISA)
#define FALTUNG_LOAD_LANES(v, p) std::memcpy(&(v), (p), sizeof(v))

// Up to 8 taps at once: g is loaded once per block for all of them, each tap's partial sums
// stay in registers (one chain per tap: enough independent FMAs to hide their latency).
template <class T, int Taps>
void row_dots_fixed(T* acc, const T* g, int64_t n, const T* const* src) {
  constexpr int L = kDotLanes;
  Lanes<T> part[Taps];
  const T* s[Taps];
  for (int t = 0; t < Taps; ++t) {
    FALTUNG_LOAD_LANES(part[t], acc + t * L);
    s[t] = src[t];
  }
  int64_t x = 0;
  for (; x + L <= n; x += L) {
    Lanes<T> gv, sv;
    FALTUNG_LOAD_LANES(gv, g + x);
    for (int t = 0; t < Taps; ++t) {
      FALTUNG_LOAD_LANES(sv, s[t] + x);
      part[t] += gv * sv;
    }
  }
  for (int t = 0; t < Taps; ++t) {
    std::memcpy(acc + t * L, &part[t], sizeof(part[t]));
    for (int64_t e = x; e < n; ++e) acc[t * L + (e - x)] += g[e] * s[t][e];
  }
}

template <class T>
void row_dots(T* acc, const T* g, int64_t n, const T* const* src, int64_t taps) {
  constexpr int kGroup = 3;  // a 3x3 kernel's row; 9 taps are three groups
  int64_t t = 0;
  for (; t + kGroup <= taps; t += kGroup)
    row_dots_fixed<T, kGroup>(acc + t * kDotLanes, g, n, src + t);
  for (; t < taps; ++t) row_dots_fixed<T, 1>(acc + t * kDotLanes, g, n, src + t);
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
#undef FALTUNG_LOAD_LANES
