// conv2d by indirect GEMM (see conv2d_work.hpp): no im2col. The GEMM reads the rows of a
// padded copy of the image in place.
//
// The source: each channel of an image, zero-padded and split into stride_h x stride_w phase
// images (phase (a, b) holds padded pixels (i * stride_h + a, j * stride_w + b)), each phase
// `rows` x `cols`. Kernel tap (kh, kw) then reads, for output pixel (oh, ow), phase
// ((kh * dh) % sh, (kw * dw) % sw) at (oh + kh * dh / sh, ow + kw * dw / sw): with the outputs
// numbered q = oh * cols + ow, every tap's values are one contiguous run of the source, starting
// at the tap's offset. Stride-1 unpadded layers read the image itself.
//   forward, indirect:  Y[:, q] = W_g . B, B row (c, kh, kw) = the tap's run (B read in
//                 place); the columns ow in [out_w, cols) of each output row are computed and
//                 dropped, so this suits wide images (choose_forward).
//   forward, gathered:  the same B gathered into packed panels, the columns being the output
//                 pixels of several images side by side, none dropped: for small images.
//   grad weight:  dW_g^T = col . dY_g^T with col (A) read in place, one K segment per output
//                 row (exactly out_w steps: nothing is dropped, so no padding value can leak
//                 into a sum), dY^T packed per K block; threads own row ranges of dW^T (or
//                 images, with private partial sums when dW is too small to share).
//   grad weight, gathered:  for few output channels, dW_g = dY_g . col^T with col^T gathered
//                 (row k = output pixel k, its taps along the vectors); threads take images.
// Images are padded a chunk at a time (a workspace of at most kSourceBytes, or one image), all
// threads filling it; with enough images each thread pads its own instead (forward).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "conv2d_work.hpp"
#include "epilogue.hpp"
#include "faltung/gemm.hpp"

namespace faltung::conv {
namespace {

constexpr int64_t kSourceBytes = int64_t(64) << 20;  // padded images held at once

struct Source {
  int64_t channels, sh, sw;  // channels of one image (all groups); phases = stride
  int64_t rows, cols;        // of one phase image
  int64_t top, left;         // padding (negative: cropped)
  bool in_place;             // stride 1 and no padding: the image itself is the source
  uint64_t rows_read, cols_read;  // bit a / b: some tap reads phase row a / column b
  bool read(int64_t a, int64_t b) const {
    return (a >= 64 || (rows_read >> a & 1)) && (b >= 64 || (cols_read >> b & 1));
  }
  int64_t phase_size() const { return rows * cols; }
  int64_t channel_size() const { return sh * sw * phase_size(); }
  int64_t image_size() const { return channels * channel_size(); }
};

Source make_source(const Conv2dParams& p) {
  Source s{};
  s.channels = p.in_channels;
  s.sh = p.stride_h;
  s.sw = p.stride_w;
  s.rows = ceil_div(p.pad_top + p.in_h + p.pad_bottom, s.sh);
  s.cols = ceil_div(p.pad_left + p.in_w + p.pad_right, s.sw);
  s.top = p.pad_top;
  s.left = p.pad_left;
  s.in_place = s.sh == 1 && s.sw == 1 && p.pad_top == 0 && p.pad_bottom == 0 &&
               p.pad_left == 0 && p.pad_right == 0;
  // A strided 1x1 layer reads one phase of stride_h x stride_w: the others are never copied.
  for (int64_t kh = 0; kh < p.kernel_h; ++kh)
    if ((kh * p.dilation_h) % s.sh < 64) s.rows_read |= uint64_t(1) << ((kh * p.dilation_h) % s.sh);
  for (int64_t kw = 0; kw < p.kernel_w; ++kw)
    if ((kw * p.dilation_w) % s.sw < 64) s.cols_read |= uint64_t(1) << ((kw * p.dilation_w) % s.sw);
  return s;
}

// Offsets of every tap (group g, row r = (c, kh, kw) of the group's im2col matrix) in an image
// of the source, at g * col_rows + r.
std::vector<int64_t> tap_offsets(const Source& s, const Conv2dParams& p) {
  const int64_t cg = p.in_channels_per_group(), rows = p.col_rows();
  std::vector<int64_t> taps(static_cast<size_t>(p.groups * rows));
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t kh = 0; kh < p.kernel_h; ++kh)
        for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
          const int64_t dy = kh * p.dilation_h, dx = kw * p.dilation_w;
          const int64_t phase = (dy % s.sh) * s.sw + dx % s.sw;
          taps[static_cast<size_t>(g * rows + (c * p.kernel_h + kh) * p.kernel_w + kw)] =
              (g * cg + c) * s.channel_size() + phase * s.phase_size() + (dy / s.sh) * s.cols +
              dx / s.sw;
        }
  return taps;
}

