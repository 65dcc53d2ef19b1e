// The body of the batch-norm run kernels (norm_batch_kernels.hpp), included once per
// instruction set by norm_batch_kernels_{generic,avx2,avx512}.cpp, each compiled for its ISA.
// The includer defines FALTUNG_NORM_LANES (independent double accumulators: one accumulator
// would make every sum wait on the add latency, 3x the cost of reading the values) and
// FALTUNG_NORM_FILL, the name of the function that fills the tables. Everything else has
// internal linkage, so the ISA copies never meet at link time.
// Sums run in double for both dtypes; x - mean is taken as (x - hi) - lo with the mean split
// into two T values, which keeps it accurate in float when the mean is large against the spread.

namespace faltung::cpu {
namespace {

constexpr int kLanes = FALTUNG_NORM_LANES;

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
  for (int j = 0; j < kLanes; ++j) {
    sum_a += acc_a[j];
    sum_b += acc_b[j];
  }
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

template <class T>
void fill(BatchNormKernels<T>* k) {
  k->sum = sum<T>;
  k->squares = squares<T>;
  k->gradient_sums = gradient_sums<T>;
  k->affine = affine<T>;
  k->input_gradient = input_gradient<T>;
  k->scale = scale<T>;
}

}  // namespace

bool FALTUNG_NORM_FILL(BatchNormKernels<float>* f32, BatchNormKernels<double>* f64) {
  fill(f32);
  fill(f64);
  return true;
}

}  // namespace faltung::cpu
