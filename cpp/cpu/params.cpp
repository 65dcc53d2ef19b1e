// make_conv2d_params: validation and output-size derivation for a 2-D convolution.
#include "faltung/params.hpp"

#include <stdexcept>
#include <string>

namespace faltung {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

Conv2dParams make_conv2d_params(int64_t batch, int64_t in_channels, int64_t in_h, int64_t in_w,
                                int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                                int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                int64_t pad_bottom, int64_t pad_left, int64_t pad_right,
                                int64_t dilation_h, int64_t dilation_w, int64_t groups) {
  require(batch >= 1 && in_channels >= 1 && in_h >= 1 && in_w >= 1,
          "input: expected every dimension >= 1, got (" + str(batch) + ", " + str(in_channels) +
              ", " + str(in_h) + ", " + str(in_w) + ")");
  require(out_channels >= 1 && kernel_h >= 1 && kernel_w >= 1,
          "weight: expected out_channels, kh, kw >= 1, got " + str(out_channels) + ", " +
              str(kernel_h) + ", " + str(kernel_w));
  require(stride_h >= 1 && stride_w >= 1,
          "stride: expected positive values, got (" + str(stride_h) + ", " + str(stride_w) + ")");
  require(dilation_h >= 1 && dilation_w >= 1, "dilation: expected positive values, got (" +
                                                  str(dilation_h) + ", " + str(dilation_w) + ")");
  require(pad_top >= 0 && pad_bottom >= 0 && pad_left >= 0 && pad_right >= 0,
          "padding: expected non-negative values");
  require(groups >= 1, "groups: expected a positive int, got " + str(groups));
  require(in_channels % groups == 0 && out_channels % groups == 0,
          "groups: in_channels (" + str(in_channels) + ") and out_channels (" +
              str(out_channels) + ") must be divisible by groups (" + str(groups) + ")");
  const int64_t eff_h = dilation_h * (kernel_h - 1) + 1, eff_w = dilation_w * (kernel_w - 1) + 1;
  const int64_t padded_h = in_h + pad_top + pad_bottom, padded_w = in_w + pad_left + pad_right;
  require(eff_h <= padded_h && eff_w <= padded_w,
          "weight: kernel (dilated size " + str(eff_h) + "x" + str(eff_w) +
              ") is larger than the padded input (" + str(padded_h) + "x" + str(padded_w) + ")");
  Conv2dParams p{batch,    in_channels, in_h,       in_w,       out_channels, kernel_h,
                 kernel_w, stride_h,    stride_w,   pad_top,    pad_bottom,   pad_left,
                 pad_right, dilation_h, dilation_w, groups,     0,            0};
  p.out_h = (padded_h - eff_h) / stride_h + 1;
  p.out_w = (padded_w - eff_w) / stride_w + 1;
  return p;
}

}  // namespace faltung
