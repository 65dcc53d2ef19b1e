// The body of the normalization kernels (norm_kernels.hpp), included once per instruction set
// by norm_kernels_{generic,avx2,avx512}.cpp, each compiled for its ISA.
// The includer defines FALTUNG_NORM_LANES (independent double accumulators: one accumulator
// would make every sum wait on the add latency, 3x the cost of reading the values) and
// FALTUNG_NORM_FILL, the name of the function that fills the tables. Everything else has
// internal linkage, so the ISA copies never meet at link time; no std:: template or inline
// library function is used (compiler builtins instead), as an out-of-line copy of one could.
// Sums run in double for both dtypes. Batch norm: x - mean is taken as (x - hi) - lo with the
// mean split into two T values, which keeps it accurate in float when the mean is large
// against the spread.

namespace faltung::cpu {
namespace {

constexpr int kLanes = FALTUNG_NORM_LANES;

// ------------------------------------------------------------------------------ batch norm

// (sum of a(i), sum of b(i)) for i < n added to sum_a, sum_b.
template <class A, class B>
inline void lane_sums(double& sum_a, double& sum_b, int64_t n, A&& a, B&& b) {
  double acc_a[kLanes] = {}, acc_b[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      acc_a[j] += a(i + j);
      acc_b[j] += b(i + j);
    }
  for (int64_t j = 0; i + j < n; ++j) {
    acc_a[j] += a(i + j);
    acc_b[j] += b(i + j);
  }
  // Halving tree: a chain of kLanes dependent adds would cost more than a 7x7 plane's loads.
  // sum_a and sum_b are touched once, as they may alias for all the compiler knows.
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int j = 0; j < width; ++j) {
      acc_a[j] += acc_a[j + width];
      acc_b[j] += acc_b[j + width];
    }
  sum_a += acc_a[0];
  sum_b += acc_b[0];
}

inline double zero(int64_t) { return 0.0; }

template <class T>
struct SplitMean {
  T hi, lo;
  explicit SplitMean(double mean)
      : hi(static_cast<T>(mean)), lo(static_cast<T>(mean - static_cast<double>(hi))) {}
};

template <class T>
double sum(const T* x, int64_t n) {
  double total = 0, unused = 0;
  lane_sums(total, unused, n, [x](int64_t i) { return static_cast<double>(x[i]); }, zero);
  return total;
}

template <class T>
double squares(const T* x, int64_t n, double mean) {
  double total = 0, unused = 0;
  auto square = [x, mean](int64_t i) {
    const double d = static_cast<double>(x[i]) - mean;
    return d * d;
  };
  lane_sums(total, unused, n, square, zero);
  return total;
}

template <class T>
void gradient_sums(double* sum_g, double* sum_gx, const T* g, const T* x, int64_t n, double mean) {
  lane_sums(*sum_g, *sum_gx, n, [g](int64_t i) { return static_cast<double>(g[i]); },
            [g, x, mean](int64_t i) {
              return static_cast<double>(g[i]) * (static_cast<double>(x[i]) - mean);
            });
}

template <class T>
void affine(T* y, const T* x, int64_t n, double mean, double a, double b) {
  const SplitMean<T> m(mean);
  const T ta = static_cast<T>(a), tb = static_cast<T>(b);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - m.hi) - m.lo) * ta + tb;
}

template <class T>
void input_gradient(T* gx, const T* g, const T* x, int64_t n, double mean, double a, double b,
                    double c) {
  const SplitMean<T> m(mean);
  const T ta = static_cast<T>(a), tb = static_cast<T>(b), tc = static_cast<T>(c);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) gx[i] = g[i] * ta + ((x[i] - m.hi) - m.lo) * tb + tc;
}

template <class T>
void scale(T* gx, const T* g, int64_t n, double a) {
  const T ta = static_cast<T>(a);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) gx[i] = g[i] * ta;
}

// ------------------------------------------------- batch norm over a block of short runs
// Runs r < runs of n values each, run r at x + r n. kGroup runs are summed side by side, each
// in one vector of kVector double accumulators (one register of the ISA; the compiler's vector
// extensions, as its loop vectorizer turned these loads into scalar ones), so the add latency
// is hidden by the other runs, and a run's final reduction is one vector's halving tree.

