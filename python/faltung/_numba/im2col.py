"""im2col / col2im for one image and one group, restricted to a tile of output pixels (the Numba
twin of cpp/cpu/im2col.cpp), so that the column buffer stays bounded whatever the layer size.

x is (C/groups, H, W); col is (C/groups * kernel_h * kernel_w, p_end - p_begin) with rows in
Caffe's order (c, kh, kw) and columns the output pixels p in [p_begin, p_end), row-major (oh, ow).
Input pixel of (row (c, i, j), output (oh, ow)): (oh*stride_h - pad_top + i*dilation_h,
ow*stride_w - pad_left + j*dilation_w); outside the image it reads as zero (bottom and right
padding need no argument: they are what lies past H and W). ``col2im_tile_add`` is the adjoint
and adds into grad_x; the caller zeroes grad_x once.
"""
from __future__ import annotations

from ._jit import jit


@jit
def _valid_range(offset, stride, size, out_size):
    """The outputs [lo, hi) whose input o*stride + offset lies in [0, size)."""
    lo = max(0, -(offset // stride))
    hi = min(out_size, (size - 1 - offset) // stride + 1)
    return lo, max(lo, hi)


@jit
def im2col_tile(col, x, p_begin, p_end, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left,
                dilation_h, dilation_w, out_w):
    """col[r, p - p_begin] = x at the input pixel of row r and output pixel p (zero outside)."""
    channels, height, width = x.shape
    for c in range(channels):
        for i in range(kernel_h):
            off_h = i * dilation_h - pad_top
            for j in range(kernel_w):
                off_w = j * dilation_w - pad_left
                lo, hi = _valid_range(off_w, stride_w, width, out_w)
                row = col[(c * kernel_h + i) * kernel_w + j]
                p = p_begin
                while p < p_end:  # one output row (or the part of it inside the tile) per step
                    oh, ow = p // out_w, p % out_w
                    ow_end = min(out_w, ow + p_end - p)
                    base = p - p_begin - ow  # row[base + q] belongs to output column q
                    ih = oh * stride_h + off_h
                    if ih < 0 or ih >= height:
                        a = b = ow_end
                    else:
                        a = min(max(lo, ow), ow_end)
                        b = max(min(hi, ow_end), a)
                        src = x[c, ih]
                        for q in range(a, b):
                            row[base + q] = src[q * stride_w + off_w]
                    for q in range(ow, a):
                        row[base + q] = 0
                    for q in range(b, ow_end):
                        row[base + q] = 0
                    p += ow_end - ow


@jit
def col2im_tile_add(grad_x, col, p_begin, p_end, kernel_h, kernel_w, stride_h, stride_w, pad_top,
                    pad_left, dilation_h, dilation_w, out_w):
    """grad_x += the adjoint of im2col_tile applied to col (padding positions are dropped)."""
    channels, height, width = grad_x.shape
    for c in range(channels):
        for i in range(kernel_h):
            off_h = i * dilation_h - pad_top
            for j in range(kernel_w):
                off_w = j * dilation_w - pad_left
                lo, hi = _valid_range(off_w, stride_w, width, out_w)
                row = col[(c * kernel_h + i) * kernel_w + j]
                p = p_begin
                while p < p_end:
                    oh, ow = p // out_w, p % out_w
                    ow_end = min(out_w, ow + p_end - p)
                    ih = oh * stride_h + off_h
                    if 0 <= ih < height:
                        base = p - p_begin - ow  # row[base + q] belongs to output column q
                        dst = grad_x[c, ih]
                        a = min(max(lo, ow), ow_end)
                        b = max(min(hi, ow_end), a)
                        for q in range(a, b):
                            dst[q * stride_w + off_w] += row[base + q]
                    p += ow_end - ow
