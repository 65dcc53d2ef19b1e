"""Normalization: batch_norm, local_response_norm (LRN) and the lecture's local contrast
normalization (LCN), forward and backward.

Every input is read as (N, C, S): N images, C channels, S = the product of the remaining sizes
(1 for a 2-D (N, C) batch, H*W for NCHW). This module is the Python side of the validation (the
C++ twin is make_*_params in cpp/include/faltung/norm.hpp); backends receive the shape as the
tuple (N, C, S) and trust it.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backends
from .._params import positive_int
from .._validation import as_float_array, check_shape, flag_triple, out_triple, output, same_dtype


def _input(x, min_ndim: int, name: str = "input"):
    """x as a C-contiguous float array of at least min_ndim dims, and its (N, C, S)."""
    x = as_float_array(x, name)
    if x.ndim < min_ndim:
        raise ValueError(f"{name}: expected at least {min_ndim} dimensions (N, C, ...), "
                         f"got {x.ndim}-D with shape {x.shape}")
    if 0 in x.shape:
        raise ValueError(f"{name}: expected every dimension >= 1, got shape {x.shape}")
    return x, (x.shape[0], x.shape[1], math.prod(x.shape[2:]))


def _result(out, x, name: str = "out"):
    """`out` (checked, and not overlapping x: the kernels read neighbours) or a new array."""
    y = output(out, x.shape, x.dtype, name)
    if out is not None and np.may_share_memory(y, x):
        raise ValueError(f"{name}: must not overlap the input")
    return y


def _grad(grad_out, x):
    """grad_out checked against x (dtype, shape)."""
    grad_out = as_float_array(grad_out, "grad_out")
    same_dtype(x, grad_out=grad_out)
    check_shape(grad_out, x.shape, "grad_out")
    return grad_out


def _no_overlap(gx, grad_out, name: str = "out"):
    if np.may_share_memory(gx, grad_out):
        raise ValueError(f"{name}: must not overlap grad_out")


def _number(value, name: str, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ValueError(f"{name}: expected a finite number{bound}, got {value!r}")
    return value


def _channel_vector(value, name: str, x: np.ndarray):
    """None, or a (C,) array of x's dtype (a contiguous copy if need be)."""
    if value is None:
        return None
    value = as_float_array(value, name, ndim=1)
    same_dtype(x, **{name: value})
    check_shape(value, (x.shape[1],), name)
    return value


def _saved(value, name: str, x: np.ndarray):
    """None, or saved statistics (C,) of either float dtype, as float64."""
    if value is None:
        return None
    value = as_float_array(value, name, ndim=1)
    check_shape(value, (x.shape[1],), name)
    return value.astype(np.float64)