constexpr int kVector = kLanes / 4;  // doubles in one vector register
constexpr int kGroup = 4;

typedef double Doubles __attribute__((vector_size(kVector * sizeof(double))));
typedef float Floats __attribute__((vector_size(kVector * sizeof(float))));

inline Doubles widen(const float* p) {
  Floats v;
  __builtin_memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, Doubles);
}

inline Doubles widen(const double* p) {
  Doubles v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

inline double widen_one(const float* p) { return static_cast<double>(*p); }
inline double widen_one(const double* p) { return *p; }

inline double lane_total(Doubles v) {
  double lane[kVector];
  __builtin_memcpy(lane, &v, sizeof lane);
  for (int width = kVector / 2; width > 0; width /= 2)
    for (int j = 0; j < width; ++j) lane[j] += lane[j + width];
  return lane[0];
}

// For runs k < G (values x[k], gradients g[k] where kTwo): sum_a[k] += the sum over i < n of
// a(g[k][i], x[k][i], mean[k]), sum_b[k] += the same of b where kTwo. a and b take vectors
// and scalars alike.
template <int G, bool kTwo, class T, class A, class B>
inline void group_sums(double* sum_a, double* sum_b, const T* const* g, const T* const* x,
                       const double* mean, int64_t n, A&& a, B&& b) {
  Doubles acc_a[G] = {}, acc_b[G] = {};
  int64_t i = 0;
  for (; i + kVector <= n; i += kVector)
    for (int k = 0; k < G; ++k) {
      const Doubles xv = widen(x[k] + i);
      const Doubles gv = kTwo ? widen(g[k] + i) : xv;
      acc_a[k] += a(gv, xv, mean[k]);
      if (kTwo) acc_b[k] += b(gv, xv, mean[k]);
    }
  for (int k = 0; k < G; ++k) {
    double tail_a = 0, tail_b = 0;
    for (int64_t t = i; t < n; ++t) {
      const double xs = widen_one(x[k] + t);
      const double gs = kTwo ? widen_one(g[k] + t) : xs;
      tail_a += a(gs, xs, mean[k]);
      if (kTwo) tail_b += b(gs, xs, mean[k]);
    }
    sum_a[k] += lane_total(acc_a[k]) + tail_a;
    if (kTwo) sum_b[k] += lane_total(acc_b[k]) + tail_b;
  }
}

template <int G>
struct Group {
  static constexpr int value = G;
};

// Runs r .. r + G of a block: their starts and means (zero where none are given).
template <class T, int G>
struct Rows {
  const T* at[G];
  double mean[G];
  Rows(const T* x, int64_t r, int64_t n, const double* means) {
    for (int k = 0; k < G; ++k) {
      at[k] = x + (r + k) * n;
      mean[k] = means ? means[r + k] : 0.0;
    }
  }
};

// sums(Group<G>(), r) for runs r .. r + G: groups of kGroup runs, then run by run for the rest.
template <class Sums>
inline void by_groups(int64_t runs, Sums&& sums) {
  int64_t r = 0;
  for (; r + kGroup <= runs; r += kGroup) sums(Group<kGroup>(), r);
  for (; r < runs; ++r) sums(Group<1>(), r);
}

auto value_of = [](auto, auto x, double) { return x; };
auto square_of = [](auto, auto x, double mean) { return (x - mean) * (x - mean); };
auto gradient_of = [](auto g, auto, double) { return g; };
auto gradient_times_deviation = [](auto g, auto x, double mean) { return g * (x - mean); };

template <class T>
void block_sums(double* sum, const T* x, int64_t runs, int64_t n) {
  by_groups(runs, [&](auto group, int64_t r) {
    constexpr int G = decltype(group)::value;
    const Rows<T, G> v(x, r, n, nullptr);
    group_sums<G, false>(sum + r, nullptr, v.at, v.at, v.mean, n, value_of, value_of);
  });
}

template <class T>
void block_squares(double* sum, const T* x, int64_t runs, int64_t n, const double* mean) {
  by_groups(runs, [&](auto group, int64_t r) {
    constexpr int G = decltype(group)::value;
    const Rows<T, G> v(x, r, n, mean);
    group_sums<G, false>(sum + r, nullptr, v.at, v.at, v.mean, n, square_of, square_of);
  });
}

template <class T>
void block_gradient_sums(double* sum_g, double* sum_gx, const T* g, const T* x, int64_t runs,
                         int64_t n, const double* mean) {
  by_groups(runs, [&](auto group, int64_t r) {
    constexpr int G = decltype(group)::value;
    const Rows<T, G> u(g, r, n, nullptr), v(x, r, n, mean);
    group_sums<G, true>(sum_g + r, sum_gx + r, u.at, v.at, v.mean, n, gradient_of,
                        gradient_times_deviation);
  });
}

template <class T>
void block_affine(T* y, const T* x, int64_t runs, int64_t n, const double* mean, const double* a,
                  const double* b) {
  for (int64_t r = 0; r < runs; ++r) affine(y + r * n, x + r * n, n, mean[r], a[r], b[r]);
}

template <class T>
void block_input_gradient(T* gx, const T* g, const T* x, int64_t runs, int64_t n,
                          const double* mean, const double* a, const double* b, const double* c) {
  for (int64_t r = 0; r < runs; ++r)
    input_gradient(gx + r * n, g + r * n, x + r * n, n, mean[r], a[r], b[r], c[r]);
}

inline float root(float v) { return __builtin_sqrtf(v); }
inline double root(double v) { return __builtin_sqrt(v); }
inline float power(float v, float e) { return __builtin_powf(v, e); }
inline double power(double v, double e) { return __builtin_pow(v, e); }
inline int64_t lower(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t upper(int64_t a, int64_t b) { return a > b ? a : b; }

// ------------------------------------------------------------------------------------- LRN
//   d_c = k + alpha/size * sum_{j = c - size/2}^{c + (size-1)/2} x_j^2   (x_j = 0 outside [0, C))
//   y_c = x_c * d_c^-beta
//   grad_x_i = g_i d_i^-beta
//                - (2 alpha beta / size) x_i sum_{c=i-(size-1)/2}^{i+size/2} g_c x_c d_c^(-beta-1)
// The window sums run along the pixels (contiguous, vectorised) in double; beta = 0.75 avoids
// pow: d^-0.75 = r * sqrt(r) with r = 1/sqrt(d).

// D[c][i] = d_c and P[c][i] = d_c^-beta for the tile's pixels.
template <class T>
void window_scales(T* D, T* P, const T* x, int64_t s0, int64_t width, const LrnParams& p) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  const int64_t before = p.size / 2, after = (p.size - 1) / 2;
  const double a = p.alpha / static_cast<double>(p.size);
  const T minus_beta = static_cast<T>(-p.beta);
  double acc[kLrnTile];
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t i = 0; i < width; ++i) acc[i] = 0.0;
    for (int64_t j = upper(0, c - before); j <= lower(C - 1, c + after); ++j) {
      const T* row = x + j * S + s0;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) {
        const double v = static_cast<double>(row[i]);
        acc[i] += v * v;
      }
    }
    T* d = D + c * kLrnTile;
    T* q = P + c * kLrnTile;
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) d[i] = static_cast<T>(p.k + a * acc[i]);
    if (p.beta == 0.75) {
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) {
        const T r = T(1) / root(d[i]);
        q[i] = r * root(r);
      }
    } else {
      for (int64_t i = 0; i < width; ++i) q[i] = power(d[i], minus_beta);
    }
  }
}

