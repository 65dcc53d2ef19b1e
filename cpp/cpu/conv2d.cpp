// conv2d forward and backward (faltung/conv2d.hpp), NCHW / OIHW, groups: the entry points,
// each choosing a variant (conv2d_work.hpp):
//   forward:      GEMM on a padded copy of the input, read in place (wide images) or gathered
//                 into packed panels (small images, many channels).
//   grad input:   stride 1 (unless the output is far smaller than the input): the forward
//                 convolution of grad_y, padded by dilation*(k-1) - pad,
//                 with the kernel rotated by 180 degrees and its in/out channels swapped (no
//                 col2im); strided: W^T . dY and col2im.
//   grad weight:  indirect GEMM, the padded input read in place.
//   grad bias:    sum of grad_y per channel.
// float32 layers with few output channels and a batch of 16 or more images take the direct
// convolution instead (conv2d_direct.hpp), forward and grad weight, where this CPU has it.
#include "faltung/conv2d.hpp"

#include <type_traits>

#include "conv2d_direct.hpp"
#include "conv2d_work.hpp"

namespace faltung {
namespace {

// The rotated kernel as a plain array for the direct convolution (few output channels, so a
// small copy): w'[g][c][o][i][j] = w[g * og + o][c][kh-1-i][kw-1-j], on this thread's scratch.
template <class T>
const T* rotated_weight(const T* w, const Conv2dParams& p) {
  const int64_t og = p.out_channels_per_group(), cg = p.in_channels_per_group();
  const int64_t area = p.kernel_h * p.kernel_w;
  const auto count = static_cast<size_t>(p.out_channels * cg * area);
  T* rotated = workspace_as<T>(Slot::DirectRotated, count);
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t o = 0; o < og; ++o) {
        const T* src = w + ((g * og + o) * cg + c) * area;
        T* dst = rotated + ((g * cg + c) * og + o) * area;
        for (int64_t t = 0; t < area; ++t) dst[t] = src[area - 1 - t];
      }
  return rotated;
}

// The rotated kernel of a stride-1 input gradient as the GEMM's packed A (gemm.hpp), packed
// straight from w (no rotated copy): the forward convolution of grad_y takes the weight
// w'[g][c][o][t] = w[g * og + o][c][area - 1 - t], M = cg rows c, K = og * area columns (o, t).
// The threads take K blocks: a block's panels read the same few output channels of w (for
// each o, a panel's rows are mr x area contiguous values). Panel by panel over all of K, each
// panel swept the whole weight: 4x slower than the rotated copy and its packing together.
template <class T>
conv::ConvWeight<T> pack_rotated_weight(const T* w, const Conv2dParams& p) {
  const int64_t og = p.out_channels_per_group(), cg = p.in_channels_per_group();
  const int64_t area = p.kernel_h * p.kernel_w, depth = og * area, mr = gemm_blocking<T>().mr;
  const int64_t m_pad = conv::round_up(cg, mr), kc_max = gemm_k_block<T>(depth);
  const int64_t stride = packed_a_size<T>(cg, depth), blocks = conv::ceil_div(depth, kc_max);
  T* packed = workspace_as<T>(Slot::PackA, static_cast<size_t>(stride * p.groups));
  conv::parallel_for(p.groups * blocks, [&](int64_t index) {
    const int64_t g = index / blocks, pc = index % blocks * kc_max;
    const int64_t kc = std::min(kc_max, depth - pc);
    for (int64_t ip = 0; ip < m_pad / mr; ++ip) {
      const int64_t rows = std::min(mr, cg - ip * mr);
      const T* src = w + (g * og * cg + ip * mr) * area;  // row 0 of the panel, o = 0
      T* dst = packed + g * stride + pc * m_pad + ip * kc * mr;
      for (int64_t k = 0, o = pc / area, t = pc % area; k < kc; ++k, dst += mr) {
        const T* column = src + o * cg * area + area - 1 - t;
        for (int64_t i = 0; i < rows; ++i) dst[i] = column[i * area];
        std::fill(dst + rows, dst + mr, T(0));
        if (++t == area) {
          t = 0;
          ++o;
        }
      }
    }
  });
  return {packed, stride};
}

// Below this many output channels per group the weight gradient puts the taps, not the output
// channels, along the vectors (LeNet's conv1: 6 output channels would fill 6 of 32 lanes).
constexpr int64_t kFewOutputChannels = 16;

// Above this ratio of input to output pixels the stride-1 input gradient takes col2im (measured
// on LeNet's layers: C5, ratio 25: 1.82 -> 0.37 ms; C3, ratio 1.96: 0.58 -> 0.88 ms, kept).
constexpr int64_t kMostlyPadding = 4;

}  // namespace

