// Average pooling over NCHW planes, forward and backward, with PyTorch's divisor: divisor_override
// if given, else the window's cells inside the padded input (count_include_pad) or its real
// cells only; adaptive windows (start floor(o*in/out), end ceil((o+1)*in/out)) use their size.
// Backward spreads grad_y / divisor over each window (grad_x zeroed first, plane by plane).
// Interior columns of plain windows take the separable path of pool_common.hpp; a window of whole
// rows (global pooling) sums one contiguous block with several accumulators; the rest is scalar.
// float32 on AVX-512 (pool_kernels.hpp): global pooling, 2x2/2 windows tiling whole rows
// (forward) and 3x3/1 windows with padding 1 and one divisor (forward and backward: box sums)
// run vector loops instead.
#include <type_traits>

#include "pool_common.hpp"
#include "pool_kernels.hpp"

namespace faltung {
namespace {

using pool_detail::kChunk;
using pool_detail::Windows;

int64_t divisor_of(const AxisWindow& rw, const AxisWindow& cw, const Pool2dParams& p) {
  if (p.divisor) return p.divisor;
  if (p.count_include_pad && !p.adaptive) return rw.span * cw.span;
  return (rw.hi - rw.lo) * (cw.hi - cw.lo);
}

// One window, the whole plane: global pooling.
bool covers_plane(const Windows& win, const Pool2dParams& p) {
  return p.out_pixels() == 1 && win.rows[0].hi - win.rows[0].lo == p.in_h &&
         win.cols[0].hi - win.cols[0].lo == p.in_w;
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

// 3x3 windows, stride 1, padding 1 on every side, output the input's size and one divisor for
// every window (counting the padding, or divisor_override): the forward is a box sum of x and the
// backward the same box sum of grad_y (a cell lies in the windows centred on its neighbours).
bool box_3x3_same(const Pool2dParams& p) {
  return !p.adaptive && p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == 1 &&
         p.stride_w == 1 && p.pad_top == 1 && p.pad_bottom == 1 && p.pad_left == 1 &&
         p.pad_right == 1 && p.dilation_h == 1 && p.dilation_w == 1 && p.out_h == p.in_h &&
         p.out_w == p.in_w && (p.divisor || p.count_include_pad);
}

// The box sums of box_3x3_same in the AVX-512 loop, if there is one (float32).
template <class T>
bool box_3x3(T* out, const T* in, const Pool2dParams& p) {
  if constexpr (std::is_same_v<T, float>) {
    const auto box = cpu::pool_kernels().box_3x3;
    if (!box || !box_3x3_same(p)) return false;
    const float div = static_cast<float>(p.divisor ? p.divisor : 9);
    pool_detail::thread_ranges(p.planes(), [&](int64_t first, int64_t count) {
      box(out + first * p.in_pixels(), in + first * p.in_pixels(), count, p.in_h, p.in_w, div);
    });
    return true;
  }
  return false;
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

// Separable sums of output columns [c, c + n) of one output row (complete windows, dilation 1):
// the window rows add into one buffer row, then each output adds its kernel_w cells.
template <class T, int64_t S, int64_t KW>
void avg_interior(T* y, const T* plane, const AxisWindow& rw, T div, int64_t c, int64_t n,
                  const Pool2dParams& p) {
  const int64_t sw = S ? S : p.stride_w, kw = KW ? KW : p.kernel_w;
  const int64_t width = pool_detail::chunk_width(p, n);
  const T* origin = plane + c * sw - p.pad_left;
  T v[pool_detail::kRowBuf];
  const T* first = origin + rw.lo * p.in_w;
  for (int64_t i = 0; i < width; ++i) v[i] = first[i];
  for (int64_t ih = rw.lo + 1; ih < rw.hi; ++ih) {
    const T* row = origin + ih * p.in_w;
    for (int64_t i = 0; i < width; ++i) v[i] += row[i];
  }
  for (int64_t j = 0; j < n; ++j) {
    T s = v[j * sw];
    for (int64_t kj = 1; kj < kw; ++kj) s += v[j * sw + kj];
    y[j] = s / div;
  }
}

// The reverse: each output's share grad_y / div spreads over its kernel_w cells of one buffer
// row (a plain store when windows tile the row, kernel_w == stride; a gather of the shares
// covering each cell when stride is 1), which then adds to every window row of grad_x.
template <class T, int64_t S, int64_t KW>
void avg_interior_backward(T* gx, const T* gy, const AxisWindow& rw, T div, int64_t c, int64_t n,
                           const Pool2dParams& p) {
  const int64_t sw = S ? S : p.stride_w, kw = KW ? KW : p.kernel_w;
  const int64_t width = pool_detail::chunk_width(p, n);
  T e[pool_detail::kRowBuf];
  if constexpr (S == 1) {  // gather form (no overlapping stores): e[i] = sum of g[i - kj]
    T g[2 * pool_detail::kRowBuf + pool_detail::kChunk];  // n + 2 * (kernel_w - 1) shares
    std::fill(g, g + kw - 1, T(0));
    for (int64_t j = 0; j < n; ++j) g[kw - 1 + j] = gy[j] / div;
    std::fill(g + kw - 1 + n, g + 2 * (kw - 1) + n, T(0));
    for (int64_t i = 0; i < width; ++i) {
      T sum = g[i + kw - 1];
      for (int64_t kj = 1; kj < kw; ++kj) sum += g[i + kw - 1 - kj];
      e[i] = sum;
    }
  } else if constexpr (KW != 0 && KW == S) {
    for (int64_t j = 0; j < n; ++j) {
      const T g = gy[j] / div;
      for (int64_t kj = 0; kj < KW; ++kj) e[j * S + kj] = g;
    }
  } else {
    std::fill(e, e + width, T(0));
    for (int64_t j = 0; j < n; ++j) {
      const T g = gy[j] / div;
      for (int64_t kj = 0; kj < kw; ++kj) e[j * sw + kj] += g;
    }
  }
  T* origin = gx + c * sw - p.pad_left;
  for (int64_t ih = rw.lo; ih < rw.hi; ++ih) {
    T* row = origin + ih * p.in_w;
    for (int64_t i = 0; i < width; ++i) row[i] += e[i];
  }
}

template <class T, int64_t S, int64_t KW>
void avg_forward(T* y, const T* x, const Pool2dParams& p) {
  const Windows win(p);
  if (covers_plane(win, p)) {  // global pooling: one block sum per plane
    const T div = static_cast<T>(divisor_of(win.rows[0], win.cols[0], p));
    if constexpr (std::is_same_v<T, float>) {
      if (const auto means = cpu::pool_kernels().plane_means) {
        pool_detail::thread_ranges(p.planes(), [&](int64_t first, int64_t count) {
          means(y + first, x + first * p.in_pixels(), count, p.in_pixels(), div);
        });
        return;
      }
    }
#pragma omp parallel for num_threads(num_threads()) schedule(static)
    for (int64_t plane = 0; plane < p.planes(); ++plane)
      y[plane] = block_sum(x + plane * p.in_pixels(), p.in_pixels()) / div;
    return;
  }
  if (pool_detail::tiles_rows(p)) {
    const T div = static_cast<T>(divisor_of(win.rows[0], win.cols[0], p));
    if constexpr (std::is_same_v<T, float>) {
      const auto rows_2x2 = cpu::pool_kernels().avg_2x2_rows;
      if (rows_2x2 && p.kernel_h == 2 && p.kernel_w == 2) {
        pool_detail::for_row_blocks(y, x, p, [rows_2x2, div](T* yb, const T* xb,
                                                             const Pool2dParams& b) {
          rows_2x2(yb, xb, b.out_h, b.in_w, div);
        });
        return;
      }
    }
    pool_detail::tiled_rows<T, KW>(y, x, p, [](T a, T b) { return a + b; },
                                   [div](T s) { return s / div; });
    return;
  }
  if (box_3x3(y, x, p)) return;
  const int64_t chunk = pool_detail::separable_chunk(p);
  const int64_t begin = chunk ? win.interior_begin : p.out_w;
  const int64_t end = chunk ? win.interior_end : p.out_w;
#pragma omp parallel for num_threads(num_threads()) schedule(static)
  for (int64_t plane = 0; plane < p.planes(); ++plane) {
    const T* src = x + plane * p.in_pixels();
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      T* yr = y + plane * p.out_pixels() + oh * p.out_w;
      const AxisWindow& rw = win.rows[oh];
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        if (ow == begin && end > begin) {
          ow = end - 1;
          continue;
        }
        const AxisWindow& cw = win.cols[ow];
        yr[ow] = window_sum(src, rw, cw, p) / static_cast<T>(divisor_of(rw, cw, p));
      }
      if (end == begin) continue;
      const T div = static_cast<T>(divisor_of(rw, win.cols[begin], p));
      for (int64_t c = begin; c < end; c += chunk)
        avg_interior<T, S, KW>(yr + c, src, rw, div, c, std::min(chunk, end - c), p);
    }
  }
}

// Backward of windows that tile whole rows (pool_detail::tiles_rows): every input cell takes
// exactly one share, so each band's first row is written from the shares and copied to the
// band's other rows; nothing is zeroed but the rows no window covers.
template <class T, int64_t KW>
void tiled_rows_backward_plane(T* gx, const T* gy, T div, const Pool2dParams& p) {
  const int64_t w = p.in_w, kh = p.kernel_h, kw = KW ? KW : p.kernel_w;
  for (int64_t oh = 0; oh < p.out_h; ++oh) {
    T* first = gx + oh * kh * w;
    const T* g = gy + oh * p.out_w;
    for (int64_t j = 0; j < p.out_w; ++j) {
      const T share = g[j] / div;
      for (int64_t kj = 0; kj < kw; ++kj) first[j * kw + kj] = share;
    }
    for (int64_t ki = 1; ki < kh; ++ki) std::copy(first, first + w, first + ki * w);
  }
  std::fill(gx + p.out_h * kh * w, gx + p.in_pixels(), T(0));
}

template <class T, int64_t S, int64_t KW>
void avg_backward(T* grad_x, const T* grad_y, const Pool2dParams& p) {
  const Windows win(p);
  if (covers_plane(win, p)) {  // global pooling: each plane filled with its share
    const T div = static_cast<T>(divisor_of(win.rows[0], win.cols[0], p));
    pool_detail::thread_ranges(p.planes(), [&](int64_t first, int64_t count) {
      for (int64_t plane = first; plane < first + count; ++plane)
        std::fill(grad_x + plane * p.in_pixels(), grad_x + (plane + 1) * p.in_pixels(),
                  grad_y[plane] / div);
    });
    return;
  }
  if (pool_detail::tiles_rows(p)) {
    const T div = static_cast<T>(divisor_of(win.rows[0], win.cols[0], p));
#pragma omp parallel for num_threads(num_threads()) schedule(static)
    for (int64_t plane = 0; plane < p.planes(); ++plane)
      tiled_rows_backward_plane<T, KW>(grad_x + plane * p.in_pixels(),
                                       grad_y + plane * p.out_pixels(), div, p);
    return;
  }
  if (box_3x3(grad_x, grad_y, p)) return;
  const int64_t chunk = pool_detail::separable_chunk(p);
  const int64_t begin = chunk ? win.interior_begin : p.out_w;
  const int64_t end = chunk ? win.interior_end : p.out_w;
#pragma omp parallel for num_threads(num_threads()) schedule(static)
  for (int64_t plane = 0; plane < p.planes(); ++plane) {
    T* gx = grad_x + plane * p.in_pixels();
    std::fill(gx, gx + p.in_pixels(), T(0));
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const T* gy = grad_y + plane * p.out_pixels() + oh * p.out_w;
      const AxisWindow& rw = win.rows[oh];
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        if (ow == begin && end > begin) {
          ow = end - 1;
          continue;
        }
        const AxisWindow& cw = win.cols[ow];
        const T g = gy[ow] / static_cast<T>(divisor_of(rw, cw, p));
        for (int64_t ih = rw.lo; ih < rw.hi; ++ih)
          for (int64_t iw = cw.lo; iw < cw.hi; ++iw) gx[ih * p.in_w + iw] += g;
      }
      if (end == begin) continue;
      const T div = static_cast<T>(divisor_of(rw, win.cols[begin], p));
      for (int64_t c = begin; c < end; c += chunk)
        avg_interior_backward<T, S, KW>(gx, gy + c, rw, div, c, std::min(chunk, end - c), p);
    }
  }
}

}  // namespace

template <class T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dParams& p) {
  pool_detail::with_column_shape(p, [&](auto s, auto kw) {
    avg_forward<T, decltype(s)::value, decltype(kw)::value>(y, x, p);
  });
}

template <class T>
void avg_pool2d_backward(T* grad_x, const T* grad_y, const Pool2dParams& p) {
  pool_detail::with_column_shape(p, [&](auto s, auto kw) {
    avg_backward<T, decltype(s)::value, decltype(kw)::value>(grad_x, grad_y, p);
  });
}

template void avg_pool2d_forward<float>(float*, const float*, const Pool2dParams&);
template void avg_pool2d_forward<double>(double*, const double*, const Pool2dParams&);
template void avg_pool2d_backward<float>(float*, const float*, const Pool2dParams&);
template void avg_pool2d_backward<double>(double*, const double*, const Pool2dParams&);

}  // namespace faltung