def _running(value, name: str, x: np.ndarray):
    """A running statistic that training updates in place: (array to pass, array to write back
    into or None). A non-contiguous one is updated through a contiguous copy."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray updated in place, got "
                        f"{type(value).__name__}")
    _channel_vector(value, name, x)
    if not value.flags.writeable:
        raise ValueError(f"{name}: expected a writeable array (training updates it in place)")
    if value.flags.c_contiguous:
        return value, None
    return np.ascontiguousarray(value), value


# ------------------------------------------------------------------------------- batch norm

def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, *, out=None, return_stats=False):
    """Batch normalization of x (N, C, ...) per channel, torch.nn.functional.batch_norm's
    signature and semantics:

        y = (x - mean) / sqrt(var + eps) * weight + bias        (weight 1, bias 0 when None)

    training=True: mean and var are the batch statistics over N and the spatial positions (var
    biased, divided by the count M = N*H*W); running_mean and running_var (or both None) are
    updated IN PLACE as torch does: running = (1 - momentum) * running + momentum * statistic,
    with the UNBIASED variance var * M / (M - 1). M = 1 is refused (ValueError), as by torch.
    momentum=None (torch.nn.BatchNorm's cumulative average) is refused: it needs the number of
    batches seen, so pass momentum = 1 / num_batches_tracked instead.
    training=False: the running statistics normalise; nothing is updated.

    Statistics are two-pass (mean, then mean squared deviation) in double accumulators for
    float32 and float64. With return_stats=True the result is (y, mean, invstd): the batch
    statistics in training, running_mean and 1/sqrt(running_var + eps) in evaluation, as
    float64 arrays (C,) whatever x's dtype (a float32 mean would cost a large-mean channel its
    digits in the backward), ready for batch_norm_backward(save_mean=, save_invstd=).
    """
    x, shape = _input(x, 2)
    weight = _channel_vector(weight, "weight", x)
    bias = _channel_vector(bias, "bias", x)
    eps = _number(eps, "eps", minimum=0.0)
    y = _result(out, x)
    backend = backends.current()
    if training:
        if momentum is None:
            raise ValueError("momentum: None (a cumulative moving average) needs the number of "
                             "batches seen; pass momentum=1/num_batches_tracked, as "
                             "torch.nn.BatchNorm does")
        momentum = _number(momentum, "momentum")
        if shape[0] * shape[2] < 2:
            raise ValueError(f"input: expected more than 1 value per channel when training, got "
                             f"input shape {x.shape}")
        if (running_mean is None) != (running_var is None):
            raise ValueError("running_mean, running_var: expected both arrays or both None")
        rm = rv = write_mean = write_var = None
        if running_mean is not None:
            rm, write_mean = _running(running_mean, "running_mean", x)
            rv, write_var = _running(running_var, "running_var", x)
            if np.may_share_memory(rm, rv):
                raise ValueError("running_mean, running_var: must be separate arrays")
        mean = np.empty(shape[1])
        invstd = np.empty(shape[1])
        backend.batch_norm_forward_train(y, mean, invstd, rm, rv, x, weight, bias, shape, eps,
                                         momentum)
        for target, updated in ((write_mean, rm), (write_var, rv)):
            if target is not None:
                target[...] = updated
    else:
        if running_mean is None or running_var is None:
            raise ValueError("running_mean, running_var: required when training=False")
        rm = _channel_vector(running_mean, "running_mean", x)
        rv = _channel_vector(running_var, "running_var", x)
        backend.batch_norm_forward_eval(y, x, rm, rv, weight, bias, shape, eps)
        if return_stats:
            mean = rm.astype(np.float64)
            invstd = 1.0 / np.sqrt(rv.astype(np.float64) + eps)
    return (y, mean, invstd) if return_stats else y


def batch_norm_backward(grad_out, x, running_mean, running_var, weight=None, training=False,
                        eps=1e-5, *, save_mean=None, save_invstd=None,
                        needs_input_grad=(True, True, True), out=(None, None, None)):
    """Gradients of batch_norm with respect to (input, weight, bias), None for what was not
    asked for; weight None counts as ones (grad_weight is then still the gradient a weight of
    ones would get).

    training=True, through the batch statistics (xhat = (x - mean) * invstd, M values per channel):
        grad_bias = sum(g),  grad_weight = sum(g * xhat),
        grad_input = weight * invstd * (g - grad_bias / M - xhat * grad_weight / M).
    The statistics are save_mean/save_invstd from batch_norm(..., return_stats=True) when given
    (either float dtype; widened to float64), else recomputed from x (the same memory traffic,
    see docs/decisions.md); running_mean and running_var are not used and may be None.
    training=False, the affine map of the running statistics:
        grad_input = g * weight / sqrt(running_var + eps), the same grad_weight and grad_bias.
    """
    x, shape = _input(x, 2)
    grad_out = _grad(grad_out, x)
    weight = _channel_vector(weight, "weight", x)
    eps = _number(eps, "eps", minimum=0.0)
    want_x, want_w, want_b = flag_triple(needs_input_grad, "needs_input_grad")
    out_x, out_w, out_b = out_triple(out)
    if training:
        if shape[0] * shape[2] < 2:
            raise ValueError(f"input: expected more than 1 value per channel when training, got "
                             f"input shape {x.shape}")
        if (save_mean is None) != (save_invstd is None):
            raise ValueError("save_mean, save_invstd: expected both arrays or both None")
        stat1 = _saved(save_mean, "save_mean", x)
        stat2 = _saved(save_invstd, "save_invstd", x)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("running_mean, running_var: required when training=False")
        stat1 = _channel_vector(running_mean, "running_mean", x)
        stat2 = _channel_vector(running_var, "running_var", x)
    gx = _result(out_x, x, "out[0]") if want_x else None
    if gx is not None:
        _no_overlap(gx, grad_out, "out[0]")
    gw = output(out_w, (shape[1],), x.dtype, "out[1]") if want_w else None
    gb = output(out_b, (shape[1],), x.dtype, "out[2]") if want_b else None
    if gx is not None or gw is not None or gb is not None:
        backends.current().batch_norm_backward(bool(training), gx, gw, gb, grad_out, x, stat1,
                                               stat2, weight, shape, eps)
    return gx, gw, gb


# ---------------------------------------------------------------------- local response norm

def _lrn_args(x, size, alpha, beta, k):
    x, shape = _input(x, 3)
    return (x, shape, positive_int(size, "size"), _number(alpha, "alpha"), _number(beta, "beta"),
            _number(k, "k"))


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0, *, out=None):
    """Local response normalization across channels, torch.nn.functional.local_response_norm's
    semantics, for x (N, C, ...) of at least 3 dimensions:

        y_c = x_c / (k + alpha/size * sum_{j=c-size//2}^{c+(size-1)//2} x_j^2) ** beta

    with x_j = 0 outside [0, C) (zero padding at the channel edges; for an even size the window
    reaches one channel further down than up, as torch pads size//2 before and (size-1)//2
    after). alpha is divided by size (torch's convention). The AlexNet paper (Krizhevsky et al.
    2012) divides by nothing: its k=2, n=5, alpha=1e-4, beta=0.75 are
    local_response_norm(x, size=5, alpha=5e-4, beta=0.75, k=2.0), i.e. alpha = 1e-4 * 5 (its
    window, i-n/2 .. i+n/2 clipped to the channels, is the same for odd n).
    """
    x, shape, size, alpha, beta, k = _lrn_args(x, size, alpha, beta, k)
    y = _result(out, x)
    backends.current().lrn(y, None, x, shape, size, alpha, beta, k)
    return y


def local_response_norm_backward(grad_out, x, size, alpha=1e-4, beta=0.75, k=1.0, *, out=None):
    """Gradient of local_response_norm with respect to its input (d_c the denominator's base):

        grad_x_i = g_i d_i^-beta
                   - (2 alpha beta / size) x_i sum_{c: i in window(c)} g_c x_c d_c^(-beta-1)
    """
    x, shape, size, alpha, beta, k = _lrn_args(x, size, alpha, beta, k)
    grad_out = _grad(grad_out, x)
    gx = _result(out, x)
    _no_overlap(gx, grad_out)
    backends.current().lrn(gx, grad_out, x, shape, size, alpha, beta, k)
    return gx


# ---------------------------------------------------------------------- local contrast norm

def _lcn_args(x, eps):
    x, shape = _input(x, 2)
    if shape[1] < 2:
        raise ValueError(f"input: expected at least 2 channels (the variance divides by C - 1), "
                         f"got shape {x.shape}")
    return x, shape, _number(eps, "eps", minimum=0.0)


def local_contrast_norm(x, eps=1e-5, *, out=None):
    """The lecture's local contrast normalization (seed 000, "Lokale Kontrastadaption"): at each
    position (n, h, w) the vector of the C channel values is scaled to unit variance,

        y_c = x_c / sqrt(sum_{c'} x_{c'}^2 / (C - 1) + eps),

    the notes' a^l_{x,y,z} = a^{l-1}_{x,y,z} / sqrt(1/(p-1) sum_z (a^{l-1}_{x,y,z})^2) with p = C
    channels: no mean is subtracted (the formula has none) and eps (not in the notes) keeps an
    all-zero vector finite. x is (N, C, ...) with C >= 2.
    """
    x, shape, eps = _lcn_args(x, eps)
    y = _result(out, x)
    backends.current().lcn(y, None, x, shape, eps)
    return y


def local_contrast_norm_backward(grad_out, x, eps=1e-5, *, out=None):
    """Gradient of local_contrast_norm with respect to its input (r = the scale of the position):

        grad_x_i = g_i r - x_i r^3 / (C - 1) * sum_c g_c x_c
    """
    x, shape, eps = _lcn_args(x, eps)
    grad_out = _grad(grad_out, x)
    gx = _result(out, x)
    _no_overlap(gx, grad_out)
    backends.current().lcn(gx, grad_out, x, shape, eps)
    return gx