// Channel c of image x (in_h x in_w) into its phase images at dst.
template <class T>
void fill_channel(T* dst, const T* x, const Source& s, const Conv2dParams& p) {
  for (int64_t a = 0; a < s.sh; ++a)
    for (int64_t b = 0; b < s.sw; ++b) {
      if (!s.read(a, b)) continue;
      T* phase = dst + (a * s.sw + b) * s.phase_size();
      // Phase columns j read image column j * sw + b - left: those in [0, in_w) are [j0, j1).
      const int64_t first = b - s.left;
      const int64_t j0 = std::clamp<int64_t>(ceil_div(-first, s.sw), 0, s.cols);
      const int64_t j1 = std::clamp<int64_t>(ceil_div(p.in_w - first, s.sw), j0, s.cols);
      for (int64_t i = 0; i < s.rows; ++i) {
        T* out = phase + i * s.cols;
        const int64_t ih = i * s.sh + a - s.top;
        if (ih < 0 || ih >= p.in_h || j0 == j1) {
          std::fill(out, out + s.cols, T(0));
          continue;
        }
        const T* in = x + ih * p.in_w + j0 * s.sw + first;
        std::fill(out, out + j0, T(0));
        if (s.sw == 1) {
          std::memcpy(out + j0, in, sizeof(T) * (j1 - j0));
        } else {
          for (int64_t j = j0; j < j1; ++j) out[j] = in[(j - j0) * s.sw];
        }
        std::fill(out + j1, out + s.cols, T(0));
      }
    }
}

// All channels of image x into its source at dst.
template <class T>
void fill_image(T* dst, const T* x, const Source& s, const Conv2dParams& p) {
  for (int64_t c = 0; c < s.channels; ++c)
    fill_channel(dst + c * s.channel_size(), x + c * p.in_pixels(), s, p);
}

// Whether each thread should pad whole images of its own (enough images for every thread, one
// group, a copy to make) rather than all threads filling a shared chunk first: the copy is then
// still in the thread's cache when the GEMMs read it (ResNet 3x3/64 at 56x56, batch 8:
// 1.04-1.06x at one and two threads).
bool per_image_source(const Source& s, const Conv2dParams& p) {
  return !s.in_place && p.groups == 1 && p.batch >= 2 * num_threads();
}

// Builds the gather runs of one panel column by column: a column extends the last run when its
// source offset follows the previous column's and it lies in the same vector.
class PanelRuns {
 public:
  PanelRuns(GatherRun* runs, int64_t lanes) : runs_(runs), lanes_(lanes) {}
  void add(int64_t col, int64_t offset) {
    const int32_t lane = static_cast<int32_t>(col % lanes_);
    if (offset == previous_ + 1 && lane != 0) {
      runs_[count_ - 1].hi = lane + 1;
    } else {
      runs_[count_++] = GatherRun{offset - lane, static_cast<int32_t>(col / lanes_), lane, lane + 1};
    }
    previous_ = offset;
  }
  int64_t count() const { return count_; }

 private:
  GatherRun* runs_;
  int64_t lanes_, count_ = 0, previous_ = -2;
};

