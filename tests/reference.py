"""Naive float64 NumPy references for the tests. Imports nothing from faltung.

Written straight from the formulas of the lecture notes (../shared/seeds/000_*.txt):

    cross-correlation  a(x, y) = sum_{x', y'} I(x + x', y + y') w(x', y')
    true convolution   a(x, y) = sum_{x', y'} I(x - x', y - y') w(x', y')   (kernel flipped)
    backward           delta^{l-1} = delta^l * w,  dC/dw = a^{l-1} (x) delta^l,  dC/db = sum delta

generalised the usual way to NCHW batches, OIHW weights, stride s, dilation d, zero padding and
groups: output pixel (oy, ox) reads input pixel (oy*s + i*d, ox*s + j*d) of the zero-padded image.
Each function loops over the kernel taps (i, j) and does one small einsum over a strided window of
the padded input; nothing is clever. Padding is always passed here as explicit sides
``pads = (top, bottom, left, right)``; the tests translate faltung's padding arguments themselves.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "conv2d", "convolve2d", "conv2d_backward", "convolve2d_backward",
    "conv_transpose2d", "conv_transpose2d_backward", "gemm",
    "conv_out_size", "same_pads", "api_pads", "conv_transpose_out_size",
    "pool_out_size", "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "adaptive_avg_pool2d", "lp_pool2d",
    "batch_norm", "batch_norm_backward", "local_response_norm", "local_response_norm_alexnet",
    "local_response_norm_backward", "local_contrast_norm", "local_contrast_norm_backward",
    "depthwise_conv2d", "depthwise_conv2d_backward", "separable_conv2d",
    "separable_conv2d_backward",
]


def _f64(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


def _pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _sides(pads):
    """int, (ph, pw) or (top, bottom, left, right) -> (top, bottom, left, right)."""
    if isinstance(pads, (tuple, list)) and len(pads) == 4:
        return tuple(int(p) for p in pads)
    ph, pw = _pair(pads)
    return ph, ph, pw, pw


def conv_out_size(size, kernel, stride, pad_before, pad_after, dilation):
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def same_pads(size, kernel, stride, dilation):
    """TensorFlow's 'same': out = ceil(size / stride), total padding split with the odd pixel at
    the end. Returns (before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def api_pads(padding, h, w, kh, kw, stride=1, dilation=1):
    """faltung's `padding` argument (docs/api.md) -> explicit (top, bottom, left, right):
    int; (ph, pw); (left, right, top, bottom) in torch.nn.functional.pad's order;
    ((top, bottom), (left, right)) as Keras writes it; "valid"; "same" (TensorFlow's rule)."""
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        assert padding == "same"
        return same_pads(h, kh, sh, dh) + same_pads(w, kw, sw, dw)
    if isinstance(padding, int):
        return padding, padding, padding, padding
    if len(padding) == 2 and isinstance(padding[0], (tuple, list)):
        (top, bottom), (left, right) = padding
        return top, bottom, left, right
    if len(padding) == 2:
        return padding[0], padding[0], padding[1], padding[1]
    left, right, top, bottom = padding
    return top, bottom, left, right


def conv_transpose_out_size(size, kernel, stride, padding, output_padding, dilation):
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _pad(x, top, bottom, left, right):
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + top + bottom, w + left + right))
    xp[:, :, top:top + h, left:left + w] = x
    return xp


def _window(xp, i, j, oh, ow, sh, sw, dh, dw):
    """The padded-input pixels that kernel tap (i, j) meets, for every output pixel: (N, C, oh, ow)."""
    return xp[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]


