// How the conv2d kernels cut their work (internal to cpp/cpu/conv2d*.cpp): tiles of output
// columns, ranges of a dimension split into parts, a parallel loop over independent items, and
// the variants the entry points in conv2d.cpp choose between:
//   conv2d_indirect.cpp: the GEMM reads a padded copy of the image, in place or gathered;
//   conv2d_im2col.cpp:   the input gradient of strided layers, W^T . dY and col2im.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "faltung/conv2d.hpp"
#include "faltung/gemm.hpp"
#include "faltung/params.hpp"
#include "faltung/threads.hpp"

namespace faltung::conv {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// [0, size) split into `parts` ranges whose boundaries are multiples of `unit` (the last range
// ends at size).
struct Parts {
  int64_t size, unit, parts;
  int64_t begin(int64_t k) const {
    return std::min(size, ceil_div(size, unit) * k / parts * unit);
  }
  int64_t end(int64_t k) const { return begin(k + 1); }
};

// How many parts to cut each of `items` items into (at most `units`, the indivisible pieces of
// one item) so that there are at least two pieces of work per thread where possible.
inline int64_t parts_for(int64_t items, int64_t units, int threads) {
  int64_t parts = 1;
  while (items * parts < 2 * threads && parts < units) ++parts;
  return parts;
}

// The same where every part repeats some work (a gathered forward gathers the whole B block for
// each part): as few parts as spread the pieces evenly over the threads (one thread: one).
inline int64_t even_parts(int64_t items, int64_t units, int threads) {
  int64_t parts = 1;
  while ((items * parts) % threads != 0 && items * parts < 4 * threads && parts < units) ++parts;
  return parts;
}

// Runs body(i) for i in [0, count) over num_threads() threads, each body on one thread (so its
// GEMMs run single-threaded), dynamically scheduled.
template <class Body>
void parallel_for(int64_t count, Body body) {
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), count));
  if (threads <= 1) {
    for (int64_t i = 0; i < count; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (int64_t i = 0; i < count; ++i) body(i);
}

// Image n, group g of an NCHW tensor with `channels_per_group` channels per group.
template <class T>
T* plane(T* base, int64_t n, int64_t g, int64_t channels_per_group, int64_t groups,
         int64_t pixels) {
  return base + ((n * groups + g) * channels_per_group) * pixels;
}

// A conv weight as the GEMM's A: packed (gemm.hpp), group g at packed + g * stride; or, where
// in_place is set (the gathered forward), the (out, in/groups, kh, kw) weight itself, read in
// place by the kernel for A rows (gemm_block_indirect_a): row o of group g at
// in_place + (g * og + o) * col_rows. `rotated`: in_place is the weight of the layer whose
// stride-1 input gradient this forward computes (the rotated kernel, conv2d.cpp), read without
// rotating it: K runs over (channel, tap of w), B's taps reversed within each channel instead.
template <class T>
struct ConvWeight {
  const T* packed;
  int64_t stride;
  const T* in_place = nullptr;
  bool rotated = false;
};

// Runs pack(g, panel_begin, panel_end) over the `panels` mr-row panels of each of `groups`
// groups, in pieces of at least about 32 K elements shared out over the threads (the weight of
// a 512-channel layer packed by one thread kept the other waiting).
template <class Pack>
void pack_in_parallel(int64_t groups, int64_t panels, int64_t panel_elements, Pack pack) {
  const int64_t per = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, panel_elements));
  const int64_t pieces = ceil_div(panels, per);
  parallel_for(groups * pieces, [&](int64_t index) {
    const int64_t g = index / pieces, first = index % pieces * per;
    pack(g, first, std::min(panels, first + per));
  });
}

// Packs op(W_g) for every group into the caller's PackA slot.
template <class T>
ConvWeight<T> pack_weights(const T* w, bool transpose, const Conv2dParams& p) {
  const int64_t og = p.out_channels_per_group(), rows = p.col_rows();
  const int64_t m = transpose ? rows : og, k = transpose ? og : rows;
  const int64_t stride = packed_a_size<T>(m, k), mr = gemm_blocking<T>().mr;
  T* packed = workspace_as<T>(Slot::PackA, static_cast<size_t>(stride * p.groups));
  pack_in_parallel(p.groups, ceil_div(m, mr), mr * k, [&](int64_t g, int64_t first, int64_t last) {
    pack_a_panels(packed + g * stride, transpose, m, k, T(1), w + g * og * rows, rows, first, last);
  });
  return {packed, stride};
}

// The variants. Weights are (out, in/groups, kh, kw) as the public API takes them.
template <class T>
void backward_input_col2im(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p);
// The forward variants on padded images: B read in place, computing and dropping the padded
// columns of each output row (cheap for wide images), or gathered into packed panels (cheap
// for many output channels). choose_forward weighs the two costs.
enum class ForwardVariant { kIndirect, kGathered };
template <class T>
ForwardVariant choose_forward(const Conv2dParams& p);
// Both take the weight packed (pack_weights, or the rotated kernel of an input gradient); the
// gathered one also reads it in place (its B being packed, A need not be: the forward saves
// packing the weight, 5 % of ResNet 3x3/512 at 7x7).
template <class T>
void forward_indirect(T* y, const T* x, const ConvWeight<T>& w, const T* bias,
                      const Conv2dParams& p, Epilogue epilogue);
template <class T>
void forward_gathered(T* y, const T* x, const ConvWeight<T>& w, const T* bias,
                      const Conv2dParams& p, Epilogue epilogue);
// The weight gradient: dW^T = col . dY^T with col read in place (vectors along the output
// channels), or, for few output channels, dW = dY . col^T with col^T gathered (vectors along
// the taps).
template <class T>
void backward_weight_indirect(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p);
template <class T>
void backward_weight_gathered(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p);

}  // namespace faltung::conv
