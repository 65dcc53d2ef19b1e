// 2-D pooling over NCHW planes: max (with PyTorch's flat per-plane int64 indices), average
// (ceil_mode, count_include_pad, divisor_override; adaptive windows), and Lp (power-average)
// pooling, forward and backward. Every (n, c) plane is independent: OpenMP splits the planes.
// Pool2dParams is the one place of pooling shape logic in C++ (make_pool2d_params and
// make_adaptive_pool2d_params validate and derive the output size; the kernels trust them). Its
// Python twin is python/faltung/_pool_params.py.
#pragma once
#include <cstdint>
#include <vector>

namespace faltung {

struct Pool2dParams {
  int64_t batch, channels, in_h, in_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w;
  int64_t pad_top, pad_bottom, pad_left, pad_right;
  int64_t dilation_h, dilation_w;
  int64_t ceil_mode;          // 0/1: only shapes the output size
  int64_t adaptive;           // 0/1: windows by PyTorch's adaptive rule (kernel/stride/pad unused)
  int64_t count_include_pad;  // 0/1: average pooling's divisor counts padding cells
  int64_t divisor;            // average pooling's divisor_override, 0 for none
  int64_t out_h, out_w;       // derived

  int64_t planes() const { return batch * channels; }
  int64_t in_pixels() const { return in_h * in_w; }
  int64_t out_pixels() const { return out_h * out_w; }
};

// The window of output index o along one axis. Taps are lo, lo + dilation, ... < hi (all of them
// real cells); `span` is the window's length inside the padded input (PyTorch's pool_size factor
// along this axis); first_tap is the kernel index of tap `lo`.
struct AxisWindow {
  int64_t lo, hi, span, first_tap;
};

// Windows of every output index of one axis (rows: axis 0, columns: axis 1).
std::vector<AxisWindow> pool_axis_windows(const Pool2dParams& p, int axis);

// Throws std::invalid_argument naming the argument, what was expected and what came.
Pool2dParams make_pool2d_params(int64_t batch, int64_t channels, int64_t in_h, int64_t in_w,
                                int64_t kernel_h, int64_t kernel_w, int64_t stride_h,
                                int64_t stride_w, int64_t pad_top, int64_t pad_bottom,
                                int64_t pad_left, int64_t pad_right, int64_t dilation_h,
                                int64_t dilation_w, int64_t ceil_mode, int64_t count_include_pad,
                                int64_t divisor);
Pool2dParams make_adaptive_pool2d_params(int64_t batch, int64_t channels, int64_t in_h,
                                         int64_t in_w, int64_t out_h, int64_t out_w);

// y = max over each window (padding is -inf; NaN wins; ties: the first tap in row-major window
// order). indices (may be null): flat h*in_w + w of the winner within its plane.
template <class T>
void max_pool2d_forward(T* y, int64_t* indices, const T* x, const Pool2dParams& p);
// grad_x = 0, then grad_x[plane][indices] += grad_y. Returns how many indices lay outside their
// plane (those are skipped; the caller reports them).
template <class T>
int64_t max_pool2d_backward(T* grad_x, const T* grad_y, const int64_t* indices,
                            const Pool2dParams& p);

// Average pooling (plain or adaptive windows): y = sum of the window's real cells / divisor.
template <class T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dParams& p);
template <class T>
void avg_pool2d_backward(T* grad_x, const T* grad_y, const Pool2dParams& p);

// Lp pooling: y = (f * sum x^p)^(1/p), f = kernel_h*kernel_w / (span_h*span_w) (PyTorch's
// avg-pool-based definition: 1 except for ceil_mode windows cut by the input's end).
// Backward: grad_x += grad_y * y / sum * x^(p-1), and 0 where the window's sum is 0.
template <class T>
void lp_pool2d_forward(T* y, const T* x, double norm_type, const Pool2dParams& p);
template <class T>
void lp_pool2d_backward(T* grad_x, const T* grad_y, const T* x, double norm_type,
                        const Pool2dParams& p);

}  // namespace faltung
