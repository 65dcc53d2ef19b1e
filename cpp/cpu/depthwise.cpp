// Depthwise convolution forward and backward (faltung/depthwise.hpp), NCHW, weight
// (C*M, 1, kh, kw), direct, in one of four forms. For float32 on AVX-512: the 3x3 stride-1 and
// stride-2 forward and stride-1 input gradient straight on NCHW rows when the rows fill their
// vectors, and wide enough weight gradients (use_direct, use_direct_input, use_direct_weight,
// depthwise_direct.cpp); every stride-1 "same" pass on
// planes of 196 pixels or more and under 64 columns read flat (use_flat, depthwise_direct.cpp);
// channel-blocked tiles (depthwise_blocked.cpp) for the weight gradient and, by plane size and
// stride (use_blocked), small-plane and strided forwards and input gradients. The rest (and
// every pass in float64 or on other ISAs), described here, as
// sequences of row operations (depthwise_rows.hpp) on contiguous rows, threaded over planes.
//
// Strides are made contiguous by splitting each zero-padded input row by column phase: phase q
// of padded row r holds the padded columns q, q + sw, q + 2 sw, ... (a "phase plane", one per
// thread, in the workspace). Tap (i, k) of output row oy then reads phase (k*dw) % sw of padded
// row oy*sh + i*dh from element (k*dw) / sw on: contiguous for every stride. Stride 1 without
// padding reads the image in place. A thread zeroes its copy once per call and then writes only
// each plane's image cells into it (PaddedPlane, depthwise_work.hpp); a row operation covers all
// output rows of a plane in one call.
//   forward:      y row = bias + sum over taps of w * (shifted input phase row)     per (n, c)
//   grad weight:  dot products of grad_y rows with the same shifted input rows as the forward;
//                 threads split the channels (each owns its weights: no partial sums to reduce,
//                 the result does not depend on the thread count)
//   grad input:   stride 1: the forward form on grad_y zero-padded by the kernel's reach
//                 (rotated kernel, the M planes of a channel summed as M*kh*kw taps), written
//                 into grad_x row by row; strided: the gather form of the adjoint: phase q of
//                 padded input row r sums the taps that land there (k*dw % sw == q,
//                 (r - i*dh) % sh == 0, every j) over zero-padded grad_y rows, one multi-row
//                 call per class of rows (r mod sh, q) that share their taps; then the phases
//                 are interleaved back and the padding cropped
// "Wide" planes: with stride_h 1, a plane runs as ONE row operation over its rows laid end to
// end at the input's row stride (the columns between rows are computed and dropped, or
// multiplied by zeros in the weight gradient): a 7x7 map is one 63-element operation instead of
// seven 7-element ones that never fill a vector. Forward and input gradient do this for narrow
// maps (width < kWideBelow; wider rows go straight into the output), the weight gradient always
// (its dot products pay a horizontal tail per row otherwise; a channel whose result is not
// finite is redone row by row, so that an Inf no tap meets cannot leak in as 0 * Inf = NaN).
// 3x3 kernels (9 taps, or the 1-4 tap phase subsets of stride 2) take the unrolled row
// operations; other kernels and channel multipliers > 1 in the input gradient the any-count ones.
#include "faltung/depthwise.hpp"

#include <cmath>
#include <type_traits>

#include "depthwise_blocked.hpp"
#include "depthwise_direct.hpp"
#include "depthwise_work.hpp"
#include "epilogue.hpp"

