// conv2d by explicit im2col / col2im (see conv2d_work.hpp): the variant for layers whose padded
// rows would hold many columns no output needs (small images), and for the input gradient of
// strided layers.
//
// Work is cut into tiles of output columns: the pixels [p0, p0 + width) of `count` images side
// by side (images smaller than a tile are batched, so a 7x7 layer still runs GEMMs hundreds of
// columns wide). Every thread takes whole items and runs its GEMMs on its own; where there are
// too few images and tiles to go round, an item is also cut along the GEMM's M dimension.
//   forward:     Y[:, tile] = W_g . col(tile)      items: images x groups x tiles x M parts
//                for each K block: im2col writes the GEMM's packed B panels, then every
//                mr-row panel of W_g runs over them (the block stays in L2).
//   grad input:  dcol = W_g^T . dY[:, tile]        items: images x groups x channel parts
//                dY tile -> B panels; dcol row block by row block (L2-sized), each followed
//                by its col2im. Parts own whole input channels, so no two threads add into
//                the same pixels of grad_x.
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

// Rows [r_begin, r_end) of the item's im2col matrix, its columns [c_begin, c_end) only, as a
// B block of packed panels (nr > 0) or row-major with row stride ld (nr == 0).
template <class T>
void item_columns(T* dst, ColumnLayout layout, const T* x, const Item& it, int64_t r_begin,
                  int64_t r_end, int64_t c_begin, int64_t c_end, const Conv2dParams& p) {
  const int64_t cg = p.in_channels_per_group();
  for (int64_t j = 0; j < it.count; ++j) {
    const int64_t lo = std::max(c_begin, j * it.width), hi = std::min(c_end, (j + 1) * it.width);
    if (lo >= hi) continue;
    layout.first_column = lo - c_begin;
    im2col_tile(dst, layout, plane(x, it.n0 + j, it.g, cg, p.groups, p.in_pixels()), r_begin,
                r_end, it.p0 + lo - j * it.width, it.p0 + hi - j * it.width, p);
  }
}

// Copies rows [row_begin, row_end) of the item's matrix (row-major, row stride it.ld()) back
// to the images' planes of an NCHW tensor with `channels` channels per group.
template <class T>
void scatter(T* dst, const T* src, const Item& it, int64_t row_begin, int64_t row_end,
             int64_t channels, int64_t groups, int64_t pixels) {
  const int64_t cols = it.ld();
  for (int64_t j = 0; j < it.count; ++j) {
    T* d = plane(dst, it.n0 + j, it.g, channels, groups, pixels) + it.p0;
    for (int64_t c = row_begin; c < row_end; ++c)
      std::memcpy(d + c * pixels, src + c * cols + j * it.width, sizeof(T) * it.width);
  }
}

}  // namespace

template <class T>
void forward_im2col(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  const GemmBlocking gb = gemm_blocking<T>();
  const int64_t og = p.out_channels_per_group(), rows = p.col_rows(), pixels = p.out_pixels();
  const Tiling t = make_tiling(p, gb.nc, gb.nr);
  const int64_t kc_max = gemm_k_block<T>(rows);
  int64_t stride = 0;
  const T* packed = pack_weights(w, false, p, &stride);
  const Parts m_parts{og, gb.mr, parts_for(t.items() * p.groups, ceil_div(og, gb.mr), num_threads())};
  parallel_for(t.items() * p.groups * m_parts.parts, [&](int64_t index) {
    const int64_t part = index % m_parts.parts, rest = index / m_parts.parts;
    const int64_t tile_index = rest % t.tiles_per_image, block_g = rest / t.tiles_per_image;
    const Item it = locate(t, p, block_g / p.groups, block_g % p.groups, tile_index);
    const int64_t m0 = m_parts.begin(part), m1 = m_parts.end(part), columns = it.columns();
    T* panels = workspace_as<T>(Slot::Columns, static_cast<size_t>(packed_b_size<T>(kc_max, columns)));
    T* out = it.count == 1 ? plane(y, it.n0, it.g, og, p.groups, pixels) + it.p0
                           : workspace_as<T>(Slot::Gather, static_cast<size_t>(og * it.ld()));
    const int64_t ldc = it.count == 1 ? pixels : it.ld();
    for (int64_t pc = 0; pc < rows; pc += kc_max) {
      const int64_t kc = std::min(kc_max, rows - pc);
      item_columns(panels, ColumnLayout{kc, gb.nr, 0}, x, it, pc, pc + kc, 0, columns, p);
      zero_panel_tail(panels, kc, columns, gb.nr);
      gemm_block(packed + it.g * stride, og, pc, kc, m0, m1, panels, columns,
                 pc == 0 ? T(0) : T(1), out + m0 * ldc, ldc);
    }
    if (bias != nullptr) {
      for (int64_t o = m0; o < m1; ++o) {
        const T value = bias[it.g * og + o];
        T* row = out + o * ldc;
        for (int64_t j = 0; j < columns; ++j) row[j] += value;
      }
    }
    if (it.count > 1) scatter(y, out, it, m0, m1, og, p.groups, pixels);
  });
}

template <class T>
void backward_input_col2im(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p) {
  const GemmBlocking gb = gemm_blocking<T>();
  const int64_t og = p.out_channels_per_group(), cg = p.in_channels_per_group();
  const int64_t rows = p.col_rows(), pixels = p.out_pixels(), area = p.kernel_h * p.kernel_w;
  const Tiling t = make_tiling(p, gb.nc, gb.nr);
  const int64_t kc_max = gemm_k_block<T>(og);
  int64_t stride = 0;
  const T* packed = pack_weights(w, true, p, &stride);
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
          gemm_block(packed + g * stride, rows, pc, std::min(kc_max, og - pc), rb, re,
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
  template void forward_im2col<T>(T*, const T*, const T*, const T*, const Conv2dParams&);    \
  template void backward_input_col2im<T>(T*, const T*, const T*, const Conv2dParams&);
FALTUNG_INSTANTIATE_CONV2D_IM2COL(float)
FALTUNG_INSTANTIATE_CONV2D_IM2COL(double)

}  // namespace faltung::conv