def conv2d(x, weight, bias=None, stride=1, pads=0, dilation=1, groups=1):
    """Cross-correlation: y[n, o, oy, ox] = b[o] + sum_{c, i, j} xpad[n, g*Cg + c, oy*sh + i*dh,
    ox*sw + j*dw] * w[o, c, i, j], where g = o // (O / groups)."""
    x, weight, bias = _f64(x), _f64(weight), _f64(bias)
    n, c, h, w_ = x.shape
    o, cg, kh, kw = weight.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, bottom, left, right = _sides(pads)
    assert c == cg * groups and o % groups == 0
    oh = conv_out_size(h, kh, sh, top, bottom, dh)
    ow = conv_out_size(w_, kw, sw, left, right, dw)
    xp = _pad(x, top, bottom, left, right)
    og = o // groups
    y = np.zeros((n, o, oh, ow))
    for g in range(groups):
        xg = xp[:, g * cg:(g + 1) * cg]
        wg = weight[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                y[:, g * og:(g + 1) * og] += np.einsum(
                    "nchw,oc->nohw", _window(xg, i, j, oh, ow, sh, sw, dh, dw), wg[:, :, i, j])
    if bias is not None:
        y += bias[None, :, None, None]
    return y


def convolve2d(x, weight, bias=None, stride=1, pads=0, dilation=1, groups=1):
    """True convolution: the kernel mirrored in both spatial axes, then correlated."""
    return conv2d(x, _f64(weight)[:, :, ::-1, ::-1], bias, stride, pads, dilation, groups)


def conv2d_backward(grad_out, x, weight, stride=1, pads=0, dilation=1, groups=1):
    """Gradients of sum(grad_out * conv2d(x, weight, b)) w.r.t. x, weight and b.

    grad_x: every output pixel scatters grad_out[n, o] * w[o, c, i, j] back to the input pixel it
    read (delta^{l-1} = delta^l * w); grad_w[o, c, i, j] = sum_{n, oy, ox} grad_out[n, o, oy, ox]
    * xpad[n, c, oy*sh + i*dh, ox*sw + j*dw] (a^{l-1} (x) delta^l); grad_b = sum of delta."""
    gy, x, weight = _f64(grad_out), _f64(x), _f64(weight)
    n, c, h, w_ = x.shape
    o, cg, kh, kw = weight.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, bottom, left, right = _sides(pads)
    oh, ow = gy.shape[2:]
    assert oh == conv_out_size(h, kh, sh, top, bottom, dh)
    assert ow == conv_out_size(w_, kw, sw, left, right, dw)
    xp = _pad(x, top, bottom, left, right)
    gxp = np.zeros_like(xp)
    gw = np.zeros_like(weight)
    og = o // groups
    for g in range(groups):
        cs, os_ = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
        for i in range(kh):
            for j in range(kw):
                win = (slice(None), cs,
                       slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                       slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))
                gxp[win] += np.einsum("nohw,oc->nchw", gy[:, os_], weight[os_, :, i, j])
                gw[os_, :, i, j] = np.einsum("nohw,nchw->oc", gy[:, os_], xp[win])
    gx = gxp[:, :, top:top + h, left:left + w_]
    gb = gy.sum(axis=(0, 2, 3))
    return gx, gw, gb


