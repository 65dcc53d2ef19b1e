// The stride-2 depthwise forward on NCHW rows (depthwise_stride2.hpp): the choice and the
// driver, threaded over the output planes.
#include "depthwise_stride2.hpp"

#include <string>

#include "depthwise_work.hpp"

namespace faltung::depthwise {
namespace {

const cpu::DepthwiseStride2& stride2_table() {
  static const cpu::DepthwiseStride2 table = [] {
    cpu::DepthwiseStride2 t;
    if (std::string(gemm_kernel_name()) == "avx512") cpu::avx512_depthwise_stride2(&t);
    return t;
  }();
  return table;
}

cpu::Stride2Plane plane_of(const Conv2dParams& p) {
  return {p.in_h, p.in_w, p.out_h, p.out_w, p.pad_top, p.pad_left};
}

}  // namespace

// Measured (speed change 15): 1.1-1.4x the tiles with 14, 28 and 56 output columns (7/8 of the
// lanes of a row's vectors in use), 0.9x with 20 (5/8), 0.3-0.5x with 4 and 7.
bool use_stride2(const Conv2dParams& p) {
  constexpr int64_t L = cpu::kStride2Lanes;
  const int64_t lanes = L * ((p.out_w + L - 1) / L);
  return stride2_table().sum != nullptr && p.kernel_h == 3 && p.kernel_w == 3 &&
         p.stride_h == 2 && p.stride_w == 2 && p.dilation_h == 1 && p.dilation_w == 1 &&
         p.pad_left <= 1 && 8 * p.out_w >= 7 * lanes;
}

void stride2_forward(float* y, const float* x, const float* w, const float* bias,
                     const Conv2dParams& p, Epilogue epilogue) {
  const int64_t M = multiplier(p);
  const cpu::Stride2Plane g = plane_of(p);
  const auto sum = stride2_table().sum;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t plane = 0; plane < p.batch * p.out_channels; ++plane) {
    const int64_t n = plane / p.out_channels, oc = plane % p.out_channels;
    float* out = y + plane * p.out_pixels();
    sum(out, x + (n * p.in_channels + oc / M) * p.in_pixels(), w + oc * 9,
        bias != nullptr ? bias[oc] : 0.0f, g);
    if (epilogue != Epilogue::kNone) finish_row(out, out, p.out_pixels(), 0.0f, epilogue);
  }
}

}  // namespace faltung::depthwise