namespace faltung {
namespace {

using namespace depthwise;

constexpr int64_t kWideBelow = 32;

}  // namespace

template <class T>
void depthwise_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p,
                       Epilogue epilogue) {
  if constexpr (std::is_same_v<T, float>) {
    if (use_direct(p)) return direct_forward(y, x, w, bias, p, epilogue);
    if (use_flat(p, Pass::kForward)) return flat_forward(y, x, w, bias, p, epilogue);
    if (use_blocked(p, Pass::kForward)) return blocked_forward(y, x, w, bias, p, epilogue);
  }
  const int64_t C = p.in_channels, M = multiplier(p), taps = p.kernel_h * p.kernel_w;
  const InputLayout layout(p);
  const std::vector<int64_t> offsets = layout.tap_offsets(p);
  const auto sum = rows<T>().sum[fixed_or_any(taps)];
  const bool wide = p.stride_h == 1 && p.out_w < kWideBelow;
  const int64_t rs = layout.row_stride * p.stride_h;  // between the windows of two output rows
  const int64_t wide_n = (p.out_h - 1) * rs + p.out_w;
#pragma omp parallel num_threads(num_threads())
  {
  PaddedPlane<T> padded(p, layout);
  const T** src = workspace_as<const T*>(Slot::DepthwiseTaps, taps);
  T* buffer = wide ? workspace_as<T>(Slot::DepthwiseRows, wide_n) : nullptr;
#pragma omp for schedule(static)
  for (int64_t plane = 0; plane < p.batch * C; ++plane) {
    const int64_t n = plane / C, c = plane % C;
    const T* in = padded.load(x + plane * p.in_pixels());
    T* out = y + (n * p.out_channels + c * M) * p.out_pixels();
    point(src, in, offsets);
    for (int64_t j = 0; j < M; ++j, out += p.out_pixels()) {
      const int64_t oc = c * M + j;
      const T init = bias != nullptr ? bias[oc] : T(0);
      if (wide) {
        sum(buffer, 0, 1, wide_n, init, src, 0, w + oc * taps, taps);
        copy_rows(out, p.out_w, buffer, rs, p.out_h, p.out_w);
      } else {
        sum(out, p.out_w, p.out_h, p.out_w, init, src, rs, w + oc * taps, taps);
      }
      if (epilogue != Epilogue::kNone)  // the plane is still in cache
        finish_row(out, out, p.out_pixels(), T(0), epilogue);
    }
  }
  }
}

template <class T>
void depthwise_backward_weight(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p) {
  if constexpr (std::is_same_v<T, float>) {
    if (use_direct_weight(p)) return direct_backward_weight(grad_w, grad_y, x, p);
    if (use_flat(p, Pass::kWeight)) return flat_backward_weight(grad_w, grad_y, x, p);
    if (use_blocked(p, Pass::kWeight)) return blocked_backward_weight(grad_w, grad_y, x, p);
  }
  const int64_t C = p.in_channels, M = multiplier(p), taps = p.kernel_h * p.kernel_w;
  const InputLayout layout(p);
  const std::vector<int64_t> offsets = layout.tap_offsets(p);
  const auto dots = rows<T>().dots;
  const bool wide = p.stride_h == 1;  // measured: faster than row by row at every width
  const int64_t rs = layout.row_stride * p.stride_h;
  const int64_t wide_n = (p.out_h - 1) * rs + p.out_w;
#pragma omp parallel num_threads(num_threads())
  {
  PaddedPlane<T> padded(p, layout);
  T* lanes = workspace_as<T>(Slot::DepthwiseWeights, M * taps * kDotLanes);
  const T** src = workspace_as<const T*>(Slot::DepthwiseTaps, taps);
  // wide: grad_y rows at the input's row stride, zeros between them (written once)
  T* padded_gy = wide ? workspace_as<T>(Slot::DepthwiseRows, wide_n) : nullptr;
  if (wide) std::fill(padded_gy, padded_gy + wide_n, T(0));
  // One channel's M*taps weight gradients; `by_rows` reads only the pixels each tap meets.
  auto channel = [&](int64_t c, bool by_rows) {
    std::fill(lanes, lanes + M * taps * kDotLanes, T(0));
    for (int64_t n = 0; n < p.batch; ++n) {
      const T* in = padded.load(x + (n * C + c) * p.in_pixels());
      const T* g = grad_y + (n * p.out_channels + c * M) * p.out_pixels();
      if (!by_rows) {
        point(src, in, offsets);
        for (int64_t j = 0; j < M; ++j, g += p.out_pixels()) {
          copy_rows(padded_gy, rs, g, p.out_w, p.out_h, p.out_w);
          dots(lanes + j * taps * kDotLanes, padded_gy, wide_n, src, taps);
        }
        continue;
      }
      for (int64_t oy = 0; oy < p.out_h; ++oy) {
        point(src, in + oy * rs, offsets);
        for (int64_t j = 0; j < M; ++j)
          dots(lanes + j * taps * kDotLanes, g + j * p.out_pixels() + oy * p.out_w, p.out_w,
               src, taps);
      }
    }
    bool finite = true;
    for (int64_t e = 0; e < M * taps; ++e) {
      T sum = T(0);
      for (int l = 0; l < kDotLanes; ++l) sum += lanes[e * kDotLanes + l];
      grad_w[c * M * taps + e] = sum;
      finite = finite && std::isfinite(sum);
    }
    return finite;
  };
#pragma omp for schedule(static)
  for (int64_t c = 0; c < C; ++c) {
    // The wide form also multiplies the zeros between grad_y's rows with input pixels that no
    // tap meets there: an Inf among them would turn a finite gradient into NaN, so a channel
    // with a non-finite result is done again row by row (as PyTorch computes it).
    if (!channel(c, !wide) && wide) channel(c, true);
  }
  }
}

