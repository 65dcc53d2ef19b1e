// Average pooling over NCHW planes, forward and backward, with PyTorch's divisor: divisor_override
// if given, else the window's cells inside the padded input (count_include_pad) or its real
// cells only; adaptive windows (start floor(o*in/out), end ceil((o+1)*in/out)) use their size.
// Backward spreads grad_y / divisor over each window (grad_x zeroed first, plane by plane).
// Interior columns of plain windows run vectorisable row loops; a window of whole rows (global
// pooling) sums one contiguous block with several accumulators; the rest is scalar.
#include "pool_common.hpp"

namespace faltung {
namespace {

using pool_detail::kChunk;
using pool_detail::Windows;

int64_t divisor_of(const AxisWindow& rw, const AxisWindow& cw, const Pool2dParams& p) {
  if (p.divisor) return p.divisor;
  if (p.count_include_pad && !p.adaptive) return rw.span * cw.span;
  return (rw.hi - rw.lo) * (cw.hi - cw.lo);
}

template <class T>
T block_sum(const T* a, int64_t n) {
  T s[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += a[i + k];
  for (; i < n; ++i) s[0] += a[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

template <class T>
T window_sum(const T* plane, const AxisWindow& rw, const AxisWindow& cw, const Pool2dParams& p) {
  if (cw.lo == 0 && cw.hi == p.in_w)
    return block_sum(plane + rw.lo * p.in_w, (rw.hi - rw.lo) * p.in_w);
  T s = 0;
  for (int64_t ih = rw.lo; ih < rw.hi; ++ih)
    for (int64_t iw = cw.lo; iw < cw.hi; ++iw) s += plane[ih * p.in_w + iw];
  return s;
}

template <class T, int64_t S>
void avg_forward(T* y, const T* x, const Pool2dParams& p) {
  const Windows win(p);
#pragma omp parallel for num_threads(num_threads()) schedule(static)
  for (int64_t plane = 0; plane < p.planes(); ++plane) {
    const T* src = x + plane * p.in_pixels();
    const int64_t sw = S ? S : p.stride_w;
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      T* yr = y + plane * p.out_pixels() + oh * p.out_w;
      const AxisWindow& rw = win.rows[oh];
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        if (ow == win.interior_begin && win.interior_end > ow) ow = win.interior_end;
        if (ow >= p.out_w) break;
        const AxisWindow& cw = win.cols[ow];
        yr[ow] = window_sum(src, rw, cw, p) / static_cast<T>(divisor_of(rw, cw, p));
      }
      if (win.interior_end == win.interior_begin) continue;
      const T div = static_cast<T>(divisor_of(rw, win.cols[win.interior_begin], p));
      for (int64_t c = win.interior_begin; c < win.interior_end; c += kChunk) {
        const int64_t n = std::min(kChunk, win.interior_end - c);
        T acc[kChunk] = {};
        for (int64_t ih = rw.lo; ih < rw.hi; ++ih) {
          const T* row = src + ih * p.in_w + c * sw - p.pad_left;
          for (int64_t kj = 0; kj < p.kernel_w; ++kj)
            for (int64_t j = 0; j < n; ++j) acc[j] += row[kj + j * sw];
        }
        for (int64_t j = 0; j < n; ++j) yr[c + j] = acc[j] / div;
      }
    }
  }
}

template <class T, int64_t S>
void avg_backward(T* grad_x, const T* grad_y, const Pool2dParams& p) {
  const Windows win(p);
#pragma omp parallel for num_threads(num_threads()) schedule(static)
  for (int64_t plane = 0; plane < p.planes(); ++plane) {
    T* gx = grad_x + plane * p.in_pixels();
    const int64_t sw = S ? S : p.stride_w;
    std::fill(gx, gx + p.in_pixels(), T(0));
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const T* gy = grad_y + plane * p.out_pixels() + oh * p.out_w;
      const AxisWindow& rw = win.rows[oh];
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        if (ow == win.interior_begin && win.interior_end > ow) ow = win.interior_end;
        if (ow >= p.out_w) break;
        const AxisWindow& cw = win.cols[ow];
        const T g = gy[ow] / static_cast<T>(divisor_of(rw, cw, p));
        for (int64_t ih = rw.lo; ih < rw.hi; ++ih)
          for (int64_t iw = cw.lo; iw < cw.hi; ++iw) gx[ih * p.in_w + iw] += g;
      }
      if (win.interior_end == win.interior_begin) continue;
      const T div = static_cast<T>(divisor_of(rw, win.cols[win.interior_begin], p));
      for (int64_t c = win.interior_begin; c < win.interior_end; c += kChunk) {
        const int64_t n = std::min(kChunk, win.interior_end - c);
        T g[kChunk];
        for (int64_t j = 0; j < n; ++j) g[j] = gy[c + j] / div;
        for (int64_t ih = rw.lo; ih < rw.hi; ++ih) {
          T* row = gx + ih * p.in_w + c * sw - p.pad_left;
          for (int64_t kj = 0; kj < p.kernel_w; ++kj)
            for (int64_t j = 0; j < n; ++j) row[kj + j * sw] += g[j];
        }
      }
    }
  }
}

}  // namespace

template <class T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dParams& p) {
  pool_detail::with_column_stride(p.stride_w, [&](auto s) { avg_forward<T, decltype(s)::value>(y, x, p); });
}

template <class T>
void avg_pool2d_backward(T* grad_x, const T* grad_y, const Pool2dParams& p) {
  pool_detail::with_column_stride(p.stride_w,
                                  [&](auto s) { avg_backward<T, decltype(s)::value>(grad_x, grad_y, p); });
}

template void avg_pool2d_forward<float>(float*, const float*, const Pool2dParams&);
template void avg_pool2d_forward<double>(double*, const double*, const Pool2dParams&);
template void avg_pool2d_backward<float>(float*, const float*, const Pool2dParams&);
template void avg_pool2d_backward<double>(double*, const double*, const Pool2dParams&);

}  // namespace faltung
