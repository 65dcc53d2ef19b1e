// The input gradient of strided conv2d layers by W^T . dY and col2im (see conv2d_work.hpp);
// stride-1 layers take the forward convolution of dY instead (conv2d.cpp).
//
// Work is cut into tiles of output columns: the pixels [p0, p0 + width) of `count` images side
// by side (images smaller than a tile are batched). Items: images x groups x channel parts; a
// part owns whole input channels (col2im of its rows adds only into them), so no two threads
// add into the same pixels of grad_x. Per tile, the dY tile is copied into the GEMM's packed B
// panels; dcol is computed row block by row block (L2-sized), each followed by its col2im.
#include <cstring>
#include <numeric>

#include "conv2d_work.hpp"
#include "faltung/gemm.hpp"
#include "faltung/im2col.hpp"

namespace faltung::conv {
namespace {

struct Tiling {
  int64_t images;           // images per tile (> 1 only when one image is narrower than a tile)
  int64_t tile;             // pixels of one image per tile
  int64_t tiles_per_image;  // 1 when images > 1
  int64_t blocks;           // blocks of `images` images covering the batch
  int64_t items() const { return blocks * tiles_per_image; }  // per group
};

// Tiles of about `target` columns (the GEMM's B block width), balanced across an image and
// rounded to whole panels.
Tiling make_tiling(const Conv2dParams& p, int64_t target, int64_t nr) {
  const int64_t pixels = p.out_pixels();
  Tiling t{};
  if (pixels >= target) {
    t.images = 1;
    t.tiles_per_image = ceil_div(pixels, target);
    t.tile = std::min(pixels, round_up(ceil_div(pixels, t.tiles_per_image), nr));
    t.tiles_per_image = ceil_div(pixels, t.tile);
  } else {
    t.images = std::clamp<int64_t>(target / pixels, 1, p.batch);
    t.tile = pixels;
    t.tiles_per_image = 1;
  }
  t.blocks = ceil_div(p.batch, t.images);
  return t;
}

// One tile's place: images [n0, n0 + count), group g, pixels [p0, p0 + width) of each image.
struct Item {
  int64_t n0, count, g, p0, width;
  int64_t columns() const { return count * width; }
  // Row stride of the item's row-major scratch matrices: whole 64-byte lines.
  int64_t ld() const { return round_up(columns(), 16); }
};

// Tile `tile_index` of image block `block`, group g.
Item locate(const Tiling& t, const Conv2dParams& p, int64_t block, int64_t g, int64_t tile_index) {
  const int64_t n0 = block * t.images, p0 = tile_index * t.tile;
  return {n0, std::min(t.images, p.batch - n0), g, p0, std::min(t.tile, p.out_pixels() - p0)};
}

// Zeroes the columns of the last panel of a B block past `columns` (kc rows).
template <class T>
void zero_panel_tail(T* panels, int64_t kc, int64_t columns, int64_t nr) {
  const int64_t used = columns % nr;
  if (used == 0) return;
  T* last = panels + (columns / nr) * kc * nr;
  for (int64_t k = 0; k < kc; ++k) std::fill(last + k * nr + used, last + (k + 1) * nr, T(0));
}

}  // namespace

template <class T>
void backward_input_col2im(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p) {
  const GemmBlocking gb = gemm_blocking<T>();
  const int64_t og = p.out_channels_per_group(), cg = p.in_channels_per_group();
  const int64_t rows = p.col_rows(), pixels = p.out_pixels(), area = p.kernel_h * p.kernel_w;
  const Tiling t = make_tiling(p, gb.nc, gb.nr);
  const int64_t kc_max = gemm_k_block<T>(og);
  const ConvWeight<T> packed = pack_weights(w, true, p);
  // A part owns whole input channels (col2im of its rows adds only into them) and whole
  // mr-row panels of W^T: its rows are a multiple of lcm(mr, kh * kw).
  const int64_t unit = std::lcm(gb.mr, area);
  const Parts r_parts{rows, unit, parts_for(t.blocks * p.groups, ceil_div(rows, unit), num_threads())};
  // Rows of dcol per GEMM + col2im step: a row block of about a quarter of L2.
  const int64_t row_block = std::max<int64_t>(gb.mr, (int64_t(256) << 10) / (sizeof(T) * gb.nc) / gb.mr * gb.mr);
  parallel_for(t.blocks * p.groups * r_parts.parts, [&](int64_t index) {
    const int64_t part = index % r_parts.parts, block_g = index / r_parts.parts;
    const int64_t block = block_g / p.groups, g = block_g % p.groups;
    const int64_t r0 = r_parts.begin(part), r1 = r_parts.end(part);
    const int64_t c0 = r0 / area, c1 = ceil_div(r1, area);  // the part's input channels
    const Item whole = locate(t, p, block, g, 0);
    const bool direct = p.is_pointwise() && whole.count == 1;  // dcol is grad_x itself
    if (!direct) {
      for (int64_t j = 0; j < whole.count; ++j) {
        T* gx = plane(grad_x, whole.n0 + j, g, cg, p.groups, p.in_pixels());
        std::fill(gx + c0 * p.in_pixels(), gx + c1 * p.in_pixels(), T(0));
      }
    }
    for (int64_t k = 0; k < t.tiles_per_image; ++k) {
      const Item it = locate(t, p, block, g, k);
      const int64_t columns = it.columns(), panel_size = packed_b_size<T>(1, columns);
      // grad_y's tile as B panels, one K block (kc output channels) after another.
      T* dy = workspace_as<T>(Slot::PackB, static_cast<size_t>(og * panel_size));
      for (int64_t pc = 0; pc < og; pc += kc_max) {
        const int64_t kc = std::min(kc_max, og - pc);
        T* block_panels = dy + pc * panel_size;
        for (int64_t j = 0; j < it.count; ++j)
          copy_tile(block_panels, ColumnLayout{kc, gb.nr, j * it.width},
                    plane(grad_y, it.n0 + j, g, og, p.groups, pixels) + pc * pixels + it.p0,
                    pixels, kc, it.width);
        zero_panel_tail(block_panels, kc, columns, gb.nr);
      }
      for (int64_t rb = r0; rb < r1; rb += row_block) {
        const int64_t re = std::min(r1, rb + row_block);
        T* dcol = direct ? plane(grad_x, it.n0, g, cg, p.groups, p.in_pixels()) + it.p0
                         : workspace_as<T>(Slot::Columns, static_cast<size_t>(row_block * it.ld()));
        const int64_t ldc = direct ? p.in_pixels() : it.ld();
        T* c = direct ? dcol + rb * ldc : dcol;  // row rb
        for (int64_t pc = 0; pc < og; pc += kc_max)
          gemm_block(packed.packed + g * packed.stride, rows, pc, std::min(kc_max, og - pc), rb, re,
                     dy + pc * panel_size, columns, pc == 0 ? T(0) : T(1), c, ldc);
        if (direct) continue;
        for (int64_t j = 0; j < it.count; ++j)
          col2im_tile_add(plane(grad_x, it.n0 + j, g, cg, p.groups, p.in_pixels()),
                          dcol + j * it.width, ldc, rb, re, it.p0, it.p0 + it.width, p);
      }
    }
  });
}

#define FALTUNG_INSTANTIATE_CONV2D_IM2COL(T)                                                 \
  template void backward_input_col2im<T>(T*, const T*, const T*, const Conv2dParams&);
FALTUNG_INSTANTIATE_CONV2D_IM2COL(float)
FALTUNG_INSTANTIATE_CONV2D_IM2COL(double)

}  // namespace faltung::conv
