// conv2d forward and backward by im2col + GEMM (faltung/conv2d.hpp), NCHW / OIHW, groups.
// Work is cut into items (image, group, tile of output pixels); the column buffer of a tile is
// bounded (kColumnBytes), lives in the thread's workspace and is consumed at once by the GEMM,
// so no layer allocates columns for the whole image. A pointwise layer (1x1, stride 1, no
// padding) multiplies the image directly. Threads take whole items when there are enough of
// them (each GEMM then runs on one thread); otherwise the GEMM itself is threaded.
//   forward:      Y_g[:, tile]  = W_g . col(tile)                 (W_g packed once per call)
//   grad input:   dcol          = W_g^T . dY_g[:, tile], col2im   (W_g^T packed once per call)
//   grad weight:  dW_g         += dY_g[:, tile] . col(tile)^T     (per-thread partial sums)
#include "faltung/conv2d.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "faltung/gemm.hpp"
#include "faltung/im2col.hpp"
#include "faltung/threads.hpp"

namespace faltung {
namespace {

constexpr int64_t kColumnBytes = int64_t(1) << 20;  // one tile's column buffer: about L2 size
constexpr int64_t kMinTile = 256;

// Output pixels per tile: the column buffer stays near kColumnBytes, a multiple of 64 columns.
int64_t column_tile(const Conv2dParams& p, int64_t elem_bytes) {
  const int64_t fit = kColumnBytes / (p.col_rows() * elem_bytes) / 64 * 64;
  return std::min(p.out_pixels(), std::max(kMinTile, fit));
}

struct Tiling {
  int64_t tile, tiles_per_image, items;  // items = batch * groups * tiles_per_image
};

Tiling make_tiling(const Conv2dParams& p, int64_t elem_bytes) {
  const int64_t tile = p.is_pointwise() ? p.out_pixels() : column_tile(p, elem_bytes);
  const int64_t per_image = (p.out_pixels() + tile - 1) / tile;
  return {tile, per_image, p.batch * p.groups * per_image};
}

// Runs body(item) for every item, on all threads when `parallel` (each body's GEMMs then run
// on its own thread), else in order on the calling thread (the GEMMs are threaded inside).
template <class Body>
void for_each_item(int64_t items, bool parallel, Body body) {
  if (parallel) {
#pragma omp parallel for schedule(dynamic) num_threads(num_threads())
    for (int64_t i = 0; i < items; ++i) body(i);
  } else {
    for (int64_t i = 0; i < items; ++i) body(i);
  }
}

// Packs op(W_g) for every group into the caller's PackA slot; returns the per-group stride.
template <class T>
T* pack_weights(const T* w, bool transpose, const Conv2dParams& p, int64_t* stride) {
  const int64_t og = p.out_channels_per_group(), rows = p.col_rows();
  const int64_t m = transpose ? rows : og, k = transpose ? og : rows;
  *stride = packed_a_size<T>(m, k);
  T* packed = workspace_as<T>(Slot::PackA, static_cast<size_t>(*stride * p.groups));
  for (int64_t g = 0; g < p.groups; ++g)
    pack_a(packed + g * *stride, transpose, m, k, T(1), w + g * og * rows, rows);
  return packed;
}

}  // namespace

template <class T>
void conv2d_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  const int64_t og = p.out_channels_per_group(), cg = p.in_channels_per_group();
  const int64_t rows = p.col_rows(), pixels = p.out_pixels();
  const Tiling t = make_tiling(p, sizeof(T));
  int64_t stride = 0;
  const T* packed = pack_weights(w, false, p, &stride);
  for_each_item(t.items, t.items >= 2 * num_threads(), [&](int64_t item) {
    const int64_t tile_index = item % t.tiles_per_image, ng = item / t.tiles_per_image;
    const int64_t n = ng / p.groups, g = ng % p.groups;
    const int64_t p0 = tile_index * t.tile, width = std::min(t.tile, pixels - p0);
    const T* xg = x + (n * p.in_channels + g * cg) * p.in_pixels();
    T* yg = y + (n * p.out_channels + g * og) * pixels;
    if (p.is_pointwise()) {
      gemm_packed_a(packed + g * stride, og, pixels, rows, false, xg, pixels, T(0), yg, pixels);
    } else {
      T* col = workspace_as<T>(Slot::Columns, static_cast<size_t>(rows * width));
      im2col_tile(col, xg, p0, p0 + width, p);
      gemm_packed_a(packed + g * stride, og, width, rows, false, col, width, T(0), yg + p0,
                    pixels);
    }
    if (bias != nullptr) {
      for (int64_t o = 0; o < og; ++o) {
        const T b = bias[g * og + o];
        T* row = yg + o * pixels + p0;
        for (int64_t j = 0; j < width; ++j) row[j] += b;
      }
    }
  });
}