template <class T>
void lrn_tile(T* result, const T* grad_y, const T* x, int64_t s0, int64_t width, T* D, T* P,
              const LrnParams& p) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  window_scales(D, P, x, s0, width, p);
  if (grad_y == nullptr) {
    for (int64_t c = 0; c < C; ++c) {
      const T* in = x + c * S + s0;
      const T* q = P + c * kLrnTile;
      T* out = result + c * S + s0;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) out[i] = in[i] * q[i];
    }
    return;
  }
  const int64_t before = p.size / 2, after = (p.size - 1) / 2;
  const double factor = 2.0 * p.alpha * p.beta / static_cast<double>(p.size);
  for (int64_t c = 0; c < C; ++c) {  // D becomes t_c = g_c x_c d_c^-beta / d_c
    const T* g = grad_y + c * S + s0;
    const T* in = x + c * S + s0;
    const T* q = P + c * kLrnTile;
    T* t = D + c * kLrnTile;
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) t[i] = g[i] * in[i] * q[i] / t[i];
  }
  double acc[kLrnTile];
  for (int64_t c = 0; c < C; ++c) {  // c: the input channel i of the formula
    for (int64_t i = 0; i < width; ++i) acc[i] = 0.0;
    for (int64_t j = upper(0, c - after); j <= lower(C - 1, c + before); ++j) {
      const T* t = D + j * kLrnTile;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) acc[i] += static_cast<double>(t[i]);
    }
    const T* g = grad_y + c * S + s0;
    const T* in = x + c * S + s0;
    const T* q = P + c * kLrnTile;
    T* out = result + c * S + s0;
