// Python binding of faltung::gemm: gemm(trans_a, trans_b, alpha, a, b, beta, c), c in place.
#include "faltung/gemm.hpp"

#include "array_access.hpp"

namespace faltung::bindings {
namespace {

template <class T>
void gemm_typed(bool trans_a, bool trans_b, double alpha, const py::array& a, const py::array& b,
                double beta, py::array& c) {
  const int64_t M = c.shape(0), N = c.shape(1), K = trans_a ? a.shape(0) : a.shape(1);
  if ((trans_a ? a.shape(1) : a.shape(0)) != M || (trans_b ? b.shape(1) : b.shape(0)) != K ||
      (trans_b ? b.shape(0) : b.shape(1)) != N)
    throw std::invalid_argument("gemm: shapes of a, b and c do not match");
  const T* pa = input_ptr<T>(a, "a");
  const T* pb = input_ptr<T>(b, "b");
  T* pc = output_ptr<T>(c, "c");
  py::gil_scoped_release release;
  gemm<T>(trans_a, trans_b, M, N, K, static_cast<T>(alpha), pa, a.shape(1), pb, b.shape(1),
          static_cast<T>(beta), pc, N);
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def(
      "gemm",
      [](bool trans_a, bool trans_b, double alpha, const py::array& a, const py::array& b,
         double beta, py::array& c) {
        if (a.ndim() != 2 || b.ndim() != 2 || c.ndim() != 2)
          throw std::invalid_argument("gemm: a, b and c must be 2-D");
        if (is_double(c, "c"))
          gemm_typed<double>(trans_a, trans_b, alpha, a, b, beta, c);
        else
          gemm_typed<float>(trans_a, trans_b, alpha, a, b, beta, c);
      },
      "c = alpha * op(a) @ op(b) + beta * c (row-major, in place)");
  m.def("gemm_kernel_name", &gemm_kernel_name, "micro-kernel family in use");
  m.def(
      "micro_kernel_peak_gflops",
      [](bool float64, double seconds) {
        py::gil_scoped_release release;
        return float64 ? micro_kernel_peak_gflops<double>(seconds)
                       : micro_kernel_peak_gflops<float>(seconds);
      },
      py::arg("float64") = false, py::arg("seconds") = 0.2,
      "GFLOP/s of the GEMM micro-kernel on one thread with operands in L1: this machine's ceiling");
}

}  // namespace faltung::bindings
