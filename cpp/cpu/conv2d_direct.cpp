// The direct convolution's driver (conv2d_direct.hpp): which layers take it, and the forward
// and weight-gradient passes as blocks of kDirectLanes images, one block per thread at a time:
// the block's padded input (and grad_y) transposed into lanes, the kernels of this CPU run on
// it, the output transposed back with bias and epilogue. The stride-1 input gradient is a
// forward convolution (conv2d.cpp) and comes here through conv2d_forward.
#include "conv2d_direct.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "conv2d_work.hpp"

namespace faltung::conv {
namespace {

using cpu::DirectGeometry;
using cpu::DirectKernels;
constexpr int64_t L = cpu::kDirectLanes;

const DirectKernels& kernels() {
  static const DirectKernels table = [] {
    DirectKernels k;
    if (std::string(gemm_kernel_name()) == "avx512") cpu::avx512_direct_kernels(&k);
    return k;
  }();
  return table;
}

// Up to this many output channels the GEMM paths waste most of their 8 x 32 register tile or
// spend as much on gathering as on arithmetic (LeNet-5: 6 and 16).
constexpr int64_t kMaxOutputChannels = 16;
// One block of images in lanes (input, output or grad_y, sums) at most, per thread.
constexpr int64_t kMaxBlockBytes = int64_t(8) << 20;
// The forward's output block at most: beyond L2 the transposes back, 256 streams of 64 bytes
// (16 images x 16 channels), ran slower than the GEMM's long rows (3 -> 16 channels at 56x56:
// 0.75x; at 28x28, 0.8 MB: 1.22x).
constexpr int64_t kMaxForwardOutBytes = int64_t(1) << 20;

// One block of images in lanes: the padded input planes, then the output (or grad_y) planes.
struct Block {
  int64_t rows, cols;         // of a padded input plane
  int64_t in_size, out_size;  // floats
  explicit Block(const Conv2dParams& p)
      : rows(p.pad_top + p.in_h + p.pad_bottom),
        cols(p.pad_left + p.in_w + p.pad_right),
        in_size(p.in_channels * rows * cols * L),
        out_size(p.out_channels * p.out_pixels() * L) {}
};

bool fits(const Conv2dParams& p) {
  if (kernels().forward == nullptr || p.groups != 1) return false;
  if (std::min({p.pad_top, p.pad_bottom, p.pad_left, p.pad_right}) < 0) return false;
  if (round_up(p.batch, L) * 8 > p.batch * 9) return false;  // at most 1/9 of the lanes empty
  const Block b(p);
  return (b.in_size + b.out_size) * int64_t(sizeof(float)) <= kMaxBlockBytes;
}

// The offset tables (in Slot::Rows) and the register tile height. With skip_padding_rows the
// forward skips the kernel rows that read only padding for an output row (products with zero;
// never when a weight is Inf or NaN, whose product with a padded zero is NaN).
struct Tables {
  DirectGeometry geo;
  Tables(const Conv2dParams& p, bool skip_padding_rows) {
    const Block b(p);
    const int64_t c_count = p.in_channels, kh = p.kernel_h, kw = p.kernel_w;
    const int64_t taps = c_count * kh * kw, pixels = p.out_pixels();
    int64_t* pix_off =
        workspace_as<int64_t>(Slot::Rows, static_cast<size_t>(pixels + taps + 2 * p.out_h));
    int64_t *tap_off = pix_off + pixels, *row_lo = tap_off + taps, *row_hi = row_lo + p.out_h;
    for (int64_t oy = 0; oy < p.out_h; ++oy)
      for (int64_t ox = 0; ox < p.out_w; ++ox)
        pix_off[oy * p.out_w + ox] = (oy * p.stride_h * b.cols + ox * p.stride_w) * L;
    for (int64_t i = 0; i < kh; ++i)  // tap (i, c, j)
      for (int64_t c = 0; c < c_count; ++c)
        for (int64_t j = 0; j < kw; ++j)
          tap_off[(i * c_count + c) * kw + j] =
              ((c * b.rows + i * p.dilation_h) * b.cols + j * p.dilation_w) * L;
    for (int64_t oy = 0; oy < p.out_h; ++oy) {  // kernel rows i reading real input rows
      int64_t lo = kh, hi = 0;
      for (int64_t i = 0; i < kh; ++i) {
        const int64_t row = oy * p.stride_h + i * p.dilation_h - p.pad_top;
        if (row >= 0 && row < p.in_h) lo = std::min(lo, i), hi = i + 1;
      }
      if (!skip_padding_rows) lo = 0, hi = kh;
      row_lo[oy] = std::min(lo, hi) * c_count * kw;
      row_hi[oy] = hi * c_count * kw;
    }
    const int64_t o = p.out_channels, max_rows = cpu::kDirectMaxRows;
    const int64_t mr = ceil_div(o, ceil_div(o, max_rows));
    geo = DirectGeometry{o, taps, pixels, p.out_w, mr, pix_off, tap_off, row_lo, row_hi};
  }
  // Tap t of output channel o in the weight (o, c, i, j).
  static int64_t weight_index(const Conv2dParams& p, int64_t o, int64_t t) {
    const int64_t j = t % p.kernel_w, c = t / p.kernel_w % p.in_channels;
    const int64_t i = t / p.kernel_w / p.in_channels;
    return ((o * p.in_channels + c) * p.kernel_h + i) * p.kernel_w + j;
  }
};

// Block `block`'s input images into lanes at `xb`, zero-padded.
void input_to_lanes(float* xb, const float* x, int64_t block, const Conv2dParams& p) {
  const Block b(p);
  const int64_t images = std::min(L, p.batch - block * L), in_pixels = p.in_pixels();
  const int64_t row = b.cols * L;
  for (int64_t c = 0; c < p.in_channels; ++c) {
    float* plane = xb + c * b.rows * row;
    std::memset(plane, 0, sizeof(float) * static_cast<size_t>(p.pad_top * row));
    std::memset(plane + (p.pad_top + p.in_h) * row, 0,
                sizeof(float) * static_cast<size_t>(p.pad_bottom * row));
    if (p.pad_left + p.pad_right > 0)
      for (int64_t y = p.pad_top; y < p.pad_top + p.in_h; ++y) {
        std::memset(plane + y * row, 0, sizeof(float) * static_cast<size_t>(p.pad_left * L));
        std::memset(plane + y * row + (p.pad_left + p.in_w) * L, 0,
                    sizeof(float) * static_cast<size_t>(p.pad_right * L));
      }
    kernels().to_lanes(plane + (p.pad_top * b.cols + p.pad_left) * L, b.cols,
                       x + (block * L * p.in_channels + c) * in_pixels,
                       p.in_channels * in_pixels, images, p.in_h, p.in_w);
  }
}

}  // namespace

bool use_direct_weight(const Conv2dParams& p) {
  return p.out_channels <= kMaxOutputChannels && fits(p);
}

bool use_direct_forward(const Conv2dParams& p) {
  const int64_t out_bytes = Block(p).out_size * int64_t(sizeof(float));
  return use_direct_weight(p) && out_bytes <= kMaxForwardOutBytes;
}

void forward_direct(float* y, const float* x, const float* w, const float* bias,
                    const Conv2dParams& p, Epilogue epilogue) {
  bool finite = true;
  for (int64_t i = 0; i < p.out_channels * p.col_rows(); ++i) finite &= std::isfinite(w[i]);
  const Tables tables(p, finite);
  const DirectGeometry& geo = tables.geo;
  float* packed =
      workspace_as<float>(Slot::PackA, static_cast<size_t>(geo.out_channels * geo.taps));
  for (int64_t o0 = 0; o0 < geo.out_channels; o0 += geo.mr) {
    const int64_t mr = std::min(geo.mr, geo.out_channels - o0);
    for (int64_t t = 0; t < geo.taps; ++t)
      for (int64_t m = 0; m < mr; ++m)
        packed[o0 * geo.taps + t * mr + m] = w[Tables::weight_index(p, o0 + m, t)];
  }
  const Block b(p);
  const int64_t pixels = p.out_pixels();
  parallel_for(ceil_div(p.batch, L), [&](int64_t block) {
    float* xb = workspace_as<float>(Slot::DirectLanes, static_cast<size_t>(b.in_size + b.out_size));
    float* yb = xb + b.in_size;
    input_to_lanes(xb, x, block, p);
    kernels().forward(yb, xb, packed, geo);
    const int64_t images = std::min(L, p.batch - block * L);
    for (int64_t o = 0; o < p.out_channels; ++o)
      kernels().from_lanes(y + (block * L * p.out_channels + o) * pixels,
                           p.out_channels * pixels, images, yb + o * pixels * L, pixels,
                           bias != nullptr ? bias[o] : 0.0f, epilogue);
  });
}

void backward_weight_direct(float* grad_w, const float* grad_y, const float* x,
                            const Conv2dParams& p) {
  const Tables tables(p, false);
  const DirectGeometry& geo = tables.geo;
  const Block b(p);
  const int64_t blocks = ceil_div(p.batch, L), pixels = p.out_pixels();
  const int64_t sums = geo.out_channels * geo.taps;
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), blocks));
  float* partial = workspace_as<float>(Slot::Partial, static_cast<size_t>(threads * sums));
