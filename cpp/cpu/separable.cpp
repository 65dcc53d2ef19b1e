// Separable convolution forward (faltung/separable.hpp), two variants:
//   fused:        per (image, block of output rows): the depthwise rows of all C*M channels
//                 into a thread's tile (about kTileColumns pixels, in cache), consumed at once by
//                 the GEMM y[:, block] = pw . tile; the depthwise output never goes to memory
//   materialised: the depthwise output of the whole batch in a reused workspace, then the 1x1
//                 convolution (conv2d_forward: pw packed once, images batched into wide GEMMs)
// The fused GEMM packs pw again for every tile, which a tile narrower than kFusedFrom pixels
// (a map smaller than that: Xception's 10x10 exit flow) does not repay: those take the
// materialised variant (measured, docs/performance.md "Separable convolution").
#include "faltung/separable.hpp"

#include "depthwise_work.hpp"
#include "faltung/conv2d.hpp"
#include "faltung/depthwise.hpp"

namespace faltung {
namespace {

using namespace depthwise;

constexpr int64_t kTileColumns = 512;  // output pixels of one fused tile (whole output rows)
constexpr int64_t kFusedFrom = 256;    // fuse when a map has at least this many output pixels

template <class T>
void materialised(T* y, const T* x, const T* dw, const T* pw, const T* bias,
                  const Conv2dParams& p, int64_t out_channels) {
  T* middle = workspace_as<T>(Slot::SeparableMiddle, p.batch * p.out_channels * p.out_pixels());
  depthwise_forward(middle, x, dw, static_cast<const T*>(nullptr), p);
  const Conv2dParams pointwise = make_conv2d_params(p.batch, p.out_channels, p.out_h, p.out_w,
                                                    out_channels, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1,
                                                    1);
  conv2d_forward(y, middle, pw, bias, pointwise);
}

template <class T>
void fused(T* y, const T* x, const T* dw, const T* pw, const T* bias, const Conv2dParams& p,
           int64_t out_channels) {
  const int64_t C = p.in_channels, M = multiplier(p), CM = p.out_channels;
  const int64_t taps = p.kernel_h * p.kernel_w;
  const InputLayout layout(p);
  const std::vector<int64_t> offsets = layout.tap_offsets(p);
  const auto sum = rows<T>().sum[fixed_or_any(taps)];
  const int64_t block = std::max<int64_t>(1, kTileColumns / p.out_w);
  const int64_t blocks = (p.out_h + block - 1) / block;
  const int64_t rs = layout.row_stride * p.stride_h;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t item = 0; item < p.batch * blocks; ++item) {
    const int64_t n = item / blocks, oy0 = item % blocks * block;
    const int64_t rows_here = std::min(block, p.out_h - oy0), cols = rows_here * p.out_w;
    const int64_t first = oy0 * p.stride_h;
    const int64_t end = (oy0 + rows_here - 1) * p.stride_h + (p.kernel_h - 1) * p.dilation_h + 1;
    T* tile = workspace_as<T>(Slot::SeparableMiddle, CM * cols);
    const T** src = workspace_as<const T*>(Slot::DepthwiseTaps, taps);
    for (int64_t c = 0; c < C; ++c) {
      const T* in = input_rows(x + (n * C + c) * p.in_pixels(), p, layout, first, end);
      point(src, in, offsets);
      for (int64_t j = 0; j < M; ++j)
        sum(tile + (c * M + j) * cols, p.out_w, rows_here, p.out_w, T(0), src, rs,
            dw + (c * M + j) * taps, taps);
    }
    T* out = y + n * out_channels * p.out_pixels() + oy0 * p.out_w;
    gemm<T>(false, false, out_channels, cols, CM, T(1), pw, CM, tile, cols, T(0), out,
            p.out_pixels());
    if (bias != nullptr)
      for (int64_t o = 0; o < out_channels; ++o)
        for (int64_t e = 0; e < cols; ++e) out[o * p.out_pixels() + e] += bias[o];
  }
}

}  // namespace

template <class T>
void separable_forward(T* y, const T* x, const T* dw, const T* pw, const T* bias,
                       const Conv2dParams& p, int64_t out_channels) {
  if (p.out_pixels() >= kFusedFrom)
    fused(y, x, dw, pw, bias, p, out_channels);
  else
    materialised(y, x, dw, pw, bias, p, out_channels);
}

template void separable_forward<float>(float*, const float*, const float*, const float*,
                                       const float*, const Conv2dParams&, int64_t);
template void separable_forward<double>(double*, const double*, const double*, const double*,
                                        const double*, const Conv2dParams&, int64_t);

}  // namespace faltung
