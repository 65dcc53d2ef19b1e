// Lp (power-average) pooling over NCHW planes, PyTorch's definition extended by padding (zero
// cells): y = (f * S)^(1/p) with S = sum of x^p over the window's real cells and
// f = kernel_h*kernel_w / (cells of the window inside the padded input), which is 1 except for
// ceil_mode windows cut by the input's end (PyTorch builds lp_pool2d on avg_pool2d). p = 2 is the
// lecture's L2 pooling sqrt(sum a^2). Backward: grad_x += grad_y * (y / S) * x^(p-1) per window,
// and 0 for a window whose S is 0 (the subgradient PyTorch documents). Scalar loops per window.
#include <cmath>

#include "pool_common.hpp"

namespace faltung {
namespace {

template <class T>
T power(T v, double norm) {
  if (norm == 2.0) return v * v;
  if (norm == 1.0) return v;
  return static_cast<T>(std::pow(v, static_cast<T>(norm)));
}

template <class T>
T root(T s, double norm) {
  if (norm == 2.0) return std::sqrt(s);
  if (norm == 1.0) return s;
  return static_cast<T>(std::pow(s, static_cast<T>(1.0 / norm)));
}

template <class T>
T window_power_sum(const T* plane, const AxisWindow& rw, const AxisWindow& cw, double norm,
                   const Pool2dParams& p) {
  T s = 0;
  for (int64_t ih = rw.lo; ih < rw.hi; ih += p.dilation_h)
    for (int64_t iw = cw.lo; iw < cw.hi; iw += p.dilation_w)
      s += power(plane[ih * p.in_w + iw], norm);
  return s;
}

// f * S as PyTorch computes it: the average over the span, times the kernel's size.
template <class T>
T scaled(T s, const AxisWindow& rw, const AxisWindow& cw, const Pool2dParams& p) {
  const int64_t kernel = p.kernel_h * p.kernel_w, span = rw.span * cw.span;
  return span == kernel ? s : s / static_cast<T>(span) * static_cast<T>(kernel);
}

}  // namespace

template <class T>
void lp_pool2d_forward(T* y, const T* x, double norm_type, const Pool2dParams& p) {
  const pool_detail::Windows win(p);
#pragma omp parallel for num_threads(num_threads()) schedule(static)
  for (int64_t plane = 0; plane < p.planes(); ++plane) {
    const T* src = x + plane * p.in_pixels();
    T* dst = y + plane * p.out_pixels();
    for (int64_t oh = 0; oh < p.out_h; ++oh)
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const AxisWindow &rw = win.rows[oh], &cw = win.cols[ow];
        const T s = window_power_sum(src, rw, cw, norm_type, p);
        dst[oh * p.out_w + ow] = root(scaled(s, rw, cw, p), norm_type);
      }
  }
}

template <class T>
void lp_pool2d_backward(T* grad_x, const T* grad_y, const T* x, double norm_type,
                        const Pool2dParams& p) {
  const pool_detail::Windows win(p);
  const T derivative_power = static_cast<T>(norm_type - 1.0);
#pragma omp parallel for num_threads(num_threads()) schedule(static)
  for (int64_t plane = 0; plane < p.planes(); ++plane) {
    const T* src = x + plane * p.in_pixels();
    const T* gy = grad_y + plane * p.out_pixels();
    T* gx = grad_x + plane * p.in_pixels();
    std::fill(gx, gx + p.in_pixels(), T(0));
    for (int64_t oh = 0; oh < p.out_h; ++oh)
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const AxisWindow &rw = win.rows[oh], &cw = win.cols[ow];
        const T s = window_power_sum(src, rw, cw, norm_type, p);
        if (s == T(0)) continue;
        const T coef = gy[oh * p.out_w + ow] * (root(scaled(s, rw, cw, p), norm_type) / s);
        for (int64_t ih = rw.lo; ih < rw.hi; ih += p.dilation_h)
          for (int64_t iw = cw.lo; iw < cw.hi; iw += p.dilation_w) {
            const T v = src[ih * p.in_w + iw];
            const T d = norm_type == 2.0   ? v
                        : norm_type == 1.0 ? T(1)
                                           : static_cast<T>(std::pow(v, derivative_power));
            gx[ih * p.in_w + iw] += coef * d;
          }
      }
  }
}

template void lp_pool2d_forward<float>(float*, const float*, double, const Pool2dParams&);
template void lp_pool2d_forward<double>(double*, const double*, double, const Pool2dParams&);
template void lp_pool2d_backward<float>(float*, const float*, const float*, double,
                                        const Pool2dParams&);
template void lp_pool2d_backward<double>(double*, const double*, const double*, double,
                                         const Pool2dParams&);

}  // namespace faltung