#pragma omp parallel num_threads(threads)
  {
    const int id = omp_get_thread_num();
    float* acc = workspace_as<float>(Slot::DirectLanes,
                                     static_cast<size_t>(sums * L + b.in_size + b.out_size));
    float* xb = acc + sums * L;
    float* gb = xb + b.in_size;
    std::memset(acc, 0, sizeof(float) * static_cast<size_t>(sums * L));
    for (int64_t block = id; block < blocks; block += threads) {
      input_to_lanes(xb, x, block, p);
      const int64_t images = std::min(L, p.batch - block * L);
      for (int64_t o = 0; o < p.out_channels; ++o)
        kernels().to_lanes(gb + o * pixels * L, p.out_w,
                           grad_y + (block * L * p.out_channels + o) * pixels,
                           p.out_channels * pixels, images, p.out_h, p.out_w);
      kernels().weight(acc, gb, xb, geo);
    }
    for (int64_t s = 0; s < sums; ++s) {
      float total = 0.0f;
      for (int64_t n = 0; n < L; ++n) total += acc[s * L + n];
      partial[id * sums + s] = total;
    }
  }
  for (int64_t o = 0; o < geo.out_channels; ++o)
    for (int64_t t = 0; t < geo.taps; ++t) {
      float total = 0.0f;
      for (int id = 0; id < threads; ++id) total += partial[id * sums + o * geo.taps + t];
      grad_w[Tables::weight_index(p, o, t)] = total;
    }
}

}  // namespace faltung::conv
