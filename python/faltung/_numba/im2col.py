"""im2col / col2im over a tile of output pixels, for one image and one group (the Numba twin of
cpp/cpu/im2col.cpp), so that the column buffer stays bounded whatever the layer size.

Arrays are flat, as the C++ takes pointers: x holds the group's channels of one image (c, ih, iw)
from x[0]; col[r * ld_col + (q - p_begin)] is im2col row r, rows in Caffe's order (c, kh, kw),
for the output pixels q in [p_begin, p_end) in row-major (oh, ow) order. ld_col >= p_end -
p_begin lets several images' tiles sit side by side in one column matrix. p is a
faltung._numba.params.Params. Padding reads as zero; ``col2im_tile_add`` is the adjoint and adds
into grad_x (the caller zeroes grad_x once).

Each im2col row is walked one output row at a time (``walk_row``): the output columns whose input
pixel lies in the padding are zero runs, the rest read x at a fixed step (stride_w), so the
stride-1 case is a straight copy. Rows (c, kh, kw) of different c have the same runs, c * in_h *
in_w further on in x, so a tile's runs are walked once per kernel position (``tile_runs``) and
serve every channel.
"""
from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def walk_row(runs, r, p_begin, p_end, p):
    """The runs of im2col row r over the tile [p_begin, p_end), one per output row it touches:
    runs[k] = (begin, lo, hi, end, src): tile columns [begin, lo) and [hi, end) read padding,
    tile column lo + t < hi reads x[src + t * stride_w]."""
    kw, kh = r % p.kernel_w, (r // p.kernel_w) % p.kernel_h
    c = r // (p.kernel_w * p.kernel_h)
    x_off = kw * p.dilation_w - p.pad_left  # iw = ow * stride_w + x_off
    # Output columns [ow_lo, ow_hi) read inside the image for this kernel column (ceil divisions).
    ow_lo = min(max(-(x_off // p.stride_w), 0), p.out_w)
    ow_hi = min(max(-((x_off - p.in_w) // p.stride_w), ow_lo), p.out_w)
    k = 0
    q = p_begin
    while q < p_end:
        oh, ow0 = q // p.out_w, q % p.out_w
        ow1 = min(p.out_w, ow0 + (p_end - q))
        j = q - p_begin - ow0  # tile column of output column 0 of this row
        ih = oh * p.stride_h + kh * p.dilation_h - p.pad_top
        lo = hi = ow1
        if 0 <= ih < p.in_h:
            lo = min(max(ow_lo, ow0), ow1)
            hi = min(max(ow_hi, lo), ow1)
        runs[k, 0] = j + ow0
        runs[k, 1] = j + lo
        runs[k, 2] = j + hi
        runs[k, 3] = j + ow1
        runs[k, 4] = (c * p.in_h + ih) * p.in_w + lo * p.stride_w + x_off
        k += 1
        q += ow1 - ow0


@jit
def tile_runs(p_begin, p_end, p):
    """runs[r] = walk_row of rows r < kernel_h * kernel_w (channel 0); row r + c * kernel_h *
    kernel_w has the same runs, reading c * in_h * in_w further on in x."""
    touched = (p_end - 1) // p.out_w - p_begin // p.out_w + 1  # output rows
    runs = np.empty((p.kernel_h * p.kernel_w, touched, 5), np.int64)
    for r in range(runs.shape[0]):
        walk_row(runs[r], r, p_begin, p_end, p)
    return runs


@jit
def _copy_row(out, x, runs, step):
    """One im2col row from its runs: zeros for padding, x at a fixed step elsewhere."""
    for k in range(runs.shape[0]):
        begin, lo, hi, end, src = runs[k, 0], runs[k, 1], runs[k, 2], runs[k, 3], runs[k, 4]
        for j in range(begin, lo):
            out[j] = 0
        if step == 1:
            for t in range(hi - lo):
                out[lo + t] = x[src + t]
        else:
            for t in range(hi - lo):
                out[lo + t] = x[src + t * step]
        for j in range(hi, end):
            out[j] = 0


@jit
def _add_row(grad_x, row, runs, step):
    """The adjoint of _copy_row: grad_x += row where it read x."""
    for k in range(runs.shape[0]):
        lo, hi, dst = runs[k, 1], runs[k, 2], runs[k, 4]
        if step == 1:
            for t in range(hi - lo):
                grad_x[dst + t] += row[lo + t]
        else:
            for t in range(hi - lo):
                grad_x[dst + t * step] += row[lo + t]


@jit
def im2col_tile(col, ld_col, x, p_begin, p_end, p):
    """col[r * ld_col + q - p_begin] = x at the input pixel of row r and output pixel q."""
    runs, positions = tile_runs(p_begin, p_end, p), p.kernel_h * p.kernel_w
    for r in range(p.col_rows):
        _copy_row(col[r * ld_col:], x[r // positions * p.in_pixels:], runs[r % positions],
                  p.stride_w)


@jit
def col2im_tile_add(grad_x, col, ld_col, p_begin, p_end, p):
    """grad_x += the adjoint of im2col_tile applied to col (padding positions are dropped)."""
    runs, positions = tile_runs(p_begin, p_end, p), p.kernel_h * p.kernel_w
    for r in range(p.col_rows):
        _add_row(grad_x[r // positions * p.in_pixels:], col[r * ld_col:], runs[r % positions],
                 p.stride_w)