namespace {

// Stride 1: grad_x[iy, ix] = sum over j, i, k of w[c*M+j, i, k] * gy_j[iy + pt - i*dh,
// ix + pl - k*dw], zero outside grad_y. Each grad_y plane is laid out at the padded input's row
// stride wp: `top` zero rows, then each row as `lead` zeros + out_w values (lead + out_w == wp),
// then top + 1 zero rows; a tap's source then never leaves the buffer and reads zeros outside
// grad_y (past a row's end it runs into the next row's leading zeros).
template <class T>
void backward_input_stride1(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p) {
  const int64_t C = p.in_channels, M = multiplier(p), taps = p.kernel_h * p.kernel_w;
  const int64_t wp = p.in_w + p.pad_left + p.pad_right;
  const int64_t top = (p.kernel_h - 1) * p.dilation_h, lead = (p.kernel_w - 1) * p.dilation_w;
  const int64_t plane_rows = top + p.out_h + top + 1, plane_elements = plane_rows * wp;
  std::vector<int64_t> offsets;  // tap (j, i, k) relative to grad_x element (0, 0)
  for (int64_t j = 0; j < M; ++j)
    for (int64_t i = 0; i < p.kernel_h; ++i)
      for (int64_t k = 0; k < p.kernel_w; ++k)
        offsets.push_back(j * plane_elements + (top + p.pad_top - i * p.dilation_h) * wp + lead +
                          p.pad_left - k * p.dilation_w);
  const auto sum = rows<T>().sum[fixed_or_any(M * taps)];
  const bool wide = p.in_w < kWideBelow;
  const int64_t wide_n = (p.in_h - 1) * wp + p.in_w;
#pragma omp parallel num_threads(num_threads())
  {
  // the zeros of this layout, written once; each plane writes only grad_y's cells
  T* padded = workspace_as<T>(Slot::DepthwiseGrad, M * plane_elements);
  std::fill(padded, padded + M * plane_elements, T(0));
  const T** src = workspace_as<const T*>(Slot::DepthwiseTaps, M * taps);
  T* buffer = wide ? workspace_as<T>(Slot::DepthwiseRows, wide_n) : nullptr;
  point(src, static_cast<const T*>(padded), offsets);
#pragma omp for schedule(static)
  for (int64_t plane = 0; plane < p.batch * C; ++plane) {
    const int64_t n = plane / C, c = plane % C;
    const T* gy = grad_y + (n * p.out_channels + c * M) * p.out_pixels();
    for (int64_t j = 0; j < M; ++j, gy += p.out_pixels())
      copy_rows(padded + j * plane_elements + top * wp + lead, wp, gy, p.out_w, p.out_h,
                p.out_w);
    const T* wc = w + c * M * taps;  // the M kernels of channel c, in (j, i, k) order
    T* gx = grad_x + plane * p.in_pixels();
    if (wide) {
      sum(buffer, 0, 1, wide_n, T(0), src, 0, wc, M * taps);
      copy_rows(gx, p.in_w, buffer, wp, p.in_h, p.in_w);
    } else {
      sum(gx, p.in_w, p.in_h, p.in_w, T(0), src, wp, wc, M * taps);
    }
  }
  }
}

// dst[u * Stride] = src[u] for u < n (Stride 0: the run-time stride), vectorised when known.
template <int Stride, class T>
void scatter_every(T* __restrict dst, const T* __restrict src, int64_t n, int64_t stride) {
  const int64_t step = Stride > 0 ? Stride : stride;
  for (int64_t u = 0; u < n; ++u) dst[u * step] = src[u];
}

// Strided: the phase-gather form (see the file comment). The padded input gradient's rows fall
// into classes by (r mod stride_h, column phase q); within a class every row sums the same taps
// over grad_y rows one apart, so a class is ONE multi-row operation, its taps and their offsets
// worked out once per call. grad_y is zero-padded by `margin` rows above and below and `lead`
// columns before (and zeros after up to `span`), so no tap needs a bounds check.
template <class T>
void backward_input_strided(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p) {
  const int64_t C = p.in_channels, M = multiplier(p), taps = p.kernel_h * p.kernel_w;
  const int64_t sw = p.stride_w, sh = p.stride_h;
  const InputLayout layout(p);  // copied: stride_w > 1 or stride_h > 1 with padding cropped
  const int64_t lead = (p.kernel_w - 1) * p.dilation_w / sw;
  const int64_t span = lead + std::max(p.out_w, layout.width);
  const int64_t margin = ((p.kernel_h - 1) * p.dilation_h + sh - 1) / sh + 1;
  const int64_t plane_rows = margin + p.out_h + margin, plane_elements = plane_rows * span;

  struct RowClass {
    int64_t first_row, rows, first_source_row;  // padded rows first_row + t*sh, t < rows
    int64_t phase;
    std::vector<int64_t> offsets, weights;  // per tap: source offset, index into w[c*M:]
  };
  std::vector<RowClass> classes;
  for (int64_t rho = 0; rho < sh; ++rho) {
    const int64_t first = p.pad_top + ((rho - p.pad_top) % sh + sh) % sh;  // first r = rho mod sh
    const int64_t end = p.pad_top + p.in_h;
    if (first >= end) continue;
    for (int64_t q = 0; q < sw; ++q) {
      RowClass rc{first, (end - first + sh - 1) / sh, (first - rho) / sh, q, {}, {}};
      for (int64_t j = 0; j < M; ++j)
        for (int64_t i = 0; i < p.kernel_h; ++i) {
          const int64_t reach = i * p.dilation_h;
          if ((rho - reach) % sh != 0) continue;
          const int64_t row_shift = (rho - reach) / sh;  // source row = R + row_shift
          for (int64_t k = 0; k < p.kernel_w; ++k) {
            const int64_t col = k * p.dilation_w;
            if (col % sw != q) continue;
            rc.offsets.push_back(j * plane_elements + (margin + row_shift) * span + lead -
                                 col / sw);
            rc.weights.push_back(j * taps + i * p.kernel_w + k);
          }
        }
      classes.push_back(std::move(rc));
    }
  }
  const auto& table = rows<T>();
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t plane = 0; plane < p.batch * C; ++plane) {
    const int64_t n = plane / C, c = plane % C;
    T* padded = workspace_as<T>(Slot::DepthwiseGrad, M * plane_elements);
    const T* gy = grad_y + (n * p.out_channels + c * M) * p.out_pixels();
    for (int64_t j = 0; j < M; ++j, gy += p.out_pixels()) {
      T* dst = padded + j * plane_elements;
      std::fill(dst, dst + margin * span, T(0));
      for (int64_t oy = 0; oy < p.out_h; ++oy) {
        T* row = dst + (margin + oy) * span;
        std::fill(row, row + lead, T(0));
        std::memcpy(row + lead, gy + oy * p.out_w, p.out_w * sizeof(T));
        std::fill(row + lead + p.out_w, row + span, T(0));
      }
      std::fill(dst + (margin + p.out_h) * span, dst + plane_elements, T(0));
    }
    T* phases = workspace_as<T>(Slot::DepthwisePlane, layout.elements());
    const T** src = workspace_as<const T*>(Slot::DepthwiseTaps, M * taps);
    T* wt = workspace_as<T>(Slot::DepthwiseWeights, M * taps);
    const T* wc = w + c * M * taps;
    for (const RowClass& rc : classes) {
      const int64_t count = static_cast<int64_t>(rc.offsets.size());
      const T* base = padded + rc.first_source_row * span;
      for (int64_t t = 0; t < count; ++t) {
        src[t] = base + rc.offsets[t];
        wt[t] = wc[rc.weights[t]];
      }
      T* out = phases + rc.first_row * layout.row_stride + rc.phase * layout.phase_stride;
      table.sum[fixed_or_any(count)](out, sh * layout.row_stride, rc.rows, layout.width, T(0),
                                     src, span, wt, count);
    }
    // interleave the phases back, cropping the padding: grad_x column u*sw + q - pad_left
    T* gx = grad_x + plane * p.in_pixels();
    for (int64_t iy = 0; iy < p.in_h; ++iy) {
      const T* row = phases + (iy + p.pad_top) * layout.row_stride;
      for (int64_t q = 0; q < sw; ++q) {
        const int64_t first = q - p.pad_left;
        const int64_t lo = std::min(layout.width, first >= 0 ? 0 : (-first + sw - 1) / sw);
        const int64_t hi = std::max(lo, std::min(layout.width, (p.in_w - first + sw - 1) / sw));
        T* to = gx + iy * p.in_w + (lo * sw + first);
        const T* from = row + q * layout.phase_stride + lo;
        if (sw == 1) scatter_every<1>(to, from, hi - lo, sw);
        else if (sw == 2) scatter_every<2>(to, from, hi - lo, sw);
        else scatter_every<0>(to, from, hi - lo, sw);
      }
    }
  }
}

}  // namespace

template <class T>
void depthwise_backward_input(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p) {
  if constexpr (std::is_same_v<T, float>) {
    if (use_direct_input(p)) return direct_backward_input(grad_x, grad_y, w, p);
    if (use_flat(p, Pass::kInput)) return flat_backward_input(grad_x, grad_y, w, p);
    if (use_blocked(p, Pass::kInput)) return blocked_backward_input(grad_x, grad_y, w, p);
  }
  if (p.stride_h == 1 && p.stride_w == 1)
    backward_input_stride1(grad_x, grad_y, w, p);
  else
    backward_input_strided(grad_x, grad_y, w, p);
}

#define FALTUNG_INSTANTIATE_DEPTHWISE(T)                                                        \
  template void depthwise_forward<T>(T*, const T*, const T*, const T*, const Conv2dParams&,     \
                                     Epilogue);    \
  template void depthwise_backward_input<T>(T*, const T*, const T*, const Conv2dParams&);       \
  template void depthwise_backward_weight<T>(T*, const T*, const T*, const Conv2dParams&);
FALTUNG_INSTANTIATE_DEPTHWISE(float)
FALTUNG_INSTANTIATE_DEPTHWISE(double)

}  // namespace faltung
