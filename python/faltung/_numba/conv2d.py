"""conv2d forward and backward by im2col + GEMM (the Numba twin of cpp/cpu/conv2d*.cpp: the
same functions and results; the C++ reads padded images in place instead of writing im2col
matrices, see docs/decisions.md), NCHW /
OIHW (out, in/groups, kh, kw), groups: output channels g*O/groups .. (g+1)*O/groups - 1 see input
channels g*C/groups .. (g+1)*C/groups - 1. Every kernel overwrites its output.

Work is cut into items: (block of images, group, tile of output pixels). The column matrix of an
item is bounded (about COLUMN_BYTES), lives in the worker's workspace and is consumed at once by
the GEMM, so no layer allocates columns for whole images. A large image is cut into several
tiles; images smaller than a tile are batched side by side into one tile, so a 7x7 layer still
runs GEMMs hundreds of columns wide. Pointwise layers (1x1, stride 1, no padding) skip im2col.
Threads take whole items when there are enough of them (their GEMMs then run single-threaded);
otherwise the GEMM itself is threaded.
  forward:      Y[:, tile]  = W_g . col(tile)                 (+ bias; scattered when batched)
  grad input:   dcol        = W_g^T . dY[:, tile], col2im     (a worker takes a block's tiles)
  grad weight:  dW_g       += dY[:, tile] . col(tile)^T       (per-thread partial sums)
  grad bias:    db          = sum of dY over images and pixels
Arrays are handled flat, with offsets, as the C++ handles pointers; each worker allocates its
workspaces once. W_g is not packed once per call (the Numba GEMM packs its A panels itself, a
small cost next to GEMMs at least MIN_TILE columns wide); workers take contiguous ranges of
items (prange has no dynamic schedule); and one parallel function runs all three passes, chosen
by a code (every jitted layer above the GEMM adds seconds of compilation).
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from ._jit import jit
from .gemm import gemm_flat
from .im2col import col2im_tile_add, im2col_tile
from .params import kernel_params

COLUMN_BYTES = 1 << 20  # one tile's column matrix: about L2 size
MIN_TILE = 256          # columns: narrower GEMMs lose efficiency


class Tiling(NamedTuple):
    images: int           # images per tile (> 1 only when one image is narrower than a tile)
    tile: int             # pixels of one image per tile
    tiles_per_image: int  # 1 when images > 1
    blocks: int           # blocks of `images` images covering the batch
    items: int            # blocks * tiles_per_image: items per group


def make_tiling(p, itemsize) -> Tiling:
    pixels = p.out_pixels
    budget = max(MIN_TILE, COLUMN_BYTES // (p.col_rows * itemsize) // 64 * 64)
    if pixels >= MIN_TILE:
        images, tile = 1, (pixels if p.is_pointwise else min(pixels, budget))
    else:
        images, tile = min(max(budget // pixels, 1), p.batch), pixels
    tiles_per_image = -(-pixels // tile)
    blocks = -(-p.batch // images)
    return Tiling(images, tile, tiles_per_image, blocks, blocks * tiles_per_image)


class Item(NamedTuple):
    """One item's place: images [n0, n0 + count), group g, pixels [p0, p0 + width) of each."""
    n0: int
    count: int
    g: int
    p0: int
    width: int
    columns: int  # count * width


@jit
def locate(t, p, index):
    tile_index, rest = index % t.tiles_per_image, index // t.tiles_per_image
    g, block = rest % p.groups, rest // p.groups
    n0, p0 = block * t.images, tile_index * t.tile
    count, width = min(t.images, p.batch - n0), min(t.tile, p.out_pixels - p0)
    return Item(n0, count, g, p0, width, count * width)


# The bodies for_each_index can run, passed as a code so that one parallel function serves all
# passes (each jitted function above a GEMM costs a second or more of compilation).
FORWARD, BACKWARD_INPUT, BACKWARD_WEIGHT, FORWARD_RELU = 0, 1, 2, 3


def team_size(count, threads):
    """Workers for `count` independent indices: all threads when there are at least two indices
    per thread (each worker's GEMMs then single-threaded), else one (GEMMs threaded inside)."""
    return threads if count >= 2 * threads else 1


def for_each_index(body, team, out, a, b, c, p, t):
    """Runs `body` on its indices: on `team` threads when team > 1, else in order on the calling
    thread with the GEMMs threaded inside."""
    if team == 1:
        _run(body, out, a, b, c, p, t, 0, 1, numba.get_num_threads())
    else:
        _on_team(body, out, a, b, c, p, t, team)


@jit(parallel=True)
def _on_team(body, out, a, b, c, p, t, team):
    """Worker `me` of `team` threads runs its share of the indices, GEMMs single-threaded."""
    for me in numba.prange(team):
        _run(body, out, a, b, c, p, t, np.int64(me), team, np.int64(1))