// Images [n0, n0 + count) as one chunk of the source: their base addresses. Fills the Source
// slot of the calling thread (all threads copying) unless the images are their own source.
template <class T>
std::vector<const T*> fill_chunk(const T* x, int64_t n0, int64_t count, const Source& s,
                                 const Conv2dParams& p) {
  std::vector<const T*> bases(static_cast<size_t>(count));
  const int64_t image = p.in_channels * p.in_pixels();
  if (s.in_place) {
    for (int64_t n = 0; n < count; ++n) bases[static_cast<size_t>(n)] = x + (n0 + n) * image;
    return bases;
  }
  T* buffer = workspace_as<T>(Slot::Source, static_cast<size_t>(count * s.image_size()));
  parallel_for(count * s.channels, [&](int64_t index) {
    const int64_t n = index / s.channels, c = index % s.channels;
    fill_channel(buffer + n * s.image_size() + c * s.channel_size(),
                 x + (n0 + n) * image + c * p.in_pixels(), s, p);
  });
  for (int64_t n = 0; n < count; ++n) bases[static_cast<size_t>(n)] = buffer + n * s.image_size();
  return bases;
}

// Images per chunk: as many as fit kSourceBytes (at least one); all when nothing is copied.
template <class T>
int64_t chunk_images(const Source& s, const Conv2dParams& p) {
  if (s.in_place) return p.batch;
  return std::clamp<int64_t>(kSourceBytes / (s.image_size() * int64_t(sizeof(T))), 1, p.batch);
}

}  // namespace

template <class T>
ForwardVariant choose_forward(const Conv2dParams& p) {
  const Source s = make_source(p);
  const double dropped = double(s.cols - p.out_w) / double(p.out_w);  // per computed column
  // Gathering costs about 0.15 cycles per B element (masked loads ORed per vector) while an
  // image's padded copy fits half of L2, about twice that beyond, where the gather's reads come
  // from L3 and the in-place variant's prefetched rows do better (fitted to the measured
  // crossovers, performance.md entry 29: ResNet 3x3/128 at 28x28 and LeNet's conv2 gather, VGG
  // conv3_2 does not); the GEMM spends og / (2 FMAs x lanes) cycles on each.
  const GemmBlocking gb = gemm_blocking<T>();
  const bool fits = s.image_size() * int64_t(sizeof(T)) <= (int64_t(512) << 10);
  const double gather = (fits ? 0.15 : 0.3) * double(2 * gb.lanes) / double(p.out_channels_per_group());
  return dropped <= gather ? ForwardVariant::kIndirect : ForwardVariant::kGathered;
}

