// Max pooling over NCHW planes, forward (values and optional int64 indices, flat h*in_w + w
// within the plane, as PyTorch returns them) and backward (scatter of grad_y to the indices).
// Semantics are PyTorch's CPU kernel: padding cells never win (they are -inf), a NaN always
// wins (so the last NaN of a window does), ties go to the first tap in row-major window order,
// and a window of -inf reports its first real tap. Interior columns run a row-at-a-time loop
// over the window's taps that the compiler vectorises (values only: the separable path of
// pool_common.hpp); border columns take the scalar path. float32 on AVX-512 with 3x3 or
// larger kernels on small planes goes to the channel-blocked tiles (pool_max_blocked.cpp), and
// 2x2/2 windows tiling whole rows (values only) to the AVX-512 row loop (pool_kernels.hpp).
// Backward, plane by plane (planes are independent: no atomics): tiling windows (2x2/2) store
// each gradient into a zeroed band of rows (float32 on AVX-512: every cell written once, no
// zeroing); 3x3/2 windows in float32 on AVX-512 gather each cell's gradients row by row
// (pool_kernels_avx512.cpp); other windows, and planes whose indices leave their windows, zero
// the planes (a few KiB ahead of the scatter, kZeroAhead) and add each gradient at its index
// (overlaps accumulate).
#include <atomic>
#include <cmath>
#include <limits>
#include <type_traits>

#include "pool_common.hpp"
#include "pool_kernels.hpp"
#include "pool_max_blocked.hpp"

