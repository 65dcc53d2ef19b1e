// Python bindings of the conv2d kernels. Each takes preallocated outputs and the Python
// Conv2dParams (faltung/_params.py), rebuilt here by make_conv2d_params, which validates it.
#include "faltung/conv2d.hpp"

#include "array_access.hpp"

namespace faltung::bindings {
namespace {

Conv2dParams to_params(const py::object& p) {
  auto get = [&](const char* name) { return p.attr(name).cast<int64_t>(); };
  return make_conv2d_params(get("batch"), get("in_channels"), get("in_h"), get("in_w"),
                            get("out_channels"), get("kernel_h"), get("kernel_w"),
                            get("stride_h"), get("stride_w"), get("pad_top"), get("pad_bottom"),
                            get("pad_left"), get("pad_right"), get("dilation_h"),
                            get("dilation_w"), get("groups"));
}

void check_size(const py::array& a, int64_t expected, const char* name) {
  if (a.size() != expected)
    throw std::invalid_argument(std::string(name) + ": size does not match the convolution geometry");
}

template <class T>
void forward(py::array& y, const py::array& x, const py::array& w, const py::object& bias,
             const Conv2dParams& p, Epilogue epilogue) {
  check_size(y, p.batch * p.out_channels * p.out_pixels(), "y");
  check_size(x, p.batch * p.in_channels * p.in_pixels(), "x");
  check_size(w, p.out_channels * p.col_rows(), "weight");
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
  conv2d_forward<T>(py_, px, pw, pb, p, epilogue);
}

template <class T>
void backward_input(py::array& gx, const py::array& gy, const py::array& w, const Conv2dParams& p) {
  check_size(gx, p.batch * p.in_channels * p.in_pixels(), "grad_x");
  check_size(gy, p.batch * p.out_channels * p.out_pixels(), "grad_y");
  check_size(w, p.out_channels * p.col_rows(), "weight");
  T* pgx = output_ptr<T>(gx, "grad_x");
  const T* pgy = input_ptr<T>(gy, "grad_y");
  const T* pw = input_ptr<T>(w, "weight");
  py::gil_scoped_release release;
  conv2d_backward_input<T>(pgx, pgy, pw, p);
}

template <class T>
void backward_weight(py::array& gw, const py::array& gy, const py::array& x, const Conv2dParams& p) {
  check_size(gw, p.out_channels * p.col_rows(), "grad_w");
  check_size(gy, p.batch * p.out_channels * p.out_pixels(), "grad_y");
  check_size(x, p.batch * p.in_channels * p.in_pixels(), "x");
  T* pgw = output_ptr<T>(gw, "grad_w");
  const T* pgy = input_ptr<T>(gy, "grad_y");
  const T* px = input_ptr<T>(x, "x");
  py::gil_scoped_release release;
  conv2d_backward_weight<T>(pgw, pgy, px, p);
}

template <class T>
void backward_bias(py::array& gb, const py::array& gy, const Conv2dParams& p) {
  check_size(gb, p.out_channels, "grad_b");
  check_size(gy, p.batch * p.out_channels * p.out_pixels(), "grad_y");
  T* pgb = output_ptr<T>(gb, "grad_b");
  const T* pgy = input_ptr<T>(gy, "grad_y");
  py::gil_scoped_release release;
  conv2d_backward_bias<T>(pgb, pgy, p);
}

}  // namespace

void bind_conv(py::module_& m) {
  m.def("conv2d_forward",
        [](py::array& y, const py::array& x, const py::array& w, const py::object& bias,
           const py::object& params, bool relu) {
          const Conv2dParams p = to_params(params);
          const Epilogue epilogue = relu ? Epilogue::kRelu : Epilogue::kNone;
          if (is_double(y, "y")) forward<double>(y, x, w, bias, p, epilogue);
          else forward<float>(y, x, w, bias, p, epilogue);
        },
        py::arg("y"), py::arg("x"), py::arg("w"), py::arg("bias"), py::arg("params"),
        py::arg("relu") = false);
  m.def("conv2d_backward_input",
        [](py::array& gx, const py::array& gy, const py::array& w, const py::object& params) {
          const Conv2dParams p = to_params(params);
          if (is_double(gx, "grad_x")) backward_input<double>(gx, gy, w, p);
          else backward_input<float>(gx, gy, w, p);
        });
  m.def("conv2d_backward_weight",
        [](py::array& gw, const py::array& gy, const py::array& x, const py::object& params) {
          const Conv2dParams p = to_params(params);
          if (is_double(gw, "grad_w")) backward_weight<double>(gw, gy, x, p);
          else backward_weight<float>(gw, gy, x, p);
        });
  m.def("conv2d_backward_bias",
        [](py::array& gb, const py::array& gy, const py::object& params) {
          const Conv2dParams p = to_params(params);
          if (is_double(gb, "grad_b")) backward_bias<double>(gb, gy, p);
          else backward_bias<float>(gb, gy, p);
        });
}

}  // namespace faltung::bindings