template <class T>
void forward_indirect(T* y, const T* x, const ConvWeight<T>& w, const T* bias,
                      const Conv2dParams& p, Epilogue epilogue) {
  const GemmBlocking gb = gemm_blocking<T>();
  const int64_t og = p.out_channels_per_group(), rows = p.col_rows(), pixels = p.out_pixels();
  const Source s = make_source(p);
  const std::vector<int64_t> taps = tap_offsets(s, p);
  const int64_t kc_max = gemm_k_block<T>(rows);
  // Output columns q = oh * cols + ow of one image, the dropped ones of the last row excluded.
  const int64_t span = (p.out_h - 1) * s.cols + p.out_w;
  const int64_t tile = round_up(ceil_div(span, ceil_div(span, gb.nc)), gb.nr);
  const int64_t tiles = ceil_div(span, tile);
  const bool compact = s.cols == p.out_w;  // q is the output pixel: write y directly
  // Rows [m0, m1) of tile t of image n, group g, reading the image's source at `source`.
  auto run_tile = [&](const T* source, int64_t n, int64_t g, int64_t t, int64_t m0, int64_t m1) {
    const int64_t q0 = t * tile, width = std::min(tile, span - q0);
    const int64_t ldc = compact ? pixels : round_up(width, 16);
    T* y_plane = plane(y, n, g, og, p.groups, pixels);
    T* c = compact ? y_plane + m0 * pixels + q0
                   : workspace_as<T>(Slot::Gather, static_cast<size_t>((m1 - m0) * ldc));
    const T** b_rows = workspace_as<const T*>(Slot::Rows, static_cast<size_t>(kc_max));
    for (int64_t pc = 0; pc < rows; pc += kc_max) {
      const int64_t kc = std::min(kc_max, rows - pc);
      for (int64_t k = 0; k < kc; ++k)
        b_rows[k] = source + q0 + taps[static_cast<size_t>(g * rows + pc + k)];
      gemm_block_indirect_b(w.packed + g * w.stride, og, pc, kc, m0, m1, b_rows, width,
                            pc == 0 ? T(0) : T(1), c, ldc);
    }
    // Rows m0..m1 of the tile into y (dropping the columns ow >= out_w), plus bias and the
    // epilogue.
    for (int64_t o = m0; o < m1; ++o) {
      const T value = bias != nullptr ? bias[g * og + o] : T(0);
      const T* src = c + (o - m0) * ldc;
      T* dst = y_plane + o * pixels;
      if (compact) {
        if (bias != nullptr || epilogue != Epilogue::kNone)
          finish_row(dst + q0, dst + q0, width, value, epilogue);
        continue;
      }
      for (int64_t oh = q0 / s.cols, q = q0; q < q0 + width; ++oh) {
        const int64_t row = oh * s.cols, end = std::min(q0 + width, row + s.cols);
        // output row oh; column q is pixel (oh, q - row)
        const int64_t stop = std::min(end, row + p.out_w);
        if (stop > q) finish_row(dst + oh * p.out_w + (q - row), src + (q - q0), stop - q, value, epilogue);
        q = end;
      }
    }
  };
  if (per_image_source(s, p)) {
    // Each thread pads its own image and runs all its tiles while the copy is in its cache.
    parallel_for(p.batch, [&](int64_t n) {
      T* source = workspace_as<T>(Slot::Source, static_cast<size_t>(s.image_size()));
      fill_image(source, x + n * p.in_channels * p.in_pixels(), s, p);
      for (int64_t t = 0; t < tiles; ++t) run_tile(source, n, 0, t, 0, og);
    });
    return;
  }
  const int64_t chunk = chunk_images<T>(s, p);
  for (int64_t n0 = 0; n0 < p.batch; n0 += chunk) {
    const int64_t count = std::min(chunk, p.batch - n0);
    const std::vector<const T*> bases = fill_chunk(x, n0, count, s, p);
    const int64_t items = count * p.groups * tiles;
    const Parts m_parts{og, gb.mr, parts_for(items, ceil_div(og, gb.mr), num_threads())};
    parallel_for(items * m_parts.parts, [&](int64_t index) {
      const int64_t part = index % m_parts.parts, rest = index / m_parts.parts;
      const int64_t t = rest % tiles, g = (rest / tiles) % p.groups, n = rest / tiles / p.groups;
      run_tile(bases[static_cast<size_t>(n)], n0 + n, g, t, m_parts.begin(part),
               m_parts.end(part));
    });
  }
}

