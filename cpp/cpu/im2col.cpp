// col2im over a tile of output pixels and a range of im2col rows, for one image and one group,
// and copy_tile (faltung/im2col.hpp). Each im2col row (c, kh, kw) is walked one output row at a
// time: the output columns whose input pixel lies in the padding are skipped, the rest add into
// grad_x at a fixed step (stride_w). copy_tile writes row-major or straight into the GEMM's
// packed B panels (a run is split where a panel ends).
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

// Splits a run of n columns from column j of one row at the panel edges of `layout` and calls
// piece(dst, t0, count) for each piece: dst points at column j + t0, count columns contiguous.
template <class T, class Piece>
void for_each_piece(T* row_base, ColumnLayout layout, int64_t j, int64_t n, Piece piece) {
  j += layout.first_column;
  if (layout.nr == 0) return piece(row_base + j, 0, n);
  const int64_t nr = layout.nr, panel_size = layout.ld * nr;
  for (int64_t t0 = 0; t0 < n;) {
    const int64_t col = j + t0, count = std::min(n - t0, nr - col % nr);
    piece(row_base + (col / nr) * panel_size + col % nr, t0, count);
    t0 += count;
  }
}

}  // namespace

template <class T>
void copy_tile(T* col, ColumnLayout layout, const T* src, int64_t ld_src, int64_t rows,
               int64_t n) {
  const int64_t row_stride = layout.nr == 0 ? layout.ld : layout.nr;
  for (int64_t r = 0; r < rows; ++r)
    for_each_piece(col + r * row_stride, layout, 0, n, [&](T* out, int64_t t0, int64_t count) {
      std::memcpy(out, src + r * ld_src + t0, sizeof(T) * count);
    });
}

template <class T>
void col2im_tile_add(T* grad_x, const T* col, int64_t ld_col, int64_t r_begin, int64_t r_end,
                     int64_t p_begin, int64_t p_end, const Conv2dParams& p) {
  const int64_t step = p.stride_w;
  for (int64_t r = r_begin; r < r_end; ++r) {
    const T* in = col + (r - r_begin) * ld_col;
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

template void copy_tile<float>(float*, ColumnLayout, const float*, int64_t, int64_t, int64_t);
template void copy_tile<double>(double*, ColumnLayout, const double*, int64_t, int64_t, int64_t);
template void col2im_tile_add<float>(float*, const float*, int64_t, int64_t, int64_t, int64_t,
                                     int64_t, const Conv2dParams&);
template void col2im_tile_add<double>(double*, const double*, int64_t, int64_t, int64_t, int64_t,
                                      int64_t, const Conv2dParams&);

}  // namespace faltung
