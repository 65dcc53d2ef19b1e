// conv2d forward and backward by im2col + GEMM (faltung/conv2d.hpp), NCHW / OIHW, groups.
//
// Work is cut into items: (block of images, group, tile of output pixels). The column matrix
// of an item is bounded (about kColumnBytes), lives in the thread's workspace and is consumed
// at once by the GEMM, so no layer allocates columns for whole images. A large image is cut
// into several tiles; images smaller than a tile are batched side by side into one tile, so a
// 7x7 layer still runs GEMMs hundreds of columns wide. Pointwise layers (1x1, stride 1, no
// padding) read dY and x in place in both backward passes; their forward still copies the
// input tile (im2col of a 1x1 layer is a row copy), because the GEMM reads its B operand in
// place and rows a whole image apart stream badly from memory (ResNet's 1x1 256->64 layer at
// 56x56: 62 GFLOP/s in place, 74 from the copied tile, one thread). Threads take whole items
// when there are enough of them (their GEMMs then run single-threaded); otherwise the GEMM
// itself is threaded.
//   forward:      Y[:, tile]   = W_g . col(tile)                  (W_g packed once per call)
//   grad input:   dcol         = W_g^T . dY[:, tile], col2im      (W_g^T packed once per call)
//   grad weight:  dW_g        += dY[:, tile] . col(tile)^T        (per-thread partial sums)
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

constexpr int64_t kColumnBytes = int64_t(1) << 20;  // one tile's column matrix: about L2 size
constexpr int64_t kMinTile = 256;                   // columns: narrower GEMMs lose efficiency

struct Tiling {
  int64_t images;           // images per tile (> 1 only when one image is narrower than a tile)
  int64_t tile;             // pixels of one image per tile
  int64_t tiles_per_image;  // 1 when images > 1
  int64_t blocks;           // blocks of `images` images covering the batch
  int64_t items() const { return blocks * tiles_per_image; }  // per group
};

Tiling make_tiling(const Conv2dParams& p, int64_t elem_bytes) {
  const int64_t pixels = p.out_pixels();
  const int64_t budget = std::max(kMinTile, kColumnBytes / (p.col_rows() * elem_bytes) / 64 * 64);
  Tiling t{};
  if (pixels >= kMinTile) {
    t.images = 1;
    t.tile = std::min(pixels, budget);
  } else {
    t.images = std::clamp<int64_t>(budget / pixels, 1, p.batch);
    t.tile = pixels;
  }
  t.tiles_per_image = (pixels + t.tile - 1) / t.tile;
  t.blocks = (p.batch + t.images - 1) / t.images;
  return t;
}

// One item's place: images [n0, n0 + count), group g, pixels [p0, p0 + width) of each image.
struct Item {
  int64_t n0, count, g, p0, width;
  int64_t columns() const { return count * width; }
  // Row stride of the item's scratch matrices: whole 64-byte lines, so GEMM rows stay aligned.
  int64_t ld() const { return (columns() + 15) / 16 * 16; }
};

Item locate(const Tiling& t, const Conv2dParams& p, int64_t index) {
  const int64_t tile_index = index % t.tiles_per_image, rest = index / t.tiles_per_image;
  const int64_t g = rest % p.groups, block = rest / p.groups;
  const int64_t n0 = block * t.images, p0 = tile_index * t.tile;
  return {n0, std::min(t.images, p.batch - n0), g, p0, std::min(t.tile, p.out_pixels() - p0)};
}

// Runs body(index) for index in [0, count): on all threads when `parallel` (each body's GEMMs
// then run on its own thread), else in order on the calling thread (GEMMs threaded inside).
template <class Body>
void for_each_index(int64_t count, bool parallel, Body body) {
  if (parallel) {
#pragma omp parallel for schedule(dynamic) num_threads(num_threads())
    for (int64_t i = 0; i < count; ++i) body(i);
  } else {
    for (int64_t i = 0; i < count; ++i) body(i);
  }
}

// Packs op(W_g) for every group into the caller's PackA slot; returns the per-group stride.
template <class T>
const T* pack_weights(const T* w, bool transpose, const Conv2dParams& p, int64_t* stride) {
  const int64_t og = p.out_channels_per_group(), rows = p.col_rows();
  const int64_t m = transpose ? rows : og, k = transpose ? og : rows;
  *stride = packed_a_size<T>(m, k);
  T* packed = workspace_as<T>(Slot::PackA, static_cast<size_t>(*stride * p.groups));
  for (int64_t g = 0; g < p.groups; ++g)
    pack_a(packed + g * *stride, transpose, m, k, T(1), w + g * og * rows, rows);
  return packed;
}