template <class T>
void forward_gathered(T* y, const T* x, const ConvWeight<T>& w, const T* bias,
                      const Conv2dParams& p, Epilogue epilogue) {
  const GemmBlocking gb = gemm_blocking<T>();
  const int64_t og = p.out_channels_per_group(), rows = p.col_rows(), pixels = p.out_pixels();
  const Source s = make_source(p);
  std::vector<int64_t> taps = tap_offsets(s, p);
  // The rotated kernel read in place: K in whole channels, each channel's taps reversed.
  const int64_t area = p.kernel_h * p.kernel_w;
  int64_t kc_max = gemm_k_block<T>(rows);
  if (w.rotated) {
    kc_max = std::max(area, kc_max / area * area);
    for (auto tap = taps.begin(); tap != taps.end(); tap += area) std::reverse(tap, tap + area);
  }
  const int64_t nr = gb.nr, max_segments = w.rotated ? kc_max / area : 1;
  const int64_t chunk = chunk_images<T>(s, p);
  for (int64_t n0 = 0; n0 < p.batch; n0 += chunk) {
    const int64_t count = std::min(chunk, p.batch - n0);
    const std::vector<const T*> bases = fill_chunk(x, n0, count, s, p);
    // Columns: the chunk's output pixels, image after image, in tiles of about nc cut at panel
    // edges as evenly as possible; with a tile per thread or more, as many tiles per thread
    // (performance.md entry 31).
    const int64_t total = count * pixels;
    int64_t tiles = ceil_div(total, gb.nc);
    if (tiles >= num_threads()) tiles = std::min(round_up(tiles, num_threads()), ceil_div(total, nr));
    const Parts n_parts{total, nr, tiles};
    const Parts m_parts{og, gb.mr, even_parts(p.groups * tiles, ceil_div(og, gb.mr), num_threads())};
    parallel_for(p.groups * tiles * m_parts.parts, [&](int64_t index) {
      const int64_t part = index % m_parts.parts, rest = index / m_parts.parts;
      const int64_t t = rest % tiles, g = rest / tiles;
      const int64_t m0 = m_parts.begin(part), m1 = m_parts.end(part);
      const int64_t j0 = n_parts.begin(t), width = n_parts.end(t) - j0, panels = ceil_div(width, nr);
      // Each panel's columns as runs of consecutive source elements (tap offset 0), cut where
      // a vector ends; (n, oh, ow) walks the tile's columns without dividing.
      // Rows slot: B's row addresses, A's (weight read in place), A's K segment offsets, run
      // counts, runs.
      const size_t row_bytes = sizeof(const T*) * static_cast<size_t>(kc_max + m1 - m0);
      const size_t count_bytes = sizeof(int64_t) * static_cast<size_t>(max_segments + panels);
      char* raw = static_cast<char*>(workspace(
          Slot::Rows, row_bytes + count_bytes + sizeof(GatherRun) * static_cast<size_t>(panels * nr)));
      const T** b_rows = reinterpret_cast<const T**>(raw);
      const T** a_rows = b_rows + kc_max;
      int64_t* seg_offset = reinterpret_cast<int64_t*>(raw + row_bytes);
      int64_t* run_count = seg_offset + max_segments;
      GatherRun* runs = reinterpret_cast<GatherRun*>(raw + row_bytes + count_bytes);
      int64_t n = j0 / pixels, oh = (j0 % pixels) / p.out_w, ow = j0 % p.out_w;
      for (int64_t jp = 0; jp < panels; ++jp) {
        PanelRuns panel_runs(runs + jp * nr, gb.lanes);
        for (int64_t col = 0; col < nr && jp * nr + col < width; ++col) {
          panel_runs.add(col, (bases[static_cast<size_t>(n)] - bases[0]) + oh * s.cols + ow);
          if (++ow == p.out_w) {
            ow = 0;
            if (++oh == p.out_h) {
              oh = 0;
              ++n;
            }
          }
        }
        run_count[jp] = panel_runs.count();
      }
      T* b_block = workspace_as<T>(Slot::Columns, static_cast<size_t>(packed_b_size<T>(kc_max, width)));
      const int64_t ldc = round_up(width, 16);
      T* c = workspace_as<T>(Slot::Gather, static_cast<size_t>((m1 - m0) * ldc));
      for (int64_t pc = 0; pc < rows; pc += kc_max) {
        const int64_t kc = std::min(kc_max, rows - pc);
        for (int64_t k = 0; k < kc; ++k) b_rows[k] = bases[0] + taps[static_cast<size_t>(g * rows + pc + k)];
        for (int64_t jp = 0; jp < panels; ++jp)
          gather_b_panel(b_block + jp * kc * nr, kc, b_rows, runs + jp * nr, run_count[jp]);
        const T beta = pc == 0 ? T(0) : T(1);
        if (w.in_place != nullptr && !w.rotated) {
          // One K segment: columns pc .. pc + kc of each weight row.
          seg_offset[0] = 0;
          for (int64_t o = m0; o < m1; ++o) a_rows[o - m0] = w.in_place + (g * og + o) * rows + pc;
          gemm_block_indirect_a(a_rows, m1 - m0, 1, kc, seg_offset, b_block, width, beta, c, ldc);
        } else if (w.in_place != nullptr) {
          // Row o (an input channel of w's layer), channel j of K at w[j][o][0:area] of this
          // group: rows area values apart, channels og * area apart.
          const T* a = w.in_place + g * og * rows;
          for (int64_t o = m0; o < m1; ++o) a_rows[o - m0] = a + o * area;
          for (int64_t sg = 0; sg < kc / area; ++sg) seg_offset[sg] = (pc / area + sg) * og * area;
          gemm_block_indirect_a(a_rows, m1 - m0, kc / area, area, seg_offset, b_block, width, beta,
                                c, ldc);
        } else {
          gemm_block(w.packed + g * w.stride, og, pc, kc, m0, m1, b_block, width, beta, c, ldc);
        }
      }
      // The tile's columns back to their images (runs of one image's pixels), plus bias and
      // the epilogue.
      for (int64_t j = 0; j < width;) {
        const int64_t n = (j0 + j) / pixels, q = (j0 + j) % pixels;
        const int64_t run = std::min(width - j, pixels - q);
        T* y_plane = plane(y, n0 + n, g, og, p.groups, pixels) + q;
        for (int64_t o = m0; o < m1; ++o) {
          const T value = bias != nullptr ? bias[g * og + o] : T(0);
          finish_row(y_plane + o * pixels, c + (o - m0) * ldc + j, run, value, epilogue);
        }
        j += run;
      }
    });
  }
}

