// im2col / col2im over a tile of output pixels, for one image and one group (faltung/im2col.hpp).
// Each im2col row (c, kh, kw) is walked one output row at a time: the output columns whose
// input pixel lies in the padding are zero runs, the rest read x at a fixed step (stride_w), so
// the stride-1 case is a straight copy.
#include "faltung/im2col.hpp"

#include <algorithm>
#include <cstring>

namespace faltung {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// For im2col row r and the tile [p_begin, p_end): calls pad(j, n) for n tile columns from j that
// read padding, and run(j, n, src) for n tile columns from j that read x[src + t*stride_w].
template <class Pad, class Run>
void walk_row(const Conv2dParams& p, int64_t r, int64_t p_begin, int64_t p_end, Pad pad, Run run) {
  const int64_t kw = r % p.kernel_w, kh = (r / p.kernel_w) % p.kernel_h;
  const int64_t c = r / (p.kernel_w * p.kernel_h);
  const int64_t x_off = kw * p.dilation_w - p.pad_left;  // iw = ow * stride_w + x_off
  // Output columns [ow_lo, ow_hi) read inside the image for this kernel column.
  const int64_t ow_lo = std::clamp<int64_t>(ceil_div(-x_off, p.stride_w), 0, p.out_w);
  const int64_t ow_hi =
      std::clamp<int64_t>(ceil_div(p.in_w - x_off, p.stride_w), ow_lo, p.out_w);
  for (int64_t q = p_begin; q < p_end;) {
    const int64_t oh = q / p.out_w, ow0 = q % p.out_w;
    const int64_t ow1 = std::min(p.out_w, ow0 + (p_end - q));
    const int64_t j = q - p_begin;
    const int64_t ih = oh * p.stride_h + kh * p.dilation_h - p.pad_top;
    if (ih < 0 || ih >= p.in_h) {
      pad(j, ow1 - ow0);
    } else {
      const int64_t lo = std::clamp(ow_lo, ow0, ow1), hi = std::clamp(ow_hi, lo, ow1);
      if (lo > ow0) pad(j, lo - ow0);
      if (hi > lo) run(j + lo - ow0, hi - lo, (c * p.in_h + ih) * p.in_w + lo * p.stride_w + x_off);
      if (ow1 > hi) pad(j + hi - ow0, ow1 - hi);
    }
    q += ow1 - ow0;
  }
}

}  // namespace

template <class T>
void im2col_tile(T* col, int64_t ld_col, const T* x, int64_t p_begin, int64_t p_end,
                 const Conv2dParams& p) {
  const int64_t rows = p.col_rows(), step = p.stride_w;
  for (int64_t r = 0; r < rows; ++r) {
    T* out = col + r * ld_col;
    walk_row(
        p, r, p_begin, p_end, [&](int64_t j, int64_t n) { std::fill(out + j, out + j + n, T(0)); },
        [&](int64_t j, int64_t n, int64_t src) {
          if (step == 1) {
            std::memcpy(out + j, x + src, sizeof(T) * n);
          } else if (step == 2) {  // a constant step lets the compiler vectorise with shuffles
            for (int64_t t = 0; t < n; ++t) out[j + t] = x[src + 2 * t];
          } else {
            for (int64_t t = 0; t < n; ++t) out[j + t] = x[src + t * step];
          }
        });
  }
}

template <class T>
void col2im_tile_add(T* grad_x, const T* col, int64_t ld_col, int64_t p_begin, int64_t p_end,
                     const Conv2dParams& p) {
  const int64_t rows = p.col_rows(), step = p.stride_w;
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = col + r * ld_col;
    walk_row(
        p, r, p_begin, p_end, [](int64_t, int64_t) {},
        [&](int64_t j, int64_t n, int64_t dst) {
          T* __restrict__ out = grad_x + dst;
          const T* __restrict__ src = in + j;
          if (step == 1) {
            for (int64_t t = 0; t < n; ++t) out[t] += src[t];
          } else {
            for (int64_t t = 0; t < n; ++t) out[t * step] += src[t];
          }
        });
  }
}

template void im2col_tile<float>(float*, int64_t, const float*, int64_t, int64_t,
                                 const Conv2dParams&);
template void im2col_tile<double>(double*, int64_t, const double*, int64_t, int64_t,
                                  const Conv2dParams&);
template void col2im_tile_add<float>(float*, const float*, int64_t, int64_t, int64_t,
                                     const Conv2dParams&);
template void col2im_tile_add<double>(double*, const double*, int64_t, int64_t, int64_t,
                                      const Conv2dParams&);

}  // namespace faltung