namespace faltung {
namespace {

using pool_detail::kChunk;
using pool_detail::Windows;

template <class T>
void max_window(T* y, int64_t* index, const T* plane, const AxisWindow& rw, const AxisWindow& cw,
                const Pool2dParams& p) {
  T m = -std::numeric_limits<T>::infinity();
  int64_t arg = rw.lo * p.in_w + cw.lo;
  for (int64_t ih = rw.lo; ih < rw.hi; ih += p.dilation_h)
    for (int64_t iw = cw.lo; iw < cw.hi; iw += p.dilation_w) {
      const T v = plane[ih * p.in_w + iw];
      if (v > m || v != v) {
        m = v;
        arg = ih * p.in_w + iw;
      }
    }
  *y = m;
  if (index) *index = arg;
}

// Values and indices of output columns [c, c + n) of one output row, all with complete windows;
// stride S and kernel width KW are compile-time constants where not 0. m keeps the running
// maximum per column and t the winner's flat offset in the plane relative to the column's window
// origin c*sw - pad_left
// (int32: planes up to 2^31 cells take this path). With KW known, each input row updates m once
// (the KW taps unrolled in registers); otherwise every tap sweeps the columns.
template <class T, int64_t S, int64_t KW>
void max_interior(T* y, int64_t* index, const T* plane, const AxisWindow& rw, int64_t c,
                  int64_t n, const Pool2dParams& p) {
  const int64_t sw = S ? S : p.stride_w, kw = KW ? KW : p.kernel_w, dw = p.dilation_w;
  const T* origin = plane + c * sw - p.pad_left;
  T m[kChunk];
  int32_t t[kChunk];
  for (int64_t j = 0; j < n; ++j) {
    m[j] = -std::numeric_limits<T>::infinity();
    t[j] = static_cast<int32_t>(rw.lo * p.in_w);
  }
  for (int64_t ih = rw.lo; ih < rw.hi; ih += p.dilation_h) {
    const T* row = origin + ih * p.in_w;
    const int32_t row_offset = static_cast<int32_t>(ih * p.in_w);
    if constexpr (KW != 0) {
      for (int64_t j = 0; j < n; ++j) {
        T mj = m[j];
        int32_t tj = t[j];
        for (int64_t kj = 0; kj < KW; ++kj) {
          const T v = row[j * sw + kj * dw];
          const bool take = v > mj || v != v;
          mj = take ? v : mj;
          tj = take ? row_offset + static_cast<int32_t>(kj * dw) : tj;
        }
        m[j] = mj;
        t[j] = tj;
      }
    } else {
      for (int64_t kj = 0; kj < kw; ++kj) {
        const T* src = row + kj * dw;
        const int32_t offset = row_offset + static_cast<int32_t>(kj * dw);
        for (int64_t j = 0; j < n; ++j) {
          const T v = src[j * sw];
          const bool take = v > m[j] || v != v;
          m[j] = take ? v : m[j];
          t[j] = take ? offset : t[j];
        }
      }
    }
  }
  for (int64_t j = 0; j < n; ++j) y[j] = m[j];
  for (int64_t j = 0; j < n; ++j) index[j] = t[j] + (c + j) * sw - p.pad_left;
}

// a, unless b is greater or NaN: a NaN, once met, stays (PyTorch's scan keeps the last NaN).
template <class T>
inline T max_nan(T a, T b) {
  return (b > a || b != b) ? b : a;
}

// Values only (no indices), separable: the window rows reduce into one buffer row, then each
// output reduces its kernel_w taps along it. The order of the comparisons differs from the
// scan above, which changes nothing for values (a NaN anywhere still gives NaN).
template <class T, int64_t S, int64_t KW>
void max_interior_values(T* y, const T* plane, const AxisWindow& rw, int64_t c, int64_t n,
                         const Pool2dParams& p) {
  const int64_t sw = S ? S : p.stride_w, kw = KW ? KW : p.kernel_w, dw = p.dilation_w;
  const int64_t width = pool_detail::chunk_width(p, n);
  const T* origin = plane + c * sw - p.pad_left;
  T v[pool_detail::kRowBuf];
  const T* first = origin + rw.lo * p.in_w;
  // Plain maxima (one instruction each) while noting NaN inputs; only a chunk that holds a
  // NaN is redone with max_nan.
  int nan = 0;
  for (int64_t i = 0; i < width; ++i) {
    v[i] = first[i];
    nan |= first[i] != first[i];
  }
  for (int64_t ih = rw.lo + p.dilation_h; ih < rw.hi; ih += p.dilation_h) {
    const T* row = origin + ih * p.in_w;
    for (int64_t i = 0; i < width; ++i) {
      v[i] = row[i] > v[i] ? row[i] : v[i];
      nan |= row[i] != row[i];
    }
  }
  if (nan) {
    for (int64_t i = 0; i < width; ++i) v[i] = first[i];
    for (int64_t ih = rw.lo + p.dilation_h; ih < rw.hi; ih += p.dilation_h) {
      const T* row = origin + ih * p.in_w;
      for (int64_t i = 0; i < width; ++i) v[i] = max_nan(v[i], row[i]);
    }
    for (int64_t j = 0; j < n; ++j) {
      T m = v[j * sw];
      for (int64_t kj = 1; kj < kw; ++kj) m = max_nan(m, v[j * sw + kj * dw]);
      y[j] = m;
    }
    return;
  }
  for (int64_t j = 0; j < n; ++j) {
    T m = v[j * sw];
    for (int64_t kj = 1; kj < kw; ++kj) m = v[j * sw + kj * dw] > m ? v[j * sw + kj * dw] : m;
    y[j] = m;
  }
}

template <class T, int64_t S, int64_t KW, bool kIndices>
void max_forward(T* y, int64_t* indices, const T* x, const Pool2dParams& p) {
  if (!kIndices && pool_detail::tiles_rows(p)) {
    if constexpr (std::is_same_v<T, float>) {
      const auto rows_2x2 = cpu::pool_kernels().max_2x2_rows;
      if (rows_2x2 && p.kernel_h == 2 && p.kernel_w == 2) {
        pool_detail::for_row_blocks(y, x, p, [rows_2x2](T* yb, const T* xb, const Pool2dParams& b) {
          rows_2x2(yb, xb, b.out_h, b.in_w);
        });
        return;
      }
    }
    pool_detail::tiled_rows<T, KW>(
        y, x, p, [](T a, T b) { return max_nan(a, b); }, [](T m) { return m; });
    return;
  }
  const Windows win(p);
  // indices: offsets are int32 within a plane; values: the separable buffer must hold a chunk
  const int64_t chunk = kIndices ? (p.in_pixels() < (int64_t{1} << 31) ? kChunk : 0)
                                 : pool_detail::separable_chunk(p);
#pragma omp parallel for num_threads(num_threads()) schedule(static)
  for (int64_t plane = 0; plane < p.planes(); ++plane) {
    const T* src = x + plane * p.in_pixels();
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const int64_t o = plane * p.out_pixels() + oh * p.out_w;
      T* yr = y + o;
      int64_t* ir = kIndices ? indices + o : nullptr;
      const AxisWindow& rw = win.rows[oh];
      const int64_t begin = chunk ? win.interior_begin : p.out_w;
      const int64_t end = chunk ? win.interior_end : p.out_w;
      for (int64_t ow = 0; ow < begin; ++ow)
        max_window(yr + ow, kIndices ? ir + ow : nullptr, src, rw, win.cols[ow], p);
      for (int64_t c = begin; c < end; c += chunk) {
        const int64_t n = std::min(chunk, end - c);
        if constexpr (kIndices) max_interior<T, S, KW>(yr + c, ir + c, src, rw, c, n, p);
        else max_interior_values<T, S, KW>(yr + c, src, rw, c, n, p);
      }
      for (int64_t ow = end; ow < p.out_w; ++ow)
        max_window(yr + ow, kIndices ? ir + ow : nullptr, src, rw, win.cols[ow], p);
    }
  }
}

}  // namespace