template <class T>
void conv2d_forward(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p,
                    Epilogue epilogue) {
  if constexpr (std::is_same_v<T, float>)
    if (conv::use_direct_forward(p)) return conv::forward_direct(y, x, w, bias, p, epilogue);
  if (conv::choose_forward<T>(p) == conv::ForwardVariant::kIndirect)
    conv::forward_indirect(y, x, conv::pack_weights(w, false, p), bias, p, epilogue);
  else
    conv::forward_gathered(y, x, conv::ConvWeight<T>{nullptr, 0, w}, bias, p, epilogue);
}

template <class T>
void conv2d_backward_input(T* grad_x, const T* grad_y, const T* w, const Conv2dParams& p) {
  // The rotated-kernel form computes every input pixel from the zero-padded grad_y: when the
  // output is much smaller than the input (LeNet's C5: 5x5 -> 1x1) most of its products hit
  // padding, and W^T . dY + col2im does 1/25th of the work there.
  if (p.stride_h != 1 || p.stride_w != 1 || p.in_pixels() > kMostlyPadding * p.out_pixels())
    return conv::backward_input_col2im(grad_x, grad_y, w, p);
  // grad_x = conv(grad_y, w') with w'[g][c][o][i][j] = w[g * og + o][c][kh-1-i][kw-1-j]:
  // output pixel (ih, iw) gathers grad_y at (ih + pad_top - i' * dh, ...) over the taps.
  Conv2dParams q = p;
  q.in_channels = p.out_channels;
  q.in_h = p.out_h;
  q.in_w = p.out_w;
  q.out_channels = p.in_channels;
  q.out_h = p.in_h;
  q.out_w = p.in_w;
  q.pad_top = p.dilation_h * (p.kernel_h - 1) - p.pad_top;
  q.pad_bottom = p.dilation_h * (p.kernel_h - 1) - p.pad_bottom;
  q.pad_left = p.dilation_w * (p.kernel_w - 1) - p.pad_left;
  q.pad_right = p.dilation_w * (p.kernel_w - 1) - p.pad_right;
  const T* no_bias = nullptr;
  if constexpr (std::is_same_v<T, float>)
    if (conv::use_direct_forward(q))
      return conv::forward_direct(grad_x, grad_y, rotated_weight(w, p), no_bias, q,
                                  Epilogue::kNone);
  // The gathered variant reads the rotated kernel in place; the other needs it packed.

  if (conv::choose_forward<T>(q) == conv::ForwardVariant::kIndirect)
    conv::forward_indirect(grad_x, grad_y, pack_rotated_weight(w, p), no_bias, q, Epilogue::kNone);
  else
    conv::forward_gathered(grad_x, grad_y, conv::ConvWeight<T>{nullptr, 0, w, true}, no_bias, q,
                           Epilogue::kNone);
}

template <class T>
void conv2d_backward_weight(T* grad_w, const T* grad_y, const T* x, const Conv2dParams& p) {
  if constexpr (std::is_same_v<T, float>)
    if (conv::use_direct_weight(p)) return conv::backward_weight_direct(grad_w, grad_y, x, p);
  if (p.out_channels_per_group() < kFewOutputChannels)
    conv::backward_weight_gathered(grad_w, grad_y, x, p);
  else
    conv::backward_weight_indirect(grad_w, grad_y, x, p);
}

template <class T>
void conv2d_backward_bias(T* grad_b, const T* grad_y, const Conv2dParams& p) {
  const int64_t pixels = p.out_pixels();
  // kLanes independent partial sums: the compiler keeps them in vector registers (a single
  // running sum is one dependent add per element and never vectorises without reassociation).
  constexpr int64_t kLanes = 32;
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t o = 0; o < p.out_channels; ++o) {
    T lanes[kLanes] = {};
    T tail = T(0);
    for (int64_t n = 0; n < p.batch; ++n) {
      const T* row = grad_y + (n * p.out_channels + o) * pixels;
      int64_t j = 0;
      for (; j + kLanes <= pixels; j += kLanes)
        for (int64_t l = 0; l < kLanes; ++l) lanes[l] += row[j + l];
      for (; j < pixels; ++j) tail += row[j];
    }
    for (int64_t l = 0; l < kLanes; ++l) tail += lanes[l];
    grad_b[o] = tail;
  }
}

#define FALTUNG_INSTANTIATE_CONV2D(T)                                                      \
  template void conv2d_forward<T>(T*, const T*, const T*, const T*, const Conv2dParams&,      \
                                  Epilogue);  \
  template void conv2d_backward_input<T>(T*, const T*, const T*, const Conv2dParams&);     \
  template void conv2d_backward_weight<T>(T*, const T*, const T*, const Conv2dParams&);    \
  template void conv2d_backward_bias<T>(T*, const T*, const Conv2dParams&);
FALTUNG_INSTANTIATE_CONV2D(float)
FALTUNG_INSTANTIATE_CONV2D(double)

}  // namespace faltung
