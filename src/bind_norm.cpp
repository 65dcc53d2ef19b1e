// Python bindings of the normalization kernels (cpp/include/faltung/norm.hpp). Each takes
// preallocated outputs, the inputs, the shape (N, C, S) as a tuple and the scalars; the params
// are rebuilt here by make_*_params, which validates them. None stands for a null pointer.
#include "faltung/norm.hpp"

#include "array_access.hpp"

namespace faltung::bindings {
namespace {

struct Shape {
  int64_t n, c, s;
};

Shape to_shape(const py::tuple& t) {
  if (t.size() != 3) throw std::invalid_argument("shape: expected (N, C, S)");
  return {t[0].cast<int64_t>(), t[1].cast<int64_t>(), t[2].cast<int64_t>()};
}

template <class T>
const T* in(const py::array& a, int64_t size, const char* name) {
  check_size(a, size, name);
  return input_ptr<T>(a, name);
}

template <class T>
const T* in_or_null(const py::object& a, int64_t size, const char* name) {
  return a.is_none() ? nullptr : in<T>(a.cast<py::array>(), size, name);
}

template <class T>
T* out(py::array& a, int64_t size, const char* name) {
  check_size(a, size, name);
  return output_ptr<T>(a, name);
}

template <class T>
T* out_or_null(const py::object& a, int64_t size, const char* name) {
  if (a.is_none()) return nullptr;
  py::array array = a.cast<py::array>();
  return out<T>(array, size, name);
}

template <class T>
void bn_forward_train(py::array& y, py::array& mean, py::array& invstd, const py::object& rm,
                      const py::object& rv, const py::array& x, const py::object& w,
                      const py::object& b, const BatchNormParams& p) {
  const int64_t count = p.shape.count(), C = p.shape.channels;
  if (rm.is_none() != rv.is_none())
    throw std::invalid_argument("running_mean, running_var: expected both or neither");
  T* py_ = out<T>(y, count, "y");
  double* pm = out<double>(mean, C, "save_mean");
  double* pi = out<double>(invstd, C, "save_invstd");
  T* prm = out_or_null<T>(rm, C, "running_mean");
  T* prv = out_or_null<T>(rv, C, "running_var");
  const T* px = in<T>(x, count, "x");
  const T* pw = in_or_null<T>(w, C, "weight");
  const T* pb = in_or_null<T>(b, C, "bias");
  py::gil_scoped_release release;
  batch_norm_forward_train<T>(py_, pm, pi, prm, prv, px, pw, pb, p);
}

template <class T>
void bn_forward_eval(py::array& y, const py::array& x, const py::array& rm, const py::array& rv,
                     const py::object& w, const py::object& b, const BatchNormParams& p) {
  const int64_t count = p.shape.count(), C = p.shape.channels;
  T* py_ = out<T>(y, count, "y");
  const T* px = in<T>(x, count, "x");
  const T* prm = in<T>(rm, C, "running_mean");
  const T* prv = in<T>(rv, C, "running_var");
  const T* pw = in_or_null<T>(w, C, "weight");
  const T* pb = in_or_null<T>(b, C, "bias");
  py::gil_scoped_release release;
  batch_norm_forward_eval<T>(py_, px, prm, prv, pw, pb, p);
}

// training: (mean, invstd) saved in float64 or both None; evaluation: (running_mean, running_var).
template <class T>
void bn_backward(bool training, const py::object& gx, const py::object& gw, const py::object& gb,
                 const py::array& gy, const py::array& x, const py::object& stat1,
                 const py::object& stat2, const py::object& w, const BatchNormParams& p) {
  const int64_t count = p.shape.count(), C = p.shape.channels;
  if (stat1.is_none() != stat2.is_none())
    throw std::invalid_argument("save_mean, save_invstd: expected both or neither");
  if (!training && stat1.is_none())
    throw std::invalid_argument("running_mean, running_var: required in evaluation mode");
  T* pgx = out_or_null<T>(gx, count, "grad_x");
  T* pgw = out_or_null<T>(gw, C, "grad_weight");
  T* pgb = out_or_null<T>(gb, C, "grad_bias");
  const T* pgy = in<T>(gy, count, "grad_y");
  const T* px = in<T>(x, count, "x");
  const T* pw = in_or_null<T>(w, C, "weight");
  if (training) {
    const double* pm = in_or_null<double>(stat1, C, "save_mean");
    const double* pi = in_or_null<double>(stat2, C, "save_invstd");
    py::gil_scoped_release release;
    batch_norm_backward_train<T>(pgx, pgw, pgb, pgy, px, pm, pi, pw, p);
  } else {
    const T* prm = in_or_null<T>(stat1, C, "running_mean");
    const T* prv = in_or_null<T>(stat2, C, "running_var");
    py::gil_scoped_release release;
    batch_norm_backward_eval<T>(pgx, pgw, pgb, pgy, px, prm, prv, pw, p);
  }
}

// Forward (grad_y None) or backward of LRN / LCN, whose kernels share one shape of signature.
template <class T, class Params>
void pointwise(py::array& result, const py::object& gy, const py::array& x, const Params& p,
               void (*forward)(T*, const T*, const Params&),
               void (*backward)(T*, const T*, const T*, const Params&)) {
  const int64_t count = p.shape.count();
  T* pr = out<T>(result, count, gy.is_none() ? "y" : "grad_x");
  const T* pgy = in_or_null<T>(gy, count, "grad_y");
  const T* px = in<T>(x, count, "x");
  py::gil_scoped_release release;
  if (pgy) backward(pr, pgy, px, p);
  else forward(pr, px, p);
}

}  // namespace

void bind_norm(py::module_& m) {
  m.def("batch_norm_forward_train",
        [](py::array& y, py::array& mean, py::array& invstd, const py::object& rm,
           const py::object& rv, const py::array& x, const py::object& w, const py::object& b,
           const py::tuple& shape, double eps, double momentum) {
          const Shape s = to_shape(shape);
          const BatchNormParams p = make_batch_norm_params(s.n, s.c, s.s, eps, momentum, true);
          if (is_double(y, "y")) bn_forward_train<double>(y, mean, invstd, rm, rv, x, w, b, p);
          else bn_forward_train<float>(y, mean, invstd, rm, rv, x, w, b, p);
        });
  m.def("batch_norm_forward_eval",
        [](py::array& y, const py::array& x, const py::array& rm, const py::array& rv,
           const py::object& w, const py::object& b, const py::tuple& shape, double eps) {
          const Shape s = to_shape(shape);
          const BatchNormParams p = make_batch_norm_params(s.n, s.c, s.s, eps, 0.0, false);
          if (is_double(y, "y")) bn_forward_eval<double>(y, x, rm, rv, w, b, p);
          else bn_forward_eval<float>(y, x, rm, rv, w, b, p);
        });
  m.def("batch_norm_backward",
        [](bool training, const py::object& gx, const py::object& gw, const py::object& gb,
           const py::array& gy, const py::array& x, const py::object& stat1,
           const py::object& stat2, const py::object& w, const py::tuple& shape, double eps) {
          const Shape s = to_shape(shape);
          const BatchNormParams p = make_batch_norm_params(s.n, s.c, s.s, eps, 0.0, training);
          if (is_double(gy, "grad_y"))
            bn_backward<double>(training, gx, gw, gb, gy, x, stat1, stat2, w, p);
          else
            bn_backward<float>(training, gx, gw, gb, gy, x, stat1, stat2, w, p);
        });
  m.def("lrn",
        [](py::array& result, const py::object& gy, const py::array& x, const py::tuple& shape,
           int64_t size, double alpha, double beta, double k) {
          const Shape s = to_shape(shape);
          const LrnParams p = make_lrn_params(s.n, s.c, s.s, size, alpha, beta, k);
          if (is_double(x, "x"))
            pointwise(result, gy, x, p, lrn_forward<double>, lrn_backward<double>);
          else
            pointwise(result, gy, x, p, lrn_forward<float>, lrn_backward<float>);
        });
  m.def("lcn",
        [](py::array& result, const py::object& gy, const py::array& x, const py::tuple& shape,
           double eps) {
          const Shape s = to_shape(shape);
          const LcnParams p = make_lcn_params(s.n, s.c, s.s, eps);
          if (is_double(x, "x"))
            pointwise(result, gy, x, p, lcn_forward<double>, lcn_backward<double>);
          else
            pointwise(result, gy, x, p, lcn_forward<float>, lcn_backward<float>);
        });
}

}  // namespace faltung::bindings
