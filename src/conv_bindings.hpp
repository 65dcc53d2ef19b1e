// Bindings shared by the kernel families whose geometry is a conv2d (conv, depthwise): the
// Python Conv2dParams (faltung/_params.py) rebuilt as the C++ struct by make_conv2d_params
// (which validates it), and def_conv_kernels, which binds a family's forward, input-gradient
// and weight-gradient kernels (float and double) after checking every array's size against
// the geometry.
#pragma once
#include <string>

#include "array_access.hpp"
#include "faltung/conv2d.hpp"
#include "faltung/params.hpp"

namespace faltung::bindings {

inline Conv2dParams to_params(const py::object& p) {
  auto get = [&](const char* name) { return p.attr(name).cast<int64_t>(); };
  return make_conv2d_params(get("batch"), get("in_channels"), get("in_h"), get("in_w"),
                            get("out_channels"), get("kernel_h"), get("kernel_w"),
                            get("stride_h"), get("stride_w"), get("pad_top"), get("pad_bottom"),
                            get("pad_left"), get("pad_right"), get("dilation_h"),
                            get("dilation_w"), get("groups"));
}

template <class T>
struct ConvKernels {
  void (*forward)(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p,
                  Epilogue epilogue);
  void (*backward_input)(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p);
  void (*backward_weight)(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p);
};

namespace detail {

inline int64_t x_size(const Conv2dParams& p) { return p.batch * p.in_channels * p.in_pixels(); }
inline int64_t y_size(const Conv2dParams& p) { return p.batch * p.out_channels * p.out_pixels(); }
inline int64_t w_size(const Conv2dParams& p) { return p.out_channels * p.col_rows(); }

template <class T>
void forward(const ConvKernels<T>& k, py::array& y, const py::array& x, const py::array& w,
             const py::object& bias, const Conv2dParams& p, Epilogue epilogue) {
  check_size(y, y_size(p), "y");
  check_size(x, x_size(p), "x");
  check_size(w, w_size(p), "weight");
  const T* pb = nullptr;
  if (!bias.is_none()) {
    const auto b = bias.cast<py::array>();
    check_size(b, p.out_channels, "bias");
    pb = input_ptr<T>(b, "bias");
  }
  T* py_ = output_ptr<T>(y, "y");
  const T* px = input_ptr<T>(x, "x");
  const T* pw = input_ptr<T>(w, "weight");
  py::gil_scoped_release release;
  k.forward(py_, px, pw, pb, p, epilogue);
}

template <class T>
void backward_input(const ConvKernels<T>& k, py::array& gx, const py::array& gy,
                    const py::array& w, const Conv2dParams& p) {
  check_size(gx, x_size(p), "grad_x");
  check_size(gy, y_size(p), "grad_y");
  check_size(w, w_size(p), "weight");
  T* pgx = output_ptr<T>(gx, "grad_x");
  const T* pgy = input_ptr<T>(gy, "grad_y");
  const T* pw = input_ptr<T>(w, "weight");
  py::gil_scoped_release release;
  k.backward_input(pgx, pgy, pw, p);
}

template <class T>
void backward_weight(const ConvKernels<T>& k, py::array& gw, const py::array& gy,
                     const py::array& x, const Conv2dParams& p) {
  check_size(gw, w_size(p), "grad_w");
  check_size(gy, y_size(p), "grad_y");
  check_size(x, x_size(p), "x");
  T* pgw = output_ptr<T>(gw, "grad_w");
  const T* pgy = input_ptr<T>(gy, "grad_y");
  const T* px = input_ptr<T>(x, "x");
  py::gil_scoped_release release;
  k.backward_weight(pgw, pgy, px, p);
}

}  // namespace detail

// Binds <prefix>_forward(y, x, w, bias, params, relu=False), <prefix>_backward_input(grad_x, grad_y, w,
// params) and <prefix>_backward_weight(grad_w, grad_y, x, params); params_of turns the Python
// params into the struct (and refuses what the family cannot run).
inline void def_conv_kernels(py::module_& m, const std::string& prefix, ConvKernels<float> f32,
                             ConvKernels<double> f64,
                             Conv2dParams (*params_of)(const py::object&)) {
  m.def((prefix + "_forward").c_str(),
        [=](py::array& y, const py::array& x, const py::array& w, const py::object& bias,
            const py::object& params, bool relu) {
          const Conv2dParams p = params_of(params);
          const Epilogue epilogue = relu ? Epilogue::kRelu : Epilogue::kNone;
          if (is_double(y, "y")) detail::forward(f64, y, x, w, bias, p, epilogue);
          else detail::forward(f32, y, x, w, bias, p, epilogue);
        },
        py::arg("y"), py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("params"),
        py::arg("relu") = false);
  m.def((prefix + "_backward_input").c_str(),
        [=](py::array& gx, const py::array& gy, const py::array& w, const py::object& params) {
          const Conv2dParams p = params_of(params);
          if (is_double(gx, "grad_x")) detail::backward_input(f64, gx, gy, w, p);
          else detail::backward_input(f32, gx, gy, w, p);
        });
  m.def((prefix + "_backward_weight").c_str(),
        [=](py::array& gw, const py::array& gy, const py::array& x, const py::object& params) {
          const Conv2dParams p = params_of(params);
          if (is_double(gw, "grad_w")) detail::backward_weight(f64, gw, gy, x, p);
          else detail::backward_weight(f32, gw, gy, x, p);
        });
}

}  // namespace faltung::bindings
