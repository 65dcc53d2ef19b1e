// Pieces shared by the depthwise kernels (depthwise.cpp) and the fused separable convolution
// (separable.cpp): the row operations of this CPU, the layout of the padded input rows a call
// reads, copying them, and pointing a row operation's taps at them.
#pragma once
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "depthwise_rows.hpp"
#include "faltung/gemm.hpp"
#include "faltung/params.hpp"
#include "faltung/threads.hpp"

namespace faltung::depthwise {

using cpu::DepthwiseRows;
using cpu::kDotLanes;
using cpu::kMaxFixedTaps;

// The same ISA as the GEMM micro-kernels (which honour FALTUNG_ISA).
struct RowTable {
  DepthwiseRows<float> f32;
  DepthwiseRows<double> f64;
  RowTable() {
    cpu::generic_depthwise_rows(&f32, &f64);
    const std::string isa = gemm_kernel_name();
    if (isa == "avx512") cpu::avx512_depthwise_rows(&f32, &f64);
    else if (isa == "avx2") cpu::avx2_depthwise_rows(&f32, &f64);
  }
};

inline const RowTable& row_table() {
  static const RowTable table;
  return table;
}
template <class T>
const DepthwiseRows<T>& rows();
template <>
inline const DepthwiseRows<float>& rows<float>() { return row_table().f32; }
template <>
inline const DepthwiseRows<double>& rows<double>() { return row_table().f64; }

// Tile pixel of every image pixel of an h x w plane placed at (top, left) in rows of `width`
// (the pos argument of the tile transposes; also used by pool_max_blocked.cpp).
inline std::vector<int64_t> positions(int64_t h, int64_t w, int64_t top, int64_t left,
                                      int64_t width) {
  std::vector<int64_t> pos(h * w);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) pos[y * w + x] = (y + top) * width + x + left;
  return pos;
}

inline int64_t fixed_or_any(int64_t taps) { return taps <= kMaxFixedTaps ? taps : 0; }

inline int64_t multiplier(const Conv2dParams& p) { return p.out_channels / p.in_channels; }

// How one call lays out the input planes it reads: padded row r, phase q starts at
// r * row_stride + q * phase_stride; `copied` when the plane is a padded copy (else the image).
// Phase q of a padded row holds image columns u*sw + q - pad_left for u in [lo, hi) (spans[q]),
// zeros elsewhere.
struct InputLayout {
  struct Span {
    int64_t lo, hi, first;  // first: the image column of u = 0 (may be negative)
  };
  bool copied;
  int64_t rows, row_stride, phase_stride, width;
  std::vector<Span> spans;
  explicit InputLayout(const Conv2dParams& p) {
    copied = !(p.stride_w == 1 && p.pad_top == 0 && p.pad_bottom == 0 && p.pad_left == 0 &&
               p.pad_right == 0);
    const int64_t sw = p.stride_w, padded_w = p.in_w + p.pad_left + p.pad_right;
    width = copied ? (padded_w + sw - 1) / sw : p.in_w;
    rows = p.in_h + p.pad_top + p.pad_bottom;
    phase_stride = copied ? width : 0;
    row_stride = copied ? sw * width : p.in_w;
    for (int64_t q = 0; q < sw; ++q) {
      const int64_t first = q - p.pad_left;
      const int64_t lo = std::min(width, first >= 0 ? 0 : (-first + sw - 1) / sw);
      const int64_t hi = std::max(lo, std::min(width, (p.in_w - first + sw - 1) / sw));
      spans.push_back({lo, hi, first});
    }
  }
  int64_t elements() const { return rows * row_stride; }
  // Offset of tap (i, k) from the start of output row 0's window, in kernel order.
  std::vector<int64_t> tap_offsets(const Conv2dParams& p) const {
    std::vector<int64_t> offsets;
    for (int64_t i = 0; i < p.kernel_h; ++i)
      for (int64_t k = 0; k < p.kernel_w; ++k) {
        const int64_t col = k * p.dilation_w;
        offsets.push_back(i * p.dilation_h * row_stride + col % p.stride_w * phase_stride +
                          col / p.stride_w);
      }
    return offsets;
  }
};

// dst[u] = src[u * Stride] for u < n (Stride 0: the run-time stride): with the stride known
// the compiler vectorises the copy (a plain copy for 1, even/odd shuffles for 2).
template <int Stride, class T>
void copy_every(T* __restrict dst, const T* __restrict src, int64_t n, int64_t stride) {
  const int64_t step = Stride > 0 ? Stride : stride;
  for (int64_t u = 0; u < n; ++u) dst[u] = src[u * step];
}

// The image cells of one padded phase row (its zeros are left alone) from image row src.
template <class T>
void copy_image_row(T* row, const T* src, const InputLayout& layout, int64_t sw) {
  for (const InputLayout::Span& span : layout.spans) {
    const T* from = src + (span.lo * sw + span.first);
    if (sw == 1) copy_every<1>(row + span.lo, from, span.hi - span.lo, sw);
    else if (sw == 2) copy_every<2>(row + span.lo, from, span.hi - span.lo, sw);
    else copy_every<0>(row + span.lo, from, span.hi - span.lo, sw);
    row += layout.width;
  }
}

// A thread's padded copy of one image plane at a time (when layout.copied): the padding is
// zeroed once, when made; each plane then writes only the image's cells.
template <class T>
class PaddedPlane {
 public:
  PaddedPlane(const Conv2dParams& p, const InputLayout& layout) : p_(p), layout_(layout) {
    if (!layout.copied) return;
    buffer_ = workspace_as<T>(Slot::DepthwisePlane, layout.elements());
    std::fill(buffer_, buffer_ + layout.elements(), T(0));
  }
  // The padded rows of image plane x (in_h x in_w): the image itself, or this copy.
  const T* load(const T* x) {
    if (!layout_.copied) return x;
    for (int64_t iy = 0; iy < p_.in_h; ++iy)
      copy_image_row(buffer_ + (iy + p_.pad_top) * layout_.row_stride, x + iy * p_.in_w,
                     layout_, p_.stride_w);
    return buffer_;
  }

 private:
  const Conv2dParams& p_;
  const InputLayout& layout_;
  T* buffer_ = nullptr;
};

// Padded rows [first, end) of image plane x, as layout reads them, in this thread's workspace
// (or the image itself); returns the address of padded row `first`. For a part of a plane
// (separable tiles); whole planes take a PaddedPlane.
template <class T>
const T* input_rows(const T* x, const Conv2dParams& p, const InputLayout& layout, int64_t first,
                    int64_t end) {
  if (!layout.copied) return x + first * layout.row_stride;
  T* dst = workspace_as<T>(Slot::DepthwisePlane, (end - first) * layout.row_stride);
  std::fill(dst, dst + (end - first) * layout.row_stride, T(0));
  for (int64_t r = std::max(first, p.pad_top); r < std::min(end, p.pad_top + p.in_h); ++r)
    copy_image_row(dst + (r - first) * layout.row_stride, x + (r - p.pad_top) * p.in_w, layout,
                   p.stride_w);
  return dst;
}

template <class T>
void point(const T** src, const T* base, const std::vector<int64_t>& offsets) {
  for (size_t t = 0; t < offsets.size(); ++t) src[t] = base + offsets[t];
}

// Rows of `rows` x `width` between a wide buffer (row stride `stride`) and a dense plane.
template <class T>
void copy_rows(T* dst, int64_t dst_stride, const T* src, int64_t src_stride, int64_t rows,
               int64_t width) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + r * dst_stride, src + r * src_stride, width * sizeof(T));
}

}  // namespace faltung::depthwise