template <class T>
void max_pool2d_forward(T* y, int64_t* indices, const T* x, const Pool2dParams& p) {
  if constexpr (std::is_same_v<T, float>)
    if (pool_detail::use_blocked_max(p)) return pool_detail::blocked_max_forward(y, indices, x, p);
  pool_detail::with_column_shape(p, [&](auto s, auto kw) {
    constexpr int64_t S = decltype(s)::value, KW = decltype(kw)::value;
    if (indices) max_forward<T, S, KW, true>(y, indices, x, p);
    else max_forward<T, S, KW, false>(y, nullptr, x, p);
  });
}

namespace {

// Scatter of one zeroed plane: grad_x[index] += grad_y. Returns the indices outside the plane
// (skipped).
template <class T>
int64_t scatter_plane(T* gx, const T* gy, const int64_t* idx, const Pool2dParams& p) {
  const int64_t in_pixels = p.in_pixels();
  int64_t bad = 0;
  for (int64_t o = 0; o < p.out_pixels(); ++o) {
    const int64_t i = idx[o];
    if (static_cast<uint64_t>(i) < static_cast<uint64_t>(in_pixels)) gx[i] += gy[o];
    else ++bad;
  }
  return bad;
}

// Windows that tile the plane (kernel == stride, no padding, dilation 1, no ceil_mode window cut
// by the input's end: the usual 2x2/2): each input cell lies in at most one window, so each band
// of kernel_h input rows is zeroed (in cache) and every gradient is stored, not added, at its
// index. Returns false when some index
// does not name a cell of its own window (the caller then scatters the plane, which is what such
// indices mean).
template <class T, int64_t KW>
bool tiled_plane(T* gx, const T* gy, const int64_t* idx, const Pool2dParams& p) {
  const int64_t w = p.in_w, kh = p.kernel_h, kw = KW ? KW : p.kernel_w;
  if constexpr (std::is_same_v<T, float> && KW == 2) {
    const auto plane_2x2 = cpu::pool_kernels().max_grad_2x2_plane;
    if (plane_2x2 && kh == 2 && w == 2 * p.out_w && p.in_h == 2 * p.out_h &&
        w < (int64_t{1} << 30))
      return plane_2x2(gx, gy, idx, p.out_h, p.out_w);
  }
  for (int64_t oh = 0; oh < p.out_h; ++oh) {
    T* band = gx + oh * kh * w;
    std::fill(band, band + kh * w, T(0));
    const int64_t* ir = idx + oh * p.out_w;
    const T* g = gy + oh * p.out_w;
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const int64_t offset = ir[ow] - (oh * kh * w + ow * kw);  // from the window's origin
      bool inside = false;
      for (int64_t ki = 0; ki < kh; ++ki)
        inside |= static_cast<uint64_t>(offset - ki * w) < static_cast<uint64_t>(kw);
      if (!inside) return false;
      band[ow * kw + offset] = g[ow];
    }
  }
  std::fill(gx + p.out_h * kh * w, gx + p.in_pixels(), T(0));  // rows no window covers
  return true;
}

// Planes at least this wide gather 3x3/2 gradients (measured, docs/performance.md P18: 112
// columns gain, 13 to 55 lose: 16-window vectors on rows of 6 to 27 windows).
constexpr int64_t kGather3x3MinWidth = 112;

