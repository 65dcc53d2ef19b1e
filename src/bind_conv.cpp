// Python bindings of the conv2d kernels. Each takes preallocated outputs and the Python
// Conv2dParams (faltung/_params.py), rebuilt here by make_conv2d_params, which validates it.
#include "faltung/conv2d.hpp"

#include "conv_bindings.hpp"

namespace faltung::bindings {
namespace {

template <class T>
void backward_bias(py::array& gb, const py::array& gy, const Conv2dParams& p) {
  check_size(gb, p.out_channels, "grad_b");
  check_size(gy, p.batch * p.out_channels * p.out_pixels(), "grad_y");
  T* pgb = output_ptr<T>(gb, "grad_b");
  const T* pgy = input_ptr<T>(gy, "grad_y");
  py::gil_scoped_release release;
  conv2d_backward_bias<T>(pgb, pgy, p);
}

template <class T>
ConvKernels<T> conv2d_kernels() {
  return {conv2d_forward<T>, conv2d_backward_input<T>, conv2d_backward_weight<T>};
}

}  // namespace

void bind_conv(py::module_& m) {
  def_conv_kernels(m, "conv2d", conv2d_kernels<float>(), conv2d_kernels<double>(), to_params);
  m.def("conv2d_backward_bias",
        [](py::array& gb, const py::array& gy, const py::object& params) {
          const Conv2dParams p = to_params(params);
          if (is_double(gb, "grad_b")) backward_bias<double>(gb, gy, p);
          else backward_bias<float>(gb, gy, p);
        });
}

}  // namespace faltung::bindings