template <class T>
void backward_weight_indirect(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p) {
  const GemmBlocking gb = gemm_blocking<T>();
  const int64_t og = p.out_channels_per_group(), rows = p.col_rows(), pixels = p.out_pixels();
  const int64_t w_size = p.out_channels * rows;
  const Source s = make_source(p);
  const std::vector<int64_t> taps = tap_offsets(s, p);
  const int threads = num_threads();
  // Threads own ranges of at least 64 rows of dW^T (each packs dY^T itself, so narrower parts
  // would spend more on packing than on arithmetic); with too few, they take images instead.
  const Parts r_parts{rows, gb.mr, parts_for(p.groups, ceil_div(rows, 64), threads)};
  const int64_t i_parts = p.groups * r_parts.parts >= threads ? 1 : threads;
  // dW^T per image part: (groups x rows) x og, summed and transposed into grad_w at the end.
  T* sums = workspace_as<T>(Slot::Partial, static_cast<size_t>(i_parts * w_size));
  std::fill(sums, sums + i_parts * w_size, T(0));
  // A K block: whole output rows (segments of out_w steps), about kc deep.
  const int64_t seg_per_block = std::max<int64_t>(1, gb.kc_max / p.out_w);
  const int64_t chunk = chunk_images<T>(s, p);
  for (int64_t n0 = 0; n0 < p.batch; n0 += chunk) {
    const int64_t count = std::min(chunk, p.batch - n0);
    const std::vector<const T*> bases = fill_chunk(x, n0, count, s, p);
    parallel_for(p.groups * r_parts.parts * i_parts, [&](int64_t index) {
      const int64_t ip = index % i_parts, rest = index / i_parts;
      const int64_t part = rest % r_parts.parts, g = rest / r_parts.parts;
      const int64_t r0 = r_parts.begin(part), r1 = r_parts.end(part);
      const int64_t na = count * ip / i_parts, nb = count * (ip + 1) / i_parts;
      if (r0 >= r1 || na >= nb) return;
      // Segments: (image n, output row oh) for n in [na, nb), in order.
      const int64_t segments = (nb - na) * p.out_h;
      const int64_t kc_max = seg_per_block * p.out_w;
      T* packed_b = workspace_as<T>(Slot::PackB, static_cast<size_t>(packed_b_size<T>(kc_max, og)));
      // Rows slot: the row addresses of A, then the segment offsets.
      auto* a_rows = workspace_as<const T*>(Slot::Rows, static_cast<size_t>(r1 - r0 + seg_per_block));
      auto* seg_offset = reinterpret_cast<int64_t*>(a_rows + (r1 - r0));
      const T* chunk_base = bases[0];
      for (int64_t r = r0; r < r1; ++r)
        a_rows[r - r0] = chunk_base + taps[static_cast<size_t>(g * rows + r)];
      T* dwt = sums + ip * w_size + (g * rows + r0) * og;
      for (int64_t s0 = 0; s0 < segments; s0 += seg_per_block) {
        const int64_t nseg = std::min(seg_per_block, segments - s0), kc = nseg * p.out_w;
        // dY^T of the block as B panels: row k = (segment, ow), column o.
        const int64_t panel_count = ceil_div(og, gb.nr);
        // The block's output rows of one image are contiguous in grad_y: one pack per image.
        for (int64_t sg = 0; sg < nseg;) {
          const int64_t n = na + (s0 + sg) / p.out_h, oh = (s0 + sg) % p.out_h;
          const int64_t run = std::min(nseg - sg, p.out_h - oh);
          for (int64_t r = 0; r < run; ++r)
            seg_offset[sg + r] = (bases[static_cast<size_t>(n)] - chunk_base) + (oh + r) * s.cols;
          pack_b_columns(packed_b + sg * p.out_w * gb.nr, kc * gb.nr,
                         plane(grad_y, n0 + n, g, og, p.groups, pixels) + oh * p.out_w, pixels,
                         og, run * p.out_w);
          sg += run;
        }
        if (og % gb.nr != 0) {
          T* last = packed_b + (panel_count - 1) * kc * gb.nr;
          for (int64_t k = 0; k < kc; ++k)
            std::fill(last + k * gb.nr + og % gb.nr, last + (k + 1) * gb.nr, T(0));
        }
        gemm_block_indirect_a(a_rows, r1 - r0, nseg, p.out_w, seg_offset, packed_b, og, T(1),
                              dwt, og);
      }
    });
  }
  // grad_w[g * og + o][r] = sum over image parts of dW^T[g][r][o], transposed in 16 x 16 tiles
  // (row by row, the reads of dW^T would each be og elements apart).
  constexpr int64_t kTile = 16;
  const int64_t r_tiles = ceil_div(rows, kTile);
  parallel_for(p.groups * r_tiles, [&, parts = i_parts](int64_t index) {
    const int64_t g = index / r_tiles, r0 = index % r_tiles * kTile, r1 = std::min(rows, r0 + kTile);
    const T* __restrict__ src = sums + g * rows * og;
    T* __restrict__ dst = grad_w + g * og * rows;
    for (int64_t o0 = 0; o0 < og; o0 += kTile)
      for (int64_t o = o0; o < std::min(og, o0 + kTile); ++o)
        for (int64_t r = r0; r < r1; ++r) {
          T sum = src[r * og + o];
          for (int64_t ip = 1; ip < parts; ++ip) sum += src[ip * w_size + r * og + o];
          dst[o * rows + r] = sum;
        }
  });
}