// Planes that are scattered to are zeroed this many bytes ahead of the scatter (at least one
// plane): the zeroing's stores have committed when the scatter reads their lines, which are
// still in L1 (48 KiB). Zeroing all of a thread's planes first sent them to L3 before the
// scatter read them back; zeroing each plane right before its scatter was slower still
// (docs/performance.md P19, P21).
constexpr int64_t kZeroAhead = 8192;

template <class T, int64_t KW>
int64_t max_backward(T* grad_x, const T* grad_y, const int64_t* indices, const Pool2dParams& p) {
  const bool tiled = p.kernel_h == p.stride_h && p.kernel_w == p.stride_w && p.pad_top == 0 &&
                     p.pad_bottom == 0 && p.pad_left == 0 && p.pad_right == 0 &&
                     p.dilation_h == 1 && p.dilation_w == 1 &&
                     p.out_h * p.kernel_h <= p.in_h && p.out_w * p.kernel_w <= p.in_w;
  const int64_t in_pixels = p.in_pixels(), out_pixels = p.out_pixels();
  // 3x3/2 windows (AlexNet, ResNet's stem) gathered plane by plane in the AVX-512 loop
  bool (*gather_3x3s2)(float*, const float*, const int64_t*, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t) = nullptr;
  if constexpr (std::is_same_v<T, float>)
    if (!p.adaptive && p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == 2 && p.stride_w == 2 &&
        p.dilation_h == 1 && p.dilation_w == 1 && p.in_w >= kGather3x3MinWidth &&
        in_pixels < (int64_t{1} << 31))
      gather_3x3s2 = cpu::pool_kernels().max_grad_3x3s2_plane;
  std::atomic<int64_t> bad{0};
  // each thread's planes in one contiguous range
  pool_detail::thread_ranges(p.planes(), [&](int64_t first, int64_t count) {
    const int64_t last = first + count;
    const bool dense = tiled || gather_3x3s2;  // planes written whole, else scattered
    // scattered planes are zeroed kZeroAhead bytes ahead of the scatter (P21)
    const int64_t ahead = std::max<int64_t>(1, kZeroAhead / (in_pixels * int64_t{sizeof(T)}));
    auto zero = [&](int64_t plane) {
      if (plane < last)
        std::fill(grad_x + plane * in_pixels, grad_x + (plane + 1) * in_pixels, T(0));
    };
    if (!dense)
      for (int64_t plane = first; plane < first + ahead; ++plane) zero(plane);
    int64_t skipped = 0;
    for (int64_t plane = first; plane < last; ++plane) {
      if (!dense) zero(plane + ahead);
      T* gx = grad_x + plane * in_pixels;
      const T* gy = grad_y + plane * out_pixels;
      const int64_t* idx = indices + plane * out_pixels;
      if (dense) {
        if constexpr (std::is_same_v<T, float>) {
          if (gather_3x3s2 && gather_3x3s2(gx, gy, idx, p.in_h, p.in_w, p.out_h, p.out_w,
                                           p.pad_top, p.pad_left))
            continue;
        }
        if (tiled && tiled_plane<T, KW>(gx, gy, idx, p)) continue;
        std::fill(gx, gx + in_pixels, T(0));
      }
      skipped += scatter_plane(gx, gy, idx, p);
    }
    bad += skipped;
  });
  return bad;
}

}  // namespace

template <class T>
int64_t max_pool2d_backward(T* grad_x, const T* grad_y, const int64_t* indices,
                            const Pool2dParams& p) {
  if (p.kernel_w == 2) return max_backward<T, 2>(grad_x, grad_y, indices, p);
  if (p.kernel_w == 3) return max_backward<T, 3>(grad_x, grad_y, indices, p);
  return max_backward<T, 0>(grad_x, grad_y, indices, p);
}

template void max_pool2d_forward<float>(float*, int64_t*, const float*, const Pool2dParams&);
template void max_pool2d_forward<double>(double*, int64_t*, const double*, const Pool2dParams&);
template int64_t max_pool2d_backward<float>(float*, const float*, const int64_t*,
                                            const Pool2dParams&);
template int64_t max_pool2d_backward<double>(double*, const double*, const int64_t*,
                                             const Pool2dParams&);

}  // namespace faltung