// Pointers to image n, group g of an NCHW tensor with `channels` channels per group.
template <class T>
T* plane(T* base, int64_t n, int64_t g, int64_t channels_per_group, int64_t groups,
         int64_t pixels) {
  return base + ((n * groups + g) * channels_per_group) * pixels;
}

// The item's column matrix (rows x columns), in the thread's Columns slot.
template <class T>
const T* columns(const T* x, const Item& it, const Conv2dParams& p) {
  const int64_t cols = it.ld(), cg = p.in_channels_per_group();
  T* col = workspace_as<T>(Slot::Columns, static_cast<size_t>(p.col_rows() * cols));
  for (int64_t j = 0; j < it.count; ++j)
    im2col_tile(col + j * it.width, cols, plane(x, it.n0 + j, it.g, cg, p.groups, p.in_pixels()),
                it.p0, it.p0 + it.width, p);
  return col;
}

// Copies the item's pixels of `channels` rows from each of its images into one matrix
// (channels x columns) in the Gather slot, or back (scatter), so several small images form
// one GEMM operand.
template <class T>
T* gather(const T* src, const Item& it, int64_t channels, int64_t groups, int64_t pixels) {
  const int64_t cols = it.ld();
  T* dst = workspace_as<T>(Slot::Gather, static_cast<size_t>(channels * cols));
  for (int64_t j = 0; j < it.count; ++j) {
    const T* s = plane(src, it.n0 + j, it.g, channels, groups, pixels) + it.p0;
    for (int64_t c = 0; c < channels; ++c)
      std::memcpy(dst + c * cols + j * it.width, s + c * pixels, sizeof(T) * it.width);
  }
  return dst;
}

template <class T>
void scatter(T* dst, const T* src, const Item& it, int64_t channels, int64_t groups,
             int64_t pixels) {
  const int64_t cols = it.ld();
  for (int64_t j = 0; j < it.count; ++j) {
    T* d = plane(dst, it.n0 + j, it.g, channels, groups, pixels) + it.p0;
    for (int64_t c = 0; c < channels; ++c)
      std::memcpy(d + c * pixels, src + c * cols + j * it.width, sizeof(T) * it.width);
  }
}

}  // namespace

template <class T>
void conv2d_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  const int64_t og = p.out_channels_per_group(), cg = p.in_channels_per_group();
  const int64_t rows = p.col_rows(), pixels = p.out_pixels();
  const Tiling t = make_tiling(p, sizeof(T));
  int64_t stride = 0;
  const T* packed = pack_weights(w, false, p, &stride);
  const int64_t items = t.items() * p.groups;
  for_each_index(items, items >= 2 * num_threads(), [&](int64_t index) {
    const Item it = locate(t, p, index);
    const T* b = columns(x, it, p);  // for a pointwise layer a plain copy, see the header
    const int64_t ldb = it.ld();
    T* out = it.count == 1 ? plane(y, it.n0, it.g, og, p.groups, pixels) + it.p0
                           : workspace_as<T>(Slot::Gather, static_cast<size_t>(og * it.ld()));
    const int64_t ldc = it.count == 1 ? pixels : it.ld();
    gemm_packed_a(packed + it.g * stride, og, it.columns(), rows, false, b, ldb, T(0), out, ldc);
    if (bias != nullptr) {
      for (int64_t o = 0; o < og; ++o) {
        const T value = bias[it.g * og + o];
        T* row = out + o * ldc;
        for (int64_t j = 0; j < it.columns(); ++j) row[j] += value;
      }
    }
    if (it.count > 1) scatter(y, out, it, og, p.groups, pixels);
  });
}

