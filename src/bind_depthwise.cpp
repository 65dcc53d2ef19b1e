// Python bindings of the depthwise kernels (faltung/depthwise.hpp): the conv2d binding pattern
// (conv_bindings.hpp) on the Python Conv2dParams of a depthwise geometry (groups =
// in_channels); any other geometry is refused before a kernel could misread it.
#include "faltung/depthwise.hpp"

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

}  // namespace

void bind_depthwise(py::module_& m) {
  def_conv_kernels(m, "depthwise", depthwise_kernels<float>(), depthwise_kernels<double>(),
                   depthwise_params);
}

}  // namespace faltung::bindings