def convolve2d_backward(grad_out, x, weight, stride=1, pads=0, dilation=1, groups=1):
    """Gradients of the true convolution: the weight gradient comes back mirrored."""
    gx, gw, gb = conv2d_backward(grad_out, x, _f64(weight)[:, :, ::-1, ::-1], stride, pads,
                                 dilation, groups)
    return gx, gw[:, :, ::-1, ::-1].copy(), gb


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """PyTorch's conv_transpose2d, scatter form. weight (Cin, Cout/groups, kh, kw): input pixel
    (iy, ix) of channel g*Cig + ci adds x * w[g*Cig + ci, co, i, j] to output pixel
    (iy*sh - ph + i*dh, ix*sw - pw + j*dw) of channel g*Cog + co; pixels that fall outside the
    output are dropped."""
    x, weight, bias = _f64(x), _f64(weight), _f64(bias)
    n, cin, h, w_ = x.shape
    cin_w, cog, kh, kw = weight.shape
    assert cin_w == cin and cin % groups == 0
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    oph, opw = _pair(output_padding)
    dh, dw = _pair(dilation)
    oh = conv_transpose_out_size(h, kh, sh, ph, oph, dh)
    ow = conv_transpose_out_size(w_, kw, sw, pw, opw, dw)
    cig = cin // groups
    # full (uncropped) canvas, big enough for every scattered pixel and the output_padding rows
    full = np.zeros((n, cog * groups, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                     (w_ - 1) * sw + dw * (kw - 1) + 1 + opw))
    for g in range(groups):
        xs, os_ = slice(g * cig, (g + 1) * cig), slice(g * cog, (g + 1) * cog)
        for i in range(kh):
            for j in range(kw):
                full[:, os_, i * dh: i * dh + sh * (h - 1) + 1: sh,
                     j * dw: j * dw + sw * (w_ - 1) + 1: sw] += np.einsum(
                    "nchw,co->nohw", x[:, xs], weight[xs, :, i, j])
    y = full[:, :, ph:ph + oh, pw:pw + ow].copy()
    assert y.shape[2:] == (oh, ow)
    if bias is not None:
        y += bias[None, :, None, None]
    return y


def conv_transpose2d_backward(grad_out, x, weight, stride=1, padding=0, output_padding=0,
                              groups=1, dilation=1):
    """Gradients of sum(grad_out * conv_transpose2d(x, weight, b)): each output pixel gathers
    back along the same paths the forward pass scattered along."""
    gy, x, weight = _f64(grad_out), _f64(x), _f64(weight)
    n, cin, h, w_ = x.shape
    _, cog, kh, kw = weight.shape
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    oh, ow = gy.shape[2:]
    # place grad_out on the full canvas (output pixel p sits at canvas pixel p + pad)
    canvas = np.zeros((n, gy.shape[1], (h - 1) * sh + dh * (kh - 1) + 1 + oh,
                       (w_ - 1) * sw + dw * (kw - 1) + 1 + ow))
    canvas[:, :, ph:ph + oh, pw:pw + ow] = gy
    cig = cin // groups
    gx = np.zeros_like(x)
    gw = np.zeros_like(weight)
    for g in range(groups):
        xs, os_ = slice(g * cig, (g + 1) * cig), slice(g * cog, (g + 1) * cog)
        for i in range(kh):
            for j in range(kw):
                win = canvas[:, os_, i * dh: i * dh + sh * (h - 1) + 1: sh,
                             j * dw: j * dw + sw * (w_ - 1) + 1: sw]
                gx[:, xs] += np.einsum("nohw,co->nchw", win, weight[xs, :, i, j])
                gw[xs, :, i, j] = np.einsum("nchw,nohw->co", x[:, xs], win)
    gb = gy.sum(axis=(0, 2, 3))
    return gx, gw, gb


