// Python bindings of the pooling kernels. Each takes preallocated outputs and the Python
// Pool2dParams (faltung/_pool_params.py), rebuilt here by make_pool2d_params or
// make_adaptive_pool2d_params, which validate it.
#include "faltung/pool.hpp"

#include "array_access.hpp"

namespace faltung::bindings {
namespace {

// The fields of the Python Pool2dParams (a NamedTuple, faltung/_pool_params.py) in its order:
// read by position, one tuple access each (a lookup by name per field was most of the
// binding's fixed cost on small layers, docs/performance.md P20).
enum Field {
  kBatch, kChannels, kInH, kInW, kKernelH, kKernelW, kStrideH, kStrideW, kPadTop, kPadBottom,
  kPadLeft, kPadRight, kDilationH, kDilationW, kCeilMode, kAdaptive, kCountIncludePad, kDivisor,
  kOutH, kOutW, kFields
};

Pool2dParams to_params(const py::object& p) {
  if (!py::isinstance<py::tuple>(p) || PyTuple_GET_SIZE(p.ptr()) != kFields)
    throw std::invalid_argument("params: expected a Pool2dParams (a tuple of " +
                                std::to_string(kFields) + " ints)");
  auto get = [&](Field f) { return py::handle(PyTuple_GET_ITEM(p.ptr(), f)).cast<int64_t>(); };
  if (get(kAdaptive))
    return make_adaptive_pool2d_params(get(kBatch), get(kChannels), get(kInH), get(kInW),
                                       get(kOutH), get(kOutW));
  return make_pool2d_params(get(kBatch), get(kChannels), get(kInH), get(kInW), get(kKernelH),
                            get(kKernelW), get(kStrideH), get(kStrideW), get(kPadTop),
                            get(kPadBottom), get(kPadLeft), get(kPadRight), get(kDilationH),
                            get(kDilationW), get(kCeilMode), get(kCountIncludePad),
                            get(kDivisor));
}

struct Sizes {
  int64_t in, out;
  explicit Sizes(const Pool2dParams& p)
      : in(p.planes() * p.in_pixels()), out(p.planes() * p.out_pixels()) {}
};

const int64_t* indices_ptr(const py::array& a, int64_t size) {
  if (!py::isinstance<py::array_t<int64_t>>(a) || !(a.flags() & py::array::c_style))
    throw std::invalid_argument("indices: expected a C-contiguous int64 array");
  check_size(a, size, "indices");
  return static_cast<const int64_t*>(a.data());
}

template <class T>
void max_forward(py::array& y, const py::object& indices, const py::array& x,
                 const Pool2dParams& p) {
  const Sizes n(p);
  check_size(y, n.out, "y");
  check_size(x, n.in, "x");
  int64_t* pi = nullptr;
  if (!indices.is_none()) {
    auto a = indices.cast<py::array>();
    if (!a.writeable()) throw std::invalid_argument("indices: output array is read-only");
    pi = const_cast<int64_t*>(indices_ptr(a, n.out));
  }
  T* py_ = output_ptr<T>(y, "y");
  const T* px = input_ptr<T>(x, "x");
  py::gil_scoped_release release;
  max_pool2d_forward<T>(py_, pi, px, p);
}

template <class T>
void max_backward(py::array& gx, const py::array& gy, const py::array& indices,
                  const Pool2dParams& p) {
  const Sizes n(p);
  check_size(gx, n.in, "grad_x");
  check_size(gy, n.out, "grad_y");
  const int64_t* pi = indices_ptr(indices, n.out);
  T* pgx = output_ptr<T>(gx, "grad_x");
  const T* pgy = input_ptr<T>(gy, "grad_y");
  int64_t bad;
  {
    py::gil_scoped_release release;
    bad = max_pool2d_backward<T>(pgx, pgy, pi, p);
  }
  if (bad)
    throw std::invalid_argument("indices: " + std::to_string(bad) + " entries lie outside [0, " +
                                std::to_string(p.in_pixels()) +
                                "), the flat positions of an input plane");
}

template <class T>
void avg_forward(py::array& y, const py::array& x, const Pool2dParams& p) {
  const Sizes n(p);
  check_size(y, n.out, "y");
  check_size(x, n.in, "x");
  T* py_ = output_ptr<T>(y, "y");
  const T* px = input_ptr<T>(x, "x");
  py::gil_scoped_release release;
  avg_pool2d_forward<T>(py_, px, p);
}

template <class T>
void avg_backward(py::array& gx, const py::array& gy, const Pool2dParams& p) {
  const Sizes n(p);
  check_size(gx, n.in, "grad_x");
  check_size(gy, n.out, "grad_y");
  T* pgx = output_ptr<T>(gx, "grad_x");
  const T* pgy = input_ptr<T>(gy, "grad_y");
  py::gil_scoped_release release;
  avg_pool2d_backward<T>(pgx, pgy, p);
}

template <class T>
void lp_forward(py::array& y, const py::array& x, double norm, const Pool2dParams& p) {
  const Sizes n(p);
  check_size(y, n.out, "y");
  check_size(x, n.in, "x");
  T* py_ = output_ptr<T>(y, "y");
  const T* px = input_ptr<T>(x, "x");
  py::gil_scoped_release release;
  lp_pool2d_forward<T>(py_, px, norm, p);
}

template <class T>
void lp_backward(py::array& gx, const py::array& gy, const py::array& x, double norm,
                 const Pool2dParams& p) {
  const Sizes n(p);
  check_size(gx, n.in, "grad_x");
  check_size(gy, n.out, "grad_y");
  check_size(x, n.in, "x");
  T* pgx = output_ptr<T>(gx, "grad_x");
  const T* pgy = input_ptr<T>(gy, "grad_y");
  const T* px = input_ptr<T>(x, "x");
  py::gil_scoped_release release;
  lp_pool2d_backward<T>(pgx, pgy, px, norm, p);
}

}  // namespace

void bind_pool(py::module_& m) {
  m.def("max_pool2d_forward", [](py::array& y, const py::object& indices, const py::array& x,
                                 const py::object& params) {
    const Pool2dParams p = to_params(params);
    if (is_double(y, "y")) max_forward<double>(y, indices, x, p);
    else max_forward<float>(y, indices, x, p);
  });
  m.def("max_pool2d_backward", [](py::array& gx, const py::array& gy, const py::array& indices,
                                  const py::object& params) {
    const Pool2dParams p = to_params(params);
    if (is_double(gx, "grad_x")) max_backward<double>(gx, gy, indices, p);
    else max_backward<float>(gx, gy, indices, p);
  });
  m.def("avg_pool2d_forward", [](py::array& y, const py::array& x, const py::object& params) {
    const Pool2dParams p = to_params(params);
    if (is_double(y, "y")) avg_forward<double>(y, x, p);
    else avg_forward<float>(y, x, p);
  });
  m.def("avg_pool2d_backward", [](py::array& gx, const py::array& gy, const py::object& params) {
    const Pool2dParams p = to_params(params);
    if (is_double(gx, "grad_x")) avg_backward<double>(gx, gy, p);
    else avg_backward<float>(gx, gy, p);
  });
  m.def("lp_pool2d_forward", [](py::array& y, const py::array& x, double norm,
                                const py::object& params) {
    const Pool2dParams p = to_params(params);
    if (is_double(y, "y")) lp_forward<double>(y, x, norm, p);
    else lp_forward<float>(y, x, norm, p);
  });
  m.def("lp_pool2d_backward", [](py::array& gx, const py::array& gy, const py::array& x,
                                 double norm, const py::object& params) {
    const Pool2dParams p = to_params(params);
    if (is_double(gx, "grad_x")) lp_backward<double>(gx, gy, x, norm, p);
    else lp_backward<float>(gx, gy, x, norm, p);
  });
}

}  // namespace faltung::bindings