#pragma omp simd
    for (int64_t i = 0; i < width; ++i)
      out[i] = static_cast<T>(static_cast<double>(g[i]) * q[i] -
                              factor * static_cast<double>(in[i]) * acc[i]);
  }
}

// ------------------------------------------------------------------------------------- LCN
//   r = 1 / sqrt(sum_c x_c^2 / (C - 1) + eps),   y_c = x_c r
//   grad_x_i = g_i r - x_i r^3 / (C - 1) * sum_c g_c x_c
// The channel sums run along the pixels (contiguous, vectorised) in double.

// acc[i] = sum over channels of a[c][i] * b[c][i] (rows S apart).
template <class T>
void channel_dot(double* acc, const T* a, const T* b, int64_t width, const LcnParams& p) {
  for (int64_t i = 0; i < width; ++i) acc[i] = 0.0;
  for (int64_t c = 0; c < p.shape.channels; ++c) {
    const T* u = a + c * p.shape.spatial;
    const T* v = b + c * p.shape.spatial;
#pragma omp simd
    for (int64_t i = 0; i < width; ++i)
      acc[i] += static_cast<double>(u[i]) * static_cast<double>(v[i]);
  }
}

template <class T>
void lcn_tile(T* result, const T* grad_y, const T* x, int64_t s0, int64_t width,
              const LcnParams& p) {
  const int64_t C = p.shape.channels, S = p.shape.spatial;
  const double dof = static_cast<double>(C - 1);
  double squares[kLcnTile], dots[kLcnTile];
  T a[kLcnTile], b[kLcnTile];
  channel_dot(squares, x + s0, x + s0, width, p);
  if (grad_y == nullptr) {
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) a[i] = static_cast<T>(1.0 / root(squares[i] / dof + p.eps));
    for (int64_t c = 0; c < C; ++c) {
      const T* in = x + c * S + s0;
      T* out = result + c * S + s0;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) out[i] = in[i] * a[i];
    }
    return;
  }
  channel_dot(dots, grad_y + s0, x + s0, width, p);
#pragma omp simd
  for (int64_t i = 0; i < width; ++i) {
    const double r = 1.0 / root(squares[i] / dof + p.eps);
    a[i] = static_cast<T>(r);
    b[i] = static_cast<T>(-r * r * r * dots[i] / dof);
  }
  for (int64_t c = 0; c < C; ++c) {
    const T* g = grad_y + c * S + s0;
    const T* in = x + c * S + s0;
    T* out = result + c * S + s0;
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) out[i] = g[i] * a[i] + in[i] * b[i];
  }
}

template <class T>
void fill(NormKernels<T>* k) {
  k->sum = sum<T>;
  k->squares = squares<T>;
  k->gradient_sums = gradient_sums<T>;
  k->affine = affine<T>;
  k->input_gradient = input_gradient<T>;
  k->scale = scale<T>;
  k->block_sums = block_sums<T>;
  k->block_squares = block_squares<T>;
  k->block_gradient_sums = block_gradient_sums<T>;
  k->block_affine = block_affine<T>;
  k->block_input_gradient = block_input_gradient<T>;
  k->lrn_tile = lrn_tile<T>;
  k->lcn_tile = lcn_tile<T>;
}

}  // namespace

bool FALTUNG_NORM_FILL(NormKernels<float>* f32, NormKernels<double>* f64) {
  fill(f32);
  fill(f64);
  return true;
}

}  // namespace faltung::cpu
