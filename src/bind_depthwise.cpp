// Python bindings of the depthwise kernels (faltung/depthwise.hpp): the conv2d binding pattern
// (conv_bindings.hpp) on the Python Conv2dParams of a depthwise geometry (groups =
// in_channels); any other geometry is refused before a kernel could misread it.
#include "faltung/depthwise.hpp"
#include "faltung/separable.hpp"

#include "conv_bindings.hpp"

namespace faltung::bindings {
namespace {

Conv2dParams depthwise_params(const py::object& params) {
  const Conv2dParams p = to_params(params);
  if (!is_depthwise(p))
    throw std::invalid_argument("params: expected a depthwise geometry (groups == in_channels)");
  return p;
}

template <class T>
ConvKernels<T> depthwise_kernels() {
  return {depthwise_forward<T>, depthwise_backward_input<T>, depthwise_backward_weight<T>};
}

template <class T>
void separable(py::array& y, const py::array& x, const py::array& dw, const py::array& pw,
               const py::object& bias, const Conv2dParams& p, int64_t out_channels) {
  check_size(y, p.batch * out_channels * p.out_pixels(), "y");
  check_size(x, p.batch * p.in_channels * p.in_pixels(), "x");
  check_size(dw, p.out_channels * p.kernel_h * p.kernel_w, "depthwise_weight");
  check_size(pw, out_channels * p.out_channels, "pointwise_weight");
  const T* pb = nullptr;
  if (!bias.is_none()) {
    const auto b = bias.cast<py::array>();
    check_size(b, out_channels, "bias");
    pb = input_ptr<T>(b, "bias");
  }
  T* py_ = output_ptr<T>(y, "y");
  const T* px = input_ptr<T>(x, "x");
  const T* pdw = input_ptr<T>(dw, "depthwise_weight");
  const T* ppw = input_ptr<T>(pw, "pointwise_weight");
  py::gil_scoped_release release;
  separable_forward<T>(py_, px, pdw, ppw, pb, p, out_channels);
}

}  // namespace

void bind_depthwise(py::module_& m) {
  def_conv_kernels(m, "depthwise", depthwise_kernels<float>(), depthwise_kernels<double>(),
                   depthwise_params);
  // params: the depthwise geometry; pointwise: the 1x1 conv2d's (its out_channels is O)
  m.def("separable_forward",
        [](py::array& y, const py::array& x, const py::array& dw, const py::array& pw,
           const py::object& bias, const py::object& params, const py::object& pointwise) {
          const Conv2dParams p = depthwise_params(params);
          const Conv2dParams pp = to_params(pointwise);
          if (pp.in_channels != p.out_channels || pp.batch != p.batch || pp.in_h != p.out_h ||
              pp.in_w != p.out_w || !pp.is_pointwise())
            throw std::invalid_argument("pointwise: expected the 1x1 conv2d of the depthwise output");
          if (is_double(y, "y")) separable<double>(y, x, dw, pw, bias, p, pp.out_channels);
          else separable<float>(y, x, dw, pw, bias, p, pp.out_channels);
        });
}

}  // namespace faltung::bindings
