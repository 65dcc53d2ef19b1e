// make_pool2d_params / make_adaptive_pool2d_params: validation and output size of a pooling
// geometry (PyTorch's rules: padding at most half the dilated kernel, ceil_mode drops a window
// that would start in the right padding), and the per-axis window tables the kernels read.
#include <stdexcept>
#include <string>

#include "faltung/pool.hpp"

namespace faltung {
namespace {

// The message is built only on failure (building every message on every call was most of a
// small layer's fixed cost, docs/performance.md P20).
template <class Message>
void require(bool ok, Message message) {
  if (!ok) throw std::invalid_argument(message());
}

std::string str(int64_t v) { return std::to_string(v); }
std::string pair_str(int64_t a, int64_t b) { return "(" + str(a) + ", " + str(b) + ")"; }

int64_t output_size(int64_t in, int64_t eff, int64_t stride, int64_t pad_before,
                    int64_t pad_after, bool ceil_mode) {
  int64_t out = (in + pad_before + pad_after - eff + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_before) --out;
  return out;
}

}  // namespace

std::vector<AxisWindow> pool_axis_windows(const Pool2dParams& p, int axis) {
  const bool rows = axis == 0;
  const int64_t in = rows ? p.in_h : p.in_w, out = rows ? p.out_h : p.out_w;
  std::vector<AxisWindow> windows(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    AxisWindow& w = windows[static_cast<size_t>(o)];
    if (p.adaptive) {
      w.lo = o * in / out;
      w.hi = ((o + 1) * in + out - 1) / out;
      w.span = w.hi - w.lo;
      w.first_tap = 0;
      continue;
    }
    const int64_t k = rows ? p.kernel_h : p.kernel_w, s = rows ? p.stride_h : p.stride_w;
    const int64_t d = rows ? p.dilation_h : p.dilation_w;
    const int64_t before = rows ? p.pad_top : p.pad_left, after = rows ? p.pad_bottom : p.pad_right;
    const int64_t start = o * s - before, end = start + (k - 1) * d + 1;
    w.span = (end < in + after ? end : in + after) - start;
    w.first_tap = start < 0 ? (-start + d - 1) / d : 0;
    w.lo = start + w.first_tap * d;
    w.hi = end < in ? end : in;
  }
  return windows;
}

Pool2dParams make_pool2d_params(int64_t batch, int64_t channels, int64_t in_h, int64_t in_w,
                                int64_t kernel_h, int64_t kernel_w, int64_t stride_h,
                                int64_t stride_w, int64_t pad_top, int64_t pad_bottom,
                                int64_t pad_left, int64_t pad_right, int64_t dilation_h,
                                int64_t dilation_w, int64_t ceil_mode, int64_t count_include_pad,
                                int64_t divisor) {
  require(batch >= 1 && channels >= 1 && in_h >= 1 && in_w >= 1, [&] {
    return "input: expected every dimension >= 1, got (" + str(batch) + ", " + str(channels) +
           ", " + str(in_h) + ", " + str(in_w) + ")";
  });
  require(kernel_h >= 1 && kernel_w >= 1, [&] {
    return "kernel_size: expected positive values, got " + pair_str(kernel_h, kernel_w);
  });
  require(stride_h >= 1 && stride_w >= 1, [&] {
    return "stride: expected positive values, got " + pair_str(stride_h, stride_w);
  });
  require(dilation_h >= 1 && dilation_w >= 1, [&] {
    return "dilation: expected positive values, got " + pair_str(dilation_h, dilation_w);
  });
  const int64_t eff_h = dilation_h * (kernel_h - 1) + 1, eff_w = dilation_w * (kernel_w - 1) + 1;
  require(pad_top >= 0 && pad_bottom >= 0 && pad_left >= 0 && pad_right >= 0 &&
              2 * pad_top <= eff_h && 2 * pad_bottom <= eff_h && 2 * pad_left <= eff_w &&
              2 * pad_right <= eff_w,
          [&] {
            return "padding: expected 0 <= padding <= half the (dilated) kernel size " +
                   pair_str(eff_h / 2, eff_w / 2) + ", got (top, bottom, left, right) = (" +
                   str(pad_top) + ", " + str(pad_bottom) + ", " + str(pad_left) + ", " +
                   str(pad_right) + ")";
          });
  require(ceil_mode == 0 || ceil_mode == 1, [] { return "ceil_mode: expected 0 or 1"; });
  require(count_include_pad == 0 || count_include_pad == 1,
          [] { return "count_include_pad: expected 0 or 1"; });
  require(divisor >= 0,
          [&] { return "divisor_override: expected a positive int, got " + str(divisor); });
  const int64_t padded_h = in_h + pad_top + pad_bottom, padded_w = in_w + pad_left + pad_right;
  require(eff_h <= padded_h && eff_w <= padded_w, [&] {
    return "kernel_size: the (dilated) kernel " + str(eff_h) + "x" + str(eff_w) +
           " is larger than the padded input " + str(padded_h) + "x" + str(padded_w);
  });
  Pool2dParams p{batch,      channels,   in_h,      in_w,     kernel_h,  kernel_w,
                 stride_h,   stride_w,   pad_top,   pad_bottom, pad_left, pad_right,
                 dilation_h, dilation_w, ceil_mode, 0,        count_include_pad, divisor,
                 0,          0};
  p.out_h = output_size(in_h, eff_h, stride_h, pad_top, pad_bottom, ceil_mode != 0);
  p.out_w = output_size(in_w, eff_w, stride_w, pad_left, pad_right, ceil_mode != 0);
  // Only dilated taps can jump over the whole input (padding <= half the kernel and ceil_mode's
  // rule leave a real cell in every undilated window), so only dilated axes build the table
  // (as faltung/_pool_params.py does).
  for (int axis = 0; axis < 2; ++axis) {
    if ((axis == 0 ? dilation_h : dilation_w) == 1) continue;
    for (const AxisWindow& w : pool_axis_windows(p, axis))
      require(w.lo < w.hi, [&] {
        return std::string("dilation: a window along ") +
               (axis == 0 ? "the height" : "the width") +
               " holds only padding cells; reduce padding or dilation";
      });
  }
  return p;
}

Pool2dParams make_adaptive_pool2d_params(int64_t batch, int64_t channels, int64_t in_h,
                                         int64_t in_w, int64_t out_h, int64_t out_w) {
  require(batch >= 1 && channels >= 1 && in_h >= 1 && in_w >= 1, [&] {
    return "input: expected every dimension >= 1, got (" + str(batch) + ", " + str(channels) +
           ", " + str(in_h) + ", " + str(in_w) + ")";
  });
  require(out_h >= 1 && out_w >= 1, [&] {
    return "output_size: expected positive values, got " + pair_str(out_h, out_w);
  });
  return Pool2dParams{batch, channels, in_h, in_w, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0,
                      out_h, out_w};
}

}  // namespace faltung