template <class T>
void backward_weight_gathered(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p) {
  const GemmBlocking gb = gemm_blocking<T>();
  const int64_t og = p.out_channels_per_group(), rows = p.col_rows(), pixels = p.out_pixels();
  const int64_t w_size = p.out_channels * rows, nr = gb.nr, panels = ceil_div(rows, nr);
  const Source s = make_source(p);
  const std::vector<int64_t> taps = tap_offsets(s, p);
  // The taps of each panel (group 0; group g reads g * cg channels further) as runs of
  // consecutive source elements, cut where a vector ends.
  std::vector<GatherRun> runs(static_cast<size_t>(panels * nr));
  std::vector<int64_t> run_count(static_cast<size_t>(panels));
  for (int64_t jp = 0; jp < panels; ++jp) {
    PanelRuns panel_runs(runs.data() + jp * nr, gb.lanes);
    for (int64_t col = 0; col < nr && jp * nr + col < rows; ++col)
      panel_runs.add(col, taps[static_cast<size_t>(jp * nr + col)]);
    run_count[static_cast<size_t>(jp)] = panel_runs.count();
  }
  const int64_t group_offset = p.in_channels_per_group() * s.channel_size();
  const int64_t parts = std::min<int64_t>(num_threads(), p.batch);  // threads take images
  T* sums = workspace_as<T>(Slot::Partial, static_cast<size_t>(parts * w_size));
  std::fill(sums, sums + parts * w_size, T(0));
  const int64_t kc_max = gemm_k_block<T>(pixels);
  const int64_t chunk = chunk_images<T>(s, p);
  for (int64_t n0 = 0; n0 < p.batch; n0 += chunk) {
    const int64_t count = std::min(chunk, p.batch - n0);
    const std::vector<const T*> bases = fill_chunk(x, n0, count, s, p);
    parallel_for(parts, [&](int64_t part) {
      T* mine = sums + part * w_size;
      T* a = workspace_as<T>(Slot::PackA, static_cast<size_t>(packed_a_size<T>(og, pixels)));
      T* b_block = workspace_as<T>(Slot::PackB, static_cast<size_t>(packed_b_size<T>(kc_max, rows)));
      const T** b_rows = workspace_as<const T*>(Slot::Rows, static_cast<size_t>(kc_max));
      for (int64_t n = count * part / parts; n < count * (part + 1) / parts; ++n)
        for (int64_t g = 0; g < p.groups; ++g) {
          pack_a(a, false, og, pixels, T(1), plane(grad_y, n0 + n, g, og, p.groups, pixels), pixels);
          const T* base = bases[static_cast<size_t>(n)] + g * group_offset;
          for (int64_t pc = 0; pc < pixels; pc += kc_max) {
            const int64_t kc = std::min(kc_max, pixels - pc);
            for (int64_t k = 0, oh = pc / p.out_w, ow = pc % p.out_w; k < kc; ++k) {
              b_rows[k] = base + oh * s.cols + ow;
              if (++ow == p.out_w) {
                ow = 0;
                ++oh;
              }
            }
            for (int64_t jp = 0; jp < panels; ++jp)
              gather_b_panel(b_block + jp * kc * nr, kc, b_rows, runs.data() + jp * nr,
                             run_count[static_cast<size_t>(jp)]);
            gemm_block(a, og, pc, kc, 0, og, b_block, rows, T(1), mine + g * og * rows, rows);
          }
        }
    });
  }
  parallel_for(w_size, [&, n_parts = parts](int64_t i) {
    T sum = sums[i];
    for (int64_t k = 1; k < n_parts; ++k) sum += sums[k * w_size + i];
    grad_w[i] = sum;
  });
}

#define FALTUNG_INSTANTIATE_CONV2D_INDIRECT(T)                                                \
  template ForwardVariant choose_forward<T>(const Conv2dParams&);                            \
  template void forward_indirect<T>(T*, const T*, const ConvWeight<T>&, const T*,          \
                                    const Conv2dParams&, Epilogue);                          \
  template void forward_gathered<T>(T*, const T*, const ConvWeight<T>&, const T*,          \
                                    const Conv2dParams&, Epilogue);                          \
  template void backward_weight_indirect<T>(T*, const T*, const T*, const Conv2dParams&); \
  template void backward_weight_gathered<T>(T*, const T*, const T*, const Conv2dParams&);
FALTUNG_INSTANTIATE_CONV2D_INDIRECT(float)
FALTUNG_INSTANTIATE_CONV2D_INDIRECT(double)

}  // namespace faltung::conv