template <class T>
void conv2d_backward_input(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p) {
  const int64_t og = p.out_channels_per_group(), cg = p.in_channels_per_group();
  const int64_t rows = p.col_rows(), pixels = p.out_pixels();
  const Tiling t = make_tiling(p, sizeof(T));
  int64_t stride = 0;
  const T* packed = pack_weights(w, true, p, &stride);
  // col2im adds into grad_x, and the tiles of one image overlap there, so a thread takes all
  // tiles of a block of images.
  const int64_t units = t.blocks * p.groups;
  for_each_index(units, units >= 2 * num_threads(), [&](int64_t unit) {
    const int64_t first_item = unit * t.tiles_per_image;
    const Item whole = locate(t, p, first_item);
    for (int64_t j = 0; j < whole.count; ++j) {
      T* gx = plane(grad_x, whole.n0 + j, whole.g, cg, p.groups, p.in_pixels());
      if (!p.is_pointwise() || whole.count > 1) std::fill(gx, gx + cg * p.in_pixels(), T(0));
    }
    for (int64_t k = 0; k < t.tiles_per_image; ++k) {
      const Item it = locate(t, p, first_item + k);
      const T* a = packed + it.g * stride;
      if (it.count == 1) {
        const T* gy = plane(grad_y, it.n0, it.g, og, p.groups, pixels) + it.p0;
        T* gx = plane(grad_x, it.n0, it.g, cg, p.groups, p.in_pixels());
        if (p.is_pointwise()) {
          gemm_packed_a(a, rows, it.width, og, false, gy, pixels, T(0), gx + it.p0, pixels);
          continue;
        }
        T* dcol = workspace_as<T>(Slot::Columns, static_cast<size_t>(rows * it.ld()));
        gemm_packed_a(a, rows, it.width, og, false, gy, pixels, T(0), dcol, it.ld());
        col2im_tile_add(gx, dcol, it.ld(), it.p0, it.p0 + it.width, p);
        continue;
      }
      const T* gy = gather(grad_y, it, og, p.groups, pixels);
      T* dcol = workspace_as<T>(Slot::Columns, static_cast<size_t>(rows * it.ld()));
      gemm_packed_a(a, rows, it.columns(), og, false, gy, it.ld(), T(0), dcol, it.ld());
      for (int64_t j = 0; j < it.count; ++j)
        col2im_tile_add(plane(grad_x, it.n0 + j, it.g, cg, p.groups, p.in_pixels()),
                        dcol + j * it.width, it.ld(), it.p0, it.p0 + it.width, p);
    }
  });
}

template <class T>
void conv2d_backward_weight(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p) {
  const int64_t og = p.out_channels_per_group(), cg = p.in_channels_per_group();
  const int64_t rows = p.col_rows(), pixels = p.out_pixels();
  const int64_t w_size = p.out_channels * rows;
  const Tiling t = make_tiling(p, sizeof(T));
  // dst[g] (+)= dY(item) . col(item)^T; `first` marks the item that overwrites its group.
  auto accumulate = [&](T* dst, int64_t index, bool first) {
    const Item it = locate(t, p, index);
    const bool direct = it.count == 1;
    const T* a = direct ? plane(grad_y, it.n0, it.g, og, p.groups, pixels) + it.p0
                        : gather(grad_y, it, og, p.groups, pixels);
    const T* b = direct && p.is_pointwise()
                     ? plane(x, it.n0, it.g, cg, p.groups, p.in_pixels()) + it.p0
                     : columns(x, it, p);
    const int64_t lda = direct ? pixels : it.ld();
    const int64_t ldb = direct && p.is_pointwise() ? pixels : it.ld();
    gemm(false, true, og, rows, it.columns(), T(1), a, lda, b, ldb, first ? T(0) : T(1),
         dst + it.g * og * rows, rows);
  };
  const int threads = num_threads();
  const int64_t per_group = t.items();
  if (threads == 1 || per_group * p.groups < 2 * threads) {
    // Too few items to share: in order, GEMMs threaded inside.
    for (int64_t g = 0; g < p.groups; ++g)
      for (int64_t i = 0; i < per_group; ++i) {
        const int64_t block = i / t.tiles_per_image, tile_index = i % t.tiles_per_image;
        accumulate(grad_w, (block * p.groups + g) * t.tiles_per_image + tile_index, i == 0);
      }
    return;
  }
  // Each thread sums its share of the items into a private copy of grad_w, then they are added.
  std::vector<T*> partials(threads, nullptr);
  const int64_t items = per_group * p.groups;
#pragma omp parallel num_threads(threads)
  {
    const int team = omp_get_num_threads(), me = omp_get_thread_num();
    T* mine = workspace_as<T>(Slot::Partial, static_cast<size_t>(w_size));
    std::fill(mine, mine + w_size, T(0));
    partials[me] = mine;
    for (int64_t index = me; index < items; index += team) accumulate(mine, index, false);
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
