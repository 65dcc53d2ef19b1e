// faltung._core: the compiled CPU backend. Bindings only translate between NumPy arrays and the
// kernel library in cpp/; C++ std::invalid_argument surfaces as Python ValueError.
#include <pybind11/pybind11.h>

#include "faltung/threads.hpp"

namespace py = pybind11;

namespace faltung::bindings {
void bind_gemm(py::module_& m);
void bind_conv(py::module_& m);
void bind_pool(py::module_& m);
void bind_norm(py::module_& m);
void bind_depthwise(py::module_& m);
}  // namespace faltung::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "faltung's compiled CPU kernels (C++, OpenMP, AVX2/AVX-512 chosen at run time)";
  m.def("set_num_threads", &faltung::set_num_threads, py::arg("n"));
  m.def("get_num_threads", &faltung::num_threads);
  faltung::bindings::bind_gemm(m);
  faltung::bindings::bind_conv(m);
  faltung::bindings::bind_pool(m);
  faltung::bindings::bind_norm(m);
  faltung::bindings::bind_depthwise(m);
}