@jit
def _run(body, out, a, b, c, p, t, me, team, threads):
    """Worker me's share of the indices of `body`: a contiguous range, so that each worker gets
    its share of every tile width (dealt out one by one, me, me + team, ..., the short last tiles
    of all images could fall to one worker). out, a, b, c are the body's flat arrays."""
    count = t.blocks * p.groups if body == BACKWARD_INPUT else t.items * p.groups
    begin, end = count * me // team, count * (me + 1) // team
    if body == FORWARD or body == FORWARD_RELU:
        _forward_items(out, a, b, c, p, t, begin, end, threads, body == FORWARD_RELU)
    elif body == BACKWARD_INPUT:
        _backward_input_units(out, a, b, p, t, begin, end, threads)
    else:  # out holds one grad_w per worker
        size = p.out_channels * p.col_rows
        _accumulate(out[me * size:(me + 1) * size], a, b, p, t, begin, end, threads)


@jit
def workspace(p, t, like):
    """A worker's buffers: the column matrix of an item (none for pointwise layers, which read
    the input directly) and the matrix that gathers several images' pixels into one GEMM
    operand (none with one image per tile)."""
    most = t.images * t.tile
    columns_size = 0 if p.is_pointwise and t.images == 1 else p.col_rows * most
    gather_size = 0 if t.images == 1 else p.out_channels_per_group * most
    return np.empty(columns_size, like.dtype), np.empty(gather_size, like.dtype)


@jit
def plane(base, n, g, channels_per_group, groups, pixels):
    """Image n, group g of a flat NCHW tensor with `channels_per_group` channels per group."""
    return base[((n * groups + g) * channels_per_group) * pixels:]


@jit
def columns(col, x, it, p):
    """col = the item's column matrix (col_rows x it.columns), images side by side."""
    for j in range(it.count):
        im2col_tile(col[j * it.width:], it.columns,
                    plane(x, it.n0 + j, it.g, p.in_channels_per_group, p.groups, p.in_pixels),
                    it.p0, it.p0 + it.width, p)
    return col


@jit
def gather(dst, src, it, channels, groups, pixels):
    """dst (channels x it.columns) = the item's pixels of `channels` rows of each of its images,
    side by side, so that several small images form one GEMM operand; ``scatter`` undoes it."""
    for j in range(it.count):
        s = plane(src, it.n0 + j, it.g, channels, groups, pixels)
        for c in range(channels):
            d, o = c * it.columns + j * it.width, c * pixels + it.p0
            for q in range(it.width):
                dst[d + q] = s[o + q]
    return dst


@jit
def scatter(dst, src, it, channels, groups, pixels):
    for j in range(it.count):
        d = plane(dst, it.n0 + j, it.g, channels, groups, pixels)
        for c in range(channels):
            o, s = c * pixels + it.p0, c * it.columns + j * it.width
            for q in range(it.width):
                d[o + q] = src[s + q]


@jit
def _forward_items(y, x, w, bias, p, t, begin, end, threads, relu):
    """Items [begin, end) of the forward pass, GEMMs on `threads` threads; with `relu`, negative
    outputs become 0 (NaN stays NaN)."""
    og, cg, rows, pixels = p.out_channels_per_group, p.in_channels_per_group, p.col_rows, \
        p.out_pixels
    col, gathered = workspace(p, t, y)
    no = np.bool_(False)
    for index in range(begin, end):
        it = locate(t, p, index)
        direct_x = it.count == 1 and p.is_pointwise
        b = plane(x, it.n0, it.g, cg, p.groups, p.in_pixels)[it.p0:] if direct_x else \
            columns(col, x, it, p)
        ldb = pixels if direct_x else it.columns
        out = plane(y, it.n0, it.g, og, p.groups, pixels)[it.p0:] if it.count == 1 else gathered
        ldc = pixels if it.count == 1 else it.columns
        gemm_flat(no, no, og, it.columns, rows, 1.0, w, it.g * og * rows, rows, b, np.int64(0),
                  ldb, 0.0, out, np.int64(0), ldc, threads)
        for o in range(og if bias.size or relu else 0):
            value = bias[it.g * og + o] if bias.size else 0.0
            for j in range(o * ldc, o * ldc + it.columns):
                out[j] += value
                if relu and out[j] < 0:
                    out[j] = 0.0
        if it.count > 1:
            scatter(y, out, it, og, p.groups, pixels)