def gemm(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """alpha * op(a) @ op(b) + beta * c in float64 (c is not read when beta == 0, as in BLAS)."""
    a, b = _f64(a), _f64(b)
    a = a.T if trans_a else a
    b = b.T if trans_b else b
    m, k = a.shape
    k2, n = b.shape
    assert k == k2
    out = np.zeros((m, n))
    for p in range(k):  # a sum of K outer products, accumulated in float64
        out += np.outer(a[:, p], b[p, :])
    out *= alpha
    if beta != 0:
        out += beta * _f64(c)
    return out



# --------------------------------------------------------------------------------------- pooling
# Written from the lecture's formulas (000_*.txt, "Unterschiedliche Poolingtypen"): over the pool
# N of each output neuron, max pooling a = max{a'}, average pooling a = (1/|N|) sum a', L2 pooling
# a = sqrt(sum a'^2); generalised the PyTorch way to NCHW batches, stride, dilation, padding
# (pads = (top, bottom, left, right)) and ceil_mode. Each output pixel is one explicit loop over
# its window's taps in row-major order.

def pool_out_size(size, kernel, stride, before, after, dilation=1, ceil_mode=False):
    """PyTorch's rule: floor (or ceil) of (size + pads - dilated kernel) / stride, + 1; with
    ceil_mode a last window that would start inside the right padding is dropped."""
    eff = dilation * (kernel - 1) + 1
    span = size + before + after - eff
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + before:
        out -= 1
    return out


def _pool_taps(size, kernel, stride, before, after, dilation, ceil_mode):
    """For each output index: (the input positions of its kernel taps, in kernel order, padding
    positions included as out-of-range values; the count of taps inside the padded input)."""
    out = pool_out_size(size, kernel, stride, before, after, dilation, ceil_mode)
    result = []
    for o in range(out):
        taps = [o * stride - before + k * dilation for k in range(kernel)]
        result.append((taps, sum(1 for t in taps if t < size + after)))
    return result


def max_pool2d(x, kernel, stride=None, pads=0, dilation=1, ceil_mode=False):
    """(values, int64 indices h*W + w within each plane). Padding is -inf; a NaN always wins (so
    the last NaN of a window); otherwise a tap wins only if strictly greater than the running
    maximum (ties keep the first tap). The running maximum starts at -inf with the index of the
    window's first real tap."""
    x = _f64(x)
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride if stride is not None else kernel)
    dh, dw = _pair(dilation)
    top, bottom, left, right = _sides(pads)
    n, c, h, w = x.shape
    rows = _pool_taps(h, kh, sh, top, bottom, dh, ceil_mode)
    cols = _pool_taps(w, kw, sw, left, right, dw, ceil_mode)
    y = np.empty((n, c, len(rows), len(cols)))
    idx = np.empty((n, c, len(rows), len(cols)), dtype=np.int64)
    for b in range(n):
        for ch in range(c):
            for oy, (ry, _) in enumerate(rows):
                for ox, (rx, _) in enumerate(cols):
                    real = [(i, j) for i in ry for j in rx if 0 <= i < h and 0 <= j < w]
                    best, arg = -np.inf, real[0][0] * w + real[0][1]
                    for i, j in real:
                        v = x[b, ch, i, j]
                        if v > best or np.isnan(v):
                            best, arg = v, i * w + j
                    y[b, ch, oy, ox], idx[b, ch, oy, ox] = best, arg
    return y, idx


def max_pool2d_backward(grad_out, x_shape, indices):
    """Each gradient goes to the input cell its index names; cells named twice add up."""
    gy = _f64(grad_out)
    n, c, h, w = x_shape
    gx = np.zeros((n, c, h * w))
    for b in range(n):
        for ch in range(c):
            for g, i in zip(gy[b, ch].ravel(), indices[b, ch].ravel()):
                gx[b, ch, i] += g
    return gx.reshape(n, c, h, w)


def _avg_windows(h, w, kernel, stride, pads, ceil_mode, count_include_pad, divisor_override):
    """[(oy, ox, [(i, j) real cells], divisor)] of average pooling (PyTorch's divisor)."""
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride if stride is not None else kernel)
    top, bottom, left, right = _sides(pads)
    rows = _pool_taps(h, kh, sh, top, bottom, 1, ceil_mode)
    cols = _pool_taps(w, kw, sw, left, right, 1, ceil_mode)
    out = []
    for oy, (ry, ny) in enumerate(rows):
        for ox, (rx, nx) in enumerate(cols):
            cells = [(i, j) for i in ry for j in rx if 0 <= i < h and 0 <= j < w]
            if divisor_override:
                div = divisor_override
            else:
                div = ny * nx if count_include_pad else len(cells)
            out.append((oy, ox, cells, div))
    return out, len(rows), len(cols)


