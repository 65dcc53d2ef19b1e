// Checked access to the raw data of NumPy arrays handed to the bindings. functional.py has
// already validated and made everything contiguous; these checks only guard against a caller
// bypassing it, because a silently converted copy of an output would lose the results.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace faltung::bindings {

namespace py = pybind11;

template <class T>
const T* input_ptr(const py::array& a, const char* name) {
  if (!py::isinstance<py::array_t<T>>(a) || !(a.flags() & py::array::c_style))
    throw std::invalid_argument(std::string(name) + ": expected a C-contiguous array of the kernel's dtype");
  return static_cast<const T*>(a.data());
}

template <class T>
T* output_ptr(py::array& a, const char* name) {
  if (!a.writeable()) throw std::invalid_argument(std::string(name) + ": output array is read-only");
  input_ptr<T>(a, name);
  return static_cast<T*>(a.mutable_data());
}

// The array holds `expected` elements, the number its kernel's geometry (params) implies.
inline void check_size(const py::array& a, int64_t expected, const char* name) {
  if (a.size() != expected)
    throw std::invalid_argument(std::string(name) + ": size does not match the kernel's " +
                                "geometry (" + std::to_string(a.size()) + " elements, expected " +
                                std::to_string(expected) + ")");
}

// True for float64 arrays, false for float32; anything else is refused.
inline bool is_double(const py::array& a, const char* name) {
  if (py::isinstance<py::array_t<double>>(a)) return true;
  if (py::isinstance<py::array_t<float>>(a)) return false;
  throw std::invalid_argument(std::string(name) + ": expected float32 or float64");
}

}  // namespace faltung::bindings