@jit
def _backward_input_units(grad_x, grad_y, w, p, t, begin, end, threads):
    """Units [begin, end): a unit is all tiles of one block of images in one group
    (col2im adds into grad_x, and the tiles of one image overlap there)."""
    og, cg, rows, pixels = p.out_channels_per_group, p.in_channels_per_group, p.col_rows, \
        p.out_pixels
    dcol, gathered = workspace(p, t, grad_x)
    yes, no = np.bool_(True), np.bool_(False)
    for unit in range(begin, end):
        first_item = unit * t.tiles_per_image
        whole = locate(t, p, first_item)
        if not p.is_pointwise or whole.count > 1:  # else each GEMM overwrites its image
            for j in range(whole.count):
                gx = plane(grad_x, whole.n0 + j, whole.g, cg, p.groups, p.in_pixels)
                for q in range(cg * p.in_pixels):
                    gx[q] = 0
        for k in range(t.tiles_per_image):
            it = locate(t, p, first_item + k)
            direct = it.count == 1
            gy = plane(grad_y, it.n0, it.g, og, p.groups, pixels)[it.p0:] if direct else \
                gather(gathered, grad_y, it, og, p.groups, pixels)
            ld = pixels if direct else it.columns
            if direct and p.is_pointwise:  # the GEMM writes grad_x itself
                gx = plane(grad_x, it.n0, it.g, cg, p.groups, p.in_pixels)
                gemm_flat(yes, no, rows, pixels, og, 1.0, w, it.g * og * rows, rows, gy,
                          np.int64(0), ld, 0.0, gx, np.int64(0), pixels, threads)
                continue
            gemm_flat(yes, no, rows, it.columns, og, 1.0, w, it.g * og * rows, rows, gy,
                      np.int64(0), ld, 0.0, dcol, np.int64(0), it.columns, threads)
            for j in range(it.count):
                col2im_tile_add(plane(grad_x, it.n0 + j, it.g, cg, p.groups, p.in_pixels),
                                dcol[j * it.width:], it.columns, it.p0, it.p0 + it.width, p)


@jit
def _accumulate(dst, grad_y, x, p, t, begin, end, threads):
    """dst[g] += dY(item) . col(item)^T for items [begin, end) (g their group)."""
    og, cg, rows, pixels = p.out_channels_per_group, p.in_channels_per_group, p.col_rows, \
        p.out_pixels
    col, gathered = workspace(p, t, dst)
    yes, no = np.bool_(True), np.bool_(False)
    for index in range(begin, end):
        it = locate(t, p, index)
        direct = it.count == 1
        a = plane(grad_y, it.n0, it.g, og, p.groups, pixels)[it.p0:] if direct else \
            gather(gathered, grad_y, it, og, p.groups, pixels)
        b = plane(x, it.n0, it.g, cg, p.groups, p.in_pixels) if direct and p.is_pointwise else \
            columns(col, x, it, p)
        lda = pixels if direct else it.columns
        ldb = pixels if direct and p.is_pointwise else it.columns
        gemm_flat(no, yes, og, rows, it.columns, 1.0, a, np.int64(0), lda, b, np.int64(0), ldb,
                  1.0, dst, it.g * og * rows, rows, threads)


@jit
def _sum(v):
    """Sum of a 1-D array in float64, four accumulators (no reassociation needed)."""
    s0 = s1 = s2 = s3 = 0.0
    n4 = v.size - v.size % 4
    for i in range(0, n4, 4):
        s0 += v[i]
        s1 += v[i + 1]
        s2 += v[i + 2]
        s3 += v[i + 3]
    for i in range(n4, v.size):
        s0 += v[i]
    return (s0 + s1) + (s2 + s3)


@jit(parallel=True)
def _backward_bias(grad_b, grad_y):
    batch, channels, out_h, out_w = grad_y.shape
    gy = grad_y.reshape((batch, channels, out_h * out_w))
    for o in numba.prange(channels):
        total = 0.0
        for n in range(batch):
            total += _sum(gy[n, o])
        grad_b[o] = total


def conv2d_forward(y, x, w, bias, p, relu=False):
    """y = conv2d(x, w) + bias, then max(., 0) with relu; bias may be None."""
    kp = kernel_params(p)
    t = make_tiling(kp, x.itemsize)
    for_each_index(FORWARD_RELU if relu else FORWARD, team_size(t.items * kp.groups, numba.get_num_threads()),
                   y.reshape(-1), x.reshape(-1), w.reshape(-1),
                   np.empty(0, x.dtype) if bias is None else bias, kp, t)


def conv2d_backward_input(grad_x, grad_y, w, p):
    # col2im adds into grad_x, and the tiles of one image overlap there, so a worker takes all
    # tiles of a block of images (a unit).
    kp = kernel_params(p)
    t = make_tiling(kp, w.itemsize)
    gy = grad_y.reshape(-1)
    for_each_index(BACKWARD_INPUT, team_size(t.blocks * kp.groups, numba.get_num_threads()),
                   grad_x.reshape(-1), gy, w.reshape(-1), gy, kp, t)


def conv2d_backward_weight(grad_w, grad_y, x, p):
    kp = kernel_params(p)
    t = make_tiling(kp, x.itemsize)
    team = team_size(t.items * kp.groups, numba.get_num_threads())
    gy, xf = grad_y.reshape(-1), x.reshape(-1)
    if team == 1:  # too few items to share: in order, GEMMs threaded inside
        grad_w.fill(0)
        for_each_index(BACKWARD_WEIGHT, 1, grad_w.reshape(-1), gy, xf, gy, kp, t)
        return
    # Each worker sums its share of the items into a private copy of grad_w, then they are added.
    partials = np.zeros((team, grad_w.size), grad_w.dtype)
    for_each_index(BACKWARD_WEIGHT, team, partials.reshape(-1), gy, xf, gy, kp, t)
    np.sum(partials, axis=0, out=grad_w.reshape(-1))


def conv2d_backward_bias(grad_b, grad_y, p):
    _backward_bias(grad_b, grad_y)