def avg_pool2d(x, kernel, stride=None, pads=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    x = _f64(x)
    n, c, h, w = x.shape
    windows, oh, ow = _avg_windows(h, w, kernel, stride, pads, ceil_mode, count_include_pad,
                                   divisor_override)
    y = np.zeros((n, c, oh, ow))
    for oy, ox, cells, div in windows:
        y[:, :, oy, ox] = sum(x[:, :, i, j] for i, j in cells) / div
    return y


def avg_pool2d_backward(grad_out, x_shape, kernel, stride=None, pads=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """The lecture's rule: each gradient is spread over its pool with the factor 1/divisor."""
    gy = _f64(grad_out)
    n, c, h, w = x_shape
    windows, _, _ = _avg_windows(h, w, kernel, stride, pads, ceil_mode, count_include_pad,
                                 divisor_override)
    gx = np.zeros((n, c, h, w))
    for oy, ox, cells, div in windows:
        for i, j in cells:
            gx[:, :, i, j] += gy[:, :, oy, ox] / div
    return gx


def adaptive_avg_pool2d(x, output_size):
    """PyTorch's adaptive windows: rows floor(o*H/oh) .. ceil((o+1)*H/oh) - 1, likewise columns."""
    x = _f64(x)
    n, c, h, w = x.shape
    oh, ow = _pair(output_size)
    y = np.zeros((n, c, oh, ow))
    for oy in range(oh):
        r0, r1 = (oy * h) // oh, -(-((oy + 1) * h) // oh)
        for ox in range(ow):
            c0, c1 = (ox * w) // ow, -(-((ox + 1) * w) // ow)
            y[:, :, oy, ox] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return y


def lp_pool2d(x, norm_type, kernel, stride=None, pads=0, ceil_mode=False):
    """(sum over the window of x^p)^(1/p) (p = 2: the lecture's L2 pooling), padding cells 0,
    and PyTorch's factor kernel cells / cells inside the padded input on ceil_mode windows cut by
    the input's end (its lp_pool2d is avg_pool2d times the kernel's size)."""
    x = _f64(x)
    n, c, h, w = x.shape
    kh, kw = _pair(kernel)
    windows, oh, ow = _avg_windows(h, w, kernel, stride, pads, ceil_mode, True, None)
    y = np.zeros((n, c, oh, ow))
    with np.errstate(invalid="ignore"):
        for oy, ox, cells, div in windows:
            s = sum(x[:, :, i, j] ** norm_type for i, j in cells) * (kh * kw / div)
            y[:, :, oy, ox] = s ** (1.0 / norm_type)
    return y


# ------------------------------------------------------------------------------ normalization
# x is (N, C, ...); per channel the values x[:, c, ...] (batch norm), per position the vector
# x[n, :, pos] (LRN, LCN). Each loops over channels or positions and applies the formula.

def _channel_values(x, c):
    return x[:, c].reshape(-1)


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """Batch normalization (Ioffe & Szegedy 2015) with torch's running-stat rule.
    Returns (y, new_running_mean, new_running_var, mean, invstd); the running arrays are None
    when not given, and new ones are only computed in training."""
    x = _f64(x)
    channels = x.shape[1]
    y = np.empty_like(x)
    mean, invstd = np.empty(channels), np.empty(channels)
    new_mean = None if running_mean is None else _f64(running_mean).copy()
    new_var = None if running_var is None else _f64(running_var).copy()
    for c in range(channels):
        v = _channel_values(x, c)
        if training:
            m = v.sum() / v.size
            var = ((v - m) ** 2).sum() / v.size
            if new_mean is not None:
                new_mean[c] = (1 - momentum) * new_mean[c] + momentum * m
                new_var[c] = (1 - momentum) * new_var[c] + momentum * var * v.size / (v.size - 1)
        else:
            m, var = float(running_mean[c]), float(running_var[c])
        mean[c], invstd[c] = m, 1.0 / np.sqrt(var + eps)
        w = 1.0 if weight is None else float(weight[c])
        b = 0.0 if bias is None else float(bias[c])
        y[:, c] = (x[:, c] - m) * invstd[c] * w + b
    return y, new_mean, new_var, mean, invstd


def batch_norm_backward(gy, x, running_mean, running_var, weight, training, eps):
    """(grad_x, grad_weight, grad_bias) by the step-by-step chain rule of Ioffe & Szegedy
    (Algorithm 1's backward: d xhat, d var, d mean, then d x); eval mode: the affine map."""
    x, gy = _f64(x), _f64(gy)
    channels = x.shape[1]
    gx = np.empty_like(x)
    gw, gb = np.empty(channels), np.empty(channels)
    for c in range(channels):
        v, g = _channel_values(x, c), _channel_values(gy, c)
        w = 1.0 if weight is None else float(weight[c])
        if training:
            m = v.sum() / v.size
            var = ((v - m) ** 2).sum() / v.size
        else:
            m, var = float(running_mean[c]), float(running_var[c])
        xhat = (v - m) / np.sqrt(var + eps)
        gw[c], gb[c] = (g * xhat).sum(), g.sum()
        dxhat = g * w
        if training:
            dvar = (dxhat * (v - m)).sum() * -0.5 * (var + eps) ** -1.5
            dmean = (-dxhat / np.sqrt(var + eps)).sum() + dvar * (-2 * (v - m)).sum() / v.size
            dx = dxhat / np.sqrt(var + eps) + dvar * 2 * (v - m) / v.size + dmean / v.size
        else:
            dx = dxhat / np.sqrt(var + eps)
        gx[:, c] = dx.reshape(gx[:, c].shape)
    return gx, gw, gb


def _lrn_window(c, channels, size):
    """Channels in the window of channel c as torch pads it: size//2 before, (size-1)//2 after."""
    return range(max(0, c - size // 2), min(channels, c + (size - 1) // 2 + 1))


def _positions(x):
    """(N*P, C) matrix of the channel vectors of every position, and the inverse reshape."""
    moved = np.moveaxis(x, 1, -1)
    return moved.reshape(-1, x.shape[1]), lambda m: np.moveaxis(m.reshape(moved.shape), -1, 1)


def local_response_norm(x, size, alpha, beta, k):
    """torch's LRN: y_c = x_c / (k + alpha/size * sum_{j in window(c)} x_j^2)^beta."""
    vectors, back = _positions(_f64(x))
    channels = vectors.shape[1]
    y = np.empty_like(vectors)
    for c in range(channels):
        window = list(_lrn_window(c, channels, size))
        d = k + alpha / size * (vectors[:, window] ** 2).sum(axis=1)
        y[:, c] = vectors[:, c] / d ** beta
    return back(y)


def local_response_norm_alexnet(x, n, alpha, beta, k):
    """The AlexNet paper's formula (Krizhevsky et al. 2012, section 3.3):
    b_i = a_i / (k + alpha * sum_{j=max(0, i-n/2)}^{min(N-1, i+n/2)} a_j^2)^beta
    (no division by n)."""
    vectors, back = _positions(_f64(x))
    channels = vectors.shape[1]
    y = np.empty_like(vectors)
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        y[:, i] = vectors[:, i] / (k + alpha * (vectors[:, lo:hi + 1] ** 2).sum(axis=1)) ** beta
    return back(y)


def local_response_norm_backward(gy, x, size, alpha, beta, k):
    """grad_x = J^T g with the Jacobian of each position's channel map built entry by entry:
    dy_c/dx_i = [c == i] d_c^-beta - 2 beta alpha/size x_c x_i d_c^(-beta-1) [i in window(c)]."""
    vectors, back = _positions(_f64(x))
    grads, _ = _positions(_f64(gy))
    channels = vectors.shape[1]
    gx = np.empty_like(vectors)
    for p in range(vectors.shape[0]):
        v = vectors[p]
        jac = np.zeros((channels, channels))
        for c in range(channels):
            window = list(_lrn_window(c, channels, size))
            d = k + alpha / size * (v[window] ** 2).sum()
            jac[c, c] += d ** -beta
            for i in window:
                jac[c, i] -= 2 * beta * alpha / size * v[c] * v[i] * d ** (-beta - 1)
        gx[p] = jac.T @ grads[p]
    return back(gx)


def local_contrast_norm(x, eps):
    """The lecture's local contrast normalization (seed 000): at each position
    a_z = a_z / sqrt(1/(p-1) sum_z a_z^2), with eps added under the root."""
    vectors, back = _positions(_f64(x))
    p = vectors.shape[1]
    scale = np.sqrt((vectors ** 2).sum(axis=1) / (p - 1) + eps)
    return back(vectors / scale[:, None])


def local_contrast_norm_backward(gy, x, eps):
    """grad_x = J^T g, dy_c/dx_i = [c == i] r - x_c x_i r^3 / (p - 1), r = the position's scale."""
    vectors, back = _positions(_f64(x))
    grads, _ = _positions(_f64(gy))
    p = vectors.shape[1]
    gx = np.empty_like(vectors)
    for q in range(vectors.shape[0]):
        v = vectors[q]
        r = 1.0 / np.sqrt((v ** 2).sum() / (p - 1) + eps)
        jac = np.eye(p) * r - np.outer(v, v) * r ** 3 / (p - 1)
        gx[q] = jac.T @ grads[q]
    return back(gx)
# ------------------------------------------------------------------ depthwise and separable
# Depthwise: channel c of x meets kernels c*M .. c*M + M - 1 of weight (C*M, 1, kh, kw): a
# conv2d with groups = C (one input channel per group). Separable (Keras): depthwise, then a 1x1
# convolution y[n, o] = b[o] + sum_m pw[o, m] * t[n, m] over the C*M depthwise channels.

def depthwise_conv2d(x, weight, bias=None, stride=1, pads=0, dilation=1):
    return conv2d(x, weight, bias, stride, pads, dilation, groups=np.shape(x)[1])


def depthwise_conv2d_backward(grad_out, x, weight, stride=1, pads=0, dilation=1):
    return conv2d_backward(grad_out, x, weight, stride, pads, dilation, groups=np.shape(x)[1])


def separable_conv2d(x, depthwise_weight, pointwise_weight, bias=None, stride=1, pads=0,
                     dilation=1):
    t = depthwise_conv2d(x, depthwise_weight, None, stride, pads, dilation)
    y = np.einsum("om,nmhw->nohw", _f64(pointwise_weight)[:, :, 0, 0], t)
    if bias is not None:
        y += _f64(bias)[None, :, None, None]
    return y


def separable_conv2d_backward(grad_out, x, depthwise_weight, pointwise_weight, stride=1, pads=0,
                              dilation=1):
    """(grad_x, grad_depthwise, grad_pointwise, grad_bias): the chain rule through t."""
    gy, pw = _f64(grad_out), _f64(pointwise_weight)[:, :, 0, 0]
    t = depthwise_conv2d(x, depthwise_weight, None, stride, pads, dilation)
    g_pw = np.einsum("nohw,nmhw->om", gy, t)[:, :, None, None]
    grad_t = np.einsum("om,nohw->nmhw", pw, gy)
    gx, g_dw, _ = depthwise_conv2d_backward(grad_t, x, depthwise_weight, stride, pads, dilation)
    return gx, g_dw, g_pw, gy.sum(axis=(0, 2, 3))

if __name__ == "__main__":  # the lecture's worked examples, as a smoke test of this file
    img = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2],
                    [2, 0, 0, 0, 1]], float)[None, None]
    ker = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], float)[None, None]
    print(conv2d(img, ker)[0, 0])
    print(conv2d(img, ker, stride=2, pads=1)[0, 0])
