// The explicit column matrix of a convolution, for the input gradient of strided layers (the
// other passes read padded images in place, conv2d_indirect.cpp): col2im for one image and one
// group, restricted to a range of im2col rows and a range of output pixels, so the column
// buffer stays bounded whatever the layer size; and copy_tile, which lays a tile of grad_y out
// as the GEMM's packed B panels. Rows in Caffe's order (c, kh, kw), columns the output pixels
// [p_begin, p_end) in row-major (oh, ow) order.
#pragma once
#include <cstdint>
#include "faltung/params.hpp"

namespace faltung {

// Where a column matrix goes: row-major with row stride `ld`, or as the GEMM's packed B
// panels (gemm.hpp: element (k, j) at (j / nr) * kc * nr + k * nr + j % nr) when nr > 0.
// `first_column` places the tile's first pixel at column first_column, so that several images'
// tiles sit side by side in one matrix.
struct ColumnLayout {
  int64_t ld;            // row-major: row stride (elements); panels: kc, the rows per panel
  int64_t nr;            // 0: row-major; else the panel width
  int64_t first_column;
};

// rows x n of the row-major matrix src (row stride ld_src) into `col`: the im2col of a 1x1
// layer, used to lay a tile of grad_y out as packed B panels.
template <class T>
void copy_tile(T* col, ColumnLayout layout, const T* src, int64_t ld_src, int64_t rows,
               int64_t n);

// grad_x += col2im(col) for im2col rows [r_begin, r_end) and pixels [p_begin, p_end) (adds;
// the caller zeroes grad_x once); col is row-major (ld_col) with row r_begin first; padding
// positions are skipped.
template <class T>
void col2im_tile_add(T* grad_x, const T* col, int64_t ld_col, int64_t r_begin, int64_t r_end,
                     int64_t p_begin, int64_t p_end, const Conv2dParams& p);

}  // namespace faltung