template <class T>
void conv2d_backward_input(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p) {
  const int64_t og = p.out_channels_per_group(), cg = p.in_channels_per_group();
  const int64_t rows = p.col_rows(), pixels = p.out_pixels();
  const Tiling t = make_tiling(p, sizeof(T));
  int64_t stride = 0;
  const T* packed = pack_weights(w, true, p, &stride);
  // Tiles of one image overlap in grad_x (col2im adds), so threads take whole (image, group)s.
  const int64_t images = p.batch * p.groups;
  for_each_item(images, images >= num_threads(), [&](int64_t ng) {
    const int64_t n = ng / p.groups, g = ng % p.groups;
    T* gx = grad_x + (n * p.in_channels + g * cg) * p.in_pixels();
    const T* gy = grad_y + (n * p.out_channels + g * og) * pixels;
    if (p.is_pointwise()) {
      gemm_packed_a(packed + g * stride, rows, pixels, og, false, gy, pixels, T(0), gx, pixels);
      return;
    }
    std::fill(gx, gx + cg * p.in_pixels(), T(0));
    for (int64_t p0 = 0; p0 < pixels; p0 += t.tile) {
      const int64_t width = std::min(t.tile, pixels - p0);
      T* dcol = workspace_as<T>(Slot::Columns, static_cast<size_t>(rows * width));
      gemm_packed_a(packed + g * stride, rows, width, og, false, gy + p0, pixels, T(0), dcol,
                    width);
      col2im_tile_add(gx, dcol, p0, p0 + width, p);
    }
  });
}

template <class T>
void conv2d_backward_weight(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p) {
  const int64_t og = p.out_channels_per_group(), cg = p.in_channels_per_group();
  const int64_t rows = p.col_rows(), pixels = p.out_pixels();
  const int64_t w_size = p.out_channels * rows;
  const Tiling t = make_tiling(p, sizeof(T));
  // grad_w[g] (+)= dY tile . col(tile)^T; `first` marks the item that overwrites its group.
  auto accumulate = [&](T* dst, int64_t item, bool first) {
    const int64_t tile_index = item % t.tiles_per_image, ng = item / t.tiles_per_image;
    const int64_t n = ng / p.groups, g = ng % p.groups;
    const int64_t p0 = tile_index * t.tile, width = std::min(t.tile, pixels - p0);
    const T* gy = grad_y + (n * p.out_channels + g * og) * pixels + p0;
    const T* xg = x + (n * p.in_channels + g * cg) * p.in_pixels();
    const T* cols = xg;
    int64_t ld = pixels;
    if (!p.is_pointwise()) {
      T* col = workspace_as<T>(Slot::Columns, static_cast<size_t>(rows * width));
      im2col_tile(col, xg, p0, p0 + width, p);
      cols = col;
      ld = width;
    }
    gemm(false, true, og, rows, width, T(1), gy, pixels, cols, ld, first ? T(0) : T(1),
         dst + g * og * rows, rows);
  };
  const int threads = num_threads();
  const int64_t per_group = p.batch * t.tiles_per_image;
  if (per_group < threads || threads == 1) {
    // Too few items to share: one pass, items of a group in order, GEMMs threaded inside.
    for (int64_t g = 0; g < p.groups; ++g)
      for (int64_t i = 0; i < per_group; ++i) {
        const int64_t n = i / t.tiles_per_image, tile_index = i % t.tiles_per_image;
        accumulate(grad_w, (n * p.groups + g) * t.tiles_per_image + tile_index, i == 0);
      }
    return;
  }
  // Each thread sums its share of the items into a private copy of grad_w, then they are added.
  std::vector<T*> partials(threads, nullptr);
#pragma omp parallel num_threads(threads)
  {
    const int team = omp_get_num_threads(), me = omp_get_thread_num();
    T* mine = workspace_as<T>(Slot::Partial, static_cast<size_t>(w_size));
    std::fill(mine, mine + w_size, T(0));
    partials[me] = mine;
    for (int64_t item = me; item < t.items; item += team) accumulate(mine, item, false);
#pragma omp barrier
#pragma omp for schedule(static)
    for (int64_t i = 0; i < w_size; ++i) {
      T sum = T(0);
      for (int k = 0; k < team; ++k) sum += partials[k][i];
      grad_w[i] = sum;
    }
  }
}

template <class T>
void conv2d_backward_bias(T* grad_b, const T* grad_y, const Conv2dParams& p) {
  const int64_t pixels = p.out_pixels();
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t o = 0; o < p.out_channels; ++o) {
    T sum = T(0);
    for (int64_t n = 0; n < p.batch; ++n) {
      const T* row = grad_y + (n * p.out_channels + o) * pixels;
      for (int64_t j = 0; j < pixels; ++j) sum += row[j];
    }
    grad_b[o] = sum;
  }
}

#define FALTUNG_INSTANTIATE_CONV2D(T)                                                      \
  template void conv2d_forward<T>(T*, const T*, const T*, const T*, const Conv2dParams&);  \
  template void conv2d_backward_input<T>(T*, const T*, const T*, const Conv2dParams&);     \
  template void conv2d_backward_weight<T>(T*, const T*, const T*, const Conv2dParams&);    \
  template void conv2d_backward_bias<T>(T*, const T*, const Conv2dParams&);
FALTUNG_INSTANTIATE_CONV2D(float)
FALTUNG_INSTANTIATE_CONV2D(double)

}  // namespace faltung
