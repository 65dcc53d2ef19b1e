// im2col / col2im for one image and one group, restricted to a range of output pixels, so the
// column buffer stays bounded whatever the layer size. Rows in Caffe's order (c, kh, kw), columns
// the output pixels [p_begin, p_end) in row-major (oh, ow) order; padding reads as zero.
#pragma once
#include <cstdint>
#include "faltung/params.hpp"

namespace faltung {

// col[r * ld_col + (q - p_begin)] for r < p.col_rows() and q in [p_begin, p_end); x points at
// the group's first channel of the image. ld_col >= p_end - p_begin lets several images' tiles
// sit side by side in one column matrix.
template <class T>
void im2col_tile(T* col, int64_t ld_col, const T* x, int64_t p_begin, int64_t p_end,
                 const Conv2dParams& p);

// grad_x += col2im(col) for the same tile (adds; the caller zeroes grad_x once).
template <class T>
void col2im_tile_add(T* grad_x, const T* col, int64_t ld_col, int64_t p_begin, int64_t p_end,
                     const Conv2dParams& p);

}  // namespace faltung
