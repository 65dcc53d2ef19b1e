"""batch_norm and batch_norm_backward: float64 references from the formulas (tests/reference.py),
every backend, PyTorch (F.batch_norm with the running-stat update, autograd), central finite
differences, 2-D/3-D/4-D inputs, N = 1, out= and non-contiguous arguments."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close, central_differences, random_array

SHAPES = {
    "2d": (8, 3),
    "2d_odd_channels": (5, 7),
    "3d": (2, 3, 5),
    "4d": (2, 3, 4, 5),
    "4d_odd_channels": (3, 5, 3, 3),
    "4d_batch1": (1, 4, 3, 2),
    "4d_one_pixel": (6, 3, 1, 1),
    "4d_channel_blocks": (3, 37, 3, 5),  # short runs: 2 blocks of 16 channels + 5 (4 + 1)
    "4d_long_runs": (2, 3, 33, 33),       # runs over the short-run limit: channel by channel
}


def _arrays(rng, shape, dtype, affine=True):
    """x with a channel-dependent offset and scale, weight, bias, running stats."""
    c = shape[1]
    offset = rng.standard_normal(c) * 3
    per_channel = (1, c) + (1,) * (len(shape) - 2)
    x = (random_array(rng, shape, np.float64) * rng.uniform(0.5, 2, c).reshape(per_channel)
         + offset.reshape(per_channel)).astype(dtype)
    w = random_array(rng, (c,), dtype) if affine else None
    b = random_array(rng, (c,), dtype) if affine else None
    rm = random_array(rng, (c,), dtype)
    rv = rng.uniform(0.5, 2.0, c).astype(dtype)
    return x, w, b, rm, rv


def _count(shape):
    return int(np.prod(shape)) // shape[1]


# ------------------------------------------------------------------------------- forward

@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("name", list(SHAPES))
def test_forward_training(backend, dtype, rng, name, affine):
    shape = SHAPES[name]
    x, w, b, rm, rv = _arrays(rng, shape, dtype, affine)
    y_ref, rm_ref, rv_ref, mean_ref, invstd_ref = ref.batch_norm(x, rm, rv, w, b, True, 0.3, 1e-5)
    y, mean, invstd = faltung.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3,
                                         return_stats=True)
    assert_close(y, y_ref, dtype=dtype, what="y")
    assert_close(rm, rm_ref, dtype=dtype, what="running_mean")
    assert_close(rv, rv_ref, dtype=dtype, what="running_var")
    # float64 statistics, as exact as float64 sums of the float32 values allow
    assert_close(mean, mean_ref, dtype=np.float64, k=_count(shape), what="save_mean")
    assert_close(invstd, invstd_ref, dtype=np.float64, k=_count(shape), what="save_invstd")


@pytest.mark.parametrize("name", ["2d", "4d"])
def test_forward_training_without_running_stats(backend, dtype, rng, name):
    x, w, b, _, _ = _arrays(rng, SHAPES[name], dtype)
    y_ref = ref.batch_norm(x, None, None, w, b, True, 0.1, 1e-5)[0]
    assert_close(faltung.batch_norm(x, None, None, w, b, training=True), y_ref, dtype=dtype)


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("name", list(SHAPES))
def test_forward_eval(backend, dtype, rng, name, affine):
    x, w, b, rm, rv = _arrays(rng, SHAPES[name], dtype, affine)
    before = (rm.copy(), rv.copy())
    y_ref = ref.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-3)[0]
    y, mean, invstd = faltung.batch_norm(x, rm, rv, w, b, eps=1e-3, return_stats=True)
    assert_close(y, y_ref, dtype=dtype)
    assert_close(mean, rm, dtype=np.float64, kind="exact", what="mean = running_mean")
    assert_close(invstd, 1 / np.sqrt(rv.astype(np.float64) + 1e-3), dtype=np.float64,
                 what="invstd")
    assert np.array_equal(rm, before[0]) and np.array_equal(rv, before[1]), (
        "eval updated the running stats")


def test_statistics_survive_a_large_mean(backend, rng):
    """float32 values 1e4 +- 1: a one-pass E[x^2] - E[x]^2 in float32 loses every digit of the
    variance, and x - mean with the mean rounded to float32 is off by up to 5e-4; the two-pass
    double statistics and the split mean keep both, forward and backward."""
    x = (1e4 + rng.standard_normal((16, 2, 8, 8))).astype(np.float32)
    g = random_array(rng, x.shape, np.float32)
    y_ref, _, rv_ref, _, _ = ref.batch_norm(x, np.zeros(2), np.ones(2), None, None, True, 1.0, 0.0)
    rv = np.ones(2, np.float32)
    y, mean, invstd = faltung.batch_norm(x, np.zeros(2, np.float32), rv, training=True,
                                         momentum=1.0, eps=0.0, return_stats=True)
    assert mean.dtype == invstd.dtype == np.float64
    assert_close(rv, rv_ref, dtype=np.float32, what="running_var")
    assert_close(y, y_ref, dtype=np.float32, what="y")
    expected = ref.batch_norm_backward(g, x, None, None, None, True, 0.0)
    sw, sb = _grad_scales(g, x, x.shape)
    for stats in ({}, {"save_mean": mean, "save_invstd": invstd}):
        got = faltung.batch_norm_backward(g, x, None, None, None, True, 0.0, **stats)
        assert_close(got[0], expected[0], dtype=np.float32, k=x.size // 2, what="grad_input")
        assert_close(got[1], expected[1], dtype=np.float32, k=x.size // 2, scale=sw,
                     what="grad_weight")


# ------------------------------------------------------------------------------ backward

def _grad_scales(g, x, shape):
    """Natural sizes of the rounding errors of grad_weight / grad_bias: sums of |terms|."""
    axes = (0,) + tuple(range(2, len(shape)))
    xd = x.astype(np.float64)
    xhat = (xd - xd.mean(axes, keepdims=True)) / xd.std(axes, keepdims=True)
    return np.abs(g * xhat).sum(axes), np.abs(g.astype(np.float64)).sum(axes)


@pytest.mark.parametrize("saved", [True, False], ids=["saved_stats", "recomputed"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("name", list(SHAPES))
def test_backward_training(backend, dtype, rng, name, affine, saved):
    shape = SHAPES[name]
    x, w, b, rm, rv = _arrays(rng, shape, dtype, affine)
    g = random_array(rng, shape, dtype)
    expected = ref.batch_norm_backward(g, x, None, None, w, True, 1e-5)
    stats = {}
    if saved:
        _, stats["save_mean"], stats["save_invstd"] = faltung.batch_norm(
            x, None, None, w, b, training=True, return_stats=True)
    got = faltung.batch_norm_backward(g, x, None, None, w, training=True, **stats)
    sw, sb = _grad_scales(g, x, shape)
    k = _count(shape)
    assert_close(got[0], expected[0], dtype=dtype, k=k, what="grad_input")
    assert_close(got[1], expected[1], dtype=dtype, k=k, scale=sw, what="grad_weight")
    assert_close(got[2], expected[2], dtype=dtype, k=k, scale=sb, what="grad_bias")


@pytest.mark.parametrize("name", list(SHAPES))
def test_backward_eval(backend, dtype, rng, name):
    shape = SHAPES[name]
    x, w, _, rm, rv = _arrays(rng, shape, dtype)
    g = random_array(rng, shape, dtype)
    expected = ref.batch_norm_backward(g, x, rm, rv, w, False, 1e-5)
    got = faltung.batch_norm_backward(g, x, rm, rv, w)
    k = _count(shape)
    for a, e, what in zip(got, expected, ("grad_input", "grad_weight", "grad_bias")):
        assert_close(a, e, dtype=dtype, k=k, what=what)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("mask", list(itertools.product([False, True], repeat=3)),
                         ids=lambda m: "".join("xwb"[i] if v else "-" for i, v in enumerate(m)))
def test_needs_input_grad_mask(backend, rng, mask, training):
    x, w, _, rm, rv = _arrays(rng, SHAPES["4d"], np.float64)
    g = random_array(rng, x.shape, np.float64)
    expected = ref.batch_norm_backward(g, x, rm, rv, w, training, 1e-5)
    got = faltung.batch_norm_backward(g, x, rm, rv, w, training, needs_input_grad=mask)
    for wanted, a, e, what in zip(mask, got, expected, ("grad_input", "grad_weight", "grad_bias")):
        if wanted:
            assert_close(a, e, dtype=np.float64, what=what)
        else:
            assert a is None, f"{what} was not asked for but came back"


FD_SHAPES = {"2d": (4, 3), "4d": (2, 2, 2, 3), "4d_batch1": (1, 3, 2, 2)}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(FD_SHAPES))
def test_finite_differences(backend, rng, name, training):
    """Central differences of L = sum(g * batch_norm(x, w, b)) in float64, entry by entry."""
    x, w, b, rm, rv = _arrays(rng, FD_SHAPES[name], np.float64)
    g = random_array(rng, x.shape, np.float64)

    def loss():
        return float((g * faltung.batch_norm(x, rm.copy(), rv.copy(), w, b, training)).sum())

    analytic = faltung.batch_norm_backward(g, x, rm, rv, w, training)
    for which, (arr, grad) in enumerate(zip((x, w, b), analytic)):
        numeric = central_differences(loss, arr)
        assert_close(grad, numeric, dtype=np.float64, kind="fd",
                     what=("grad_input", "grad_weight", "grad_bias")[which])


# ---------------------------------------------------------------------------- API behaviour

@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1, 1), (1, 2, 1)], ids=["2d", "4d", "3d"])
def test_one_value_per_channel_refused_in_training(backend, shape):
    x = np.ones(shape)
    with pytest.raises(ValueError, match=r"input: expected more than 1 value per channel"):
        faltung.batch_norm(x, np.zeros(shape[1]), np.ones(shape[1]), training=True)
    with pytest.raises(ValueError, match=r"input: expected more than 1 value per channel"):
        faltung.batch_norm_backward(x, x, None, None, training=True)
    # evaluation normalises a single value per channel without complaint
    y = faltung.batch_norm(x, np.zeros(shape[1]), np.ones(shape[1]), eps=0.0)
    assert_close(y, np.ones(shape), dtype=np.float64)


def test_momentum_none_refused(backend):
    with pytest.raises(ValueError, match=r"momentum: None .*1/num_batches_tracked"):
        faltung.batch_norm(np.ones((4, 2)), np.zeros(2), np.ones(2), training=True, momentum=None)


def test_out(backend, dtype, rng):
    x, w, b, rm, rv = _arrays(rng, SHAPES["4d"], dtype)
    out = np.full(x.shape, np.nan, dtype)
    y = faltung.batch_norm(x, rm, rv, w, b, out=out)
    assert y is out
    assert_close(out, ref.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-5)[0], dtype=dtype)
    g = random_array(rng, x.shape, dtype)
    outs = (np.empty_like(x), np.empty_like(w), np.empty_like(w))
    got = faltung.batch_norm_backward(g, x, rm, rv, w, True, out=outs)
    assert all(a is o for a, o in zip(got, outs))
    expected = ref.batch_norm_backward(g, x, None, None, w, True, 1e-5)
    sw, sb = _grad_scales(g, x, x.shape)
    assert_close(got[0], expected[0], dtype=dtype, what="grad_input")
    assert_close(got[1], expected[1], dtype=dtype, scale=sw, what="grad_weight")
    assert_close(got[2], expected[2], dtype=dtype, scale=sb, what="grad_bias")


def test_out_must_not_overlap_input(backend):
    x = np.ones((2, 3, 2, 2))
    with pytest.raises(ValueError, match=r"out: must not overlap the input"):
        faltung.batch_norm(x, np.zeros(3), np.ones(3), out=x)


def test_noncontiguous_arguments(backend, rng):
    """Strided x, weight and running stats; the running stats are still updated in place."""
    big = random_array(rng, (4, 6, 5, 8), np.float64)
    x = big[:, ::2, :, ::2]
    w, b = random_array(rng, (6,), np.float64)[::2], random_array(rng, (6,), np.float64)[::2]
    rm_store, rv_store = np.zeros(6), np.ones(6)
    rm, rv = rm_store[::2], rv_store[::2]
    y_ref, rm_ref, rv_ref, _, _ = ref.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5)
    y = faltung.batch_norm(x, rm, rv, w, b, training=True)
    assert_close(y, y_ref, dtype=np.float64)
    assert_close(rm_store[::2], rm_ref, dtype=np.float64, what="running_mean")
    assert_close(rv_store[::2], rv_ref, dtype=np.float64, what="running_var")
    assert np.array_equal(rm_store[1::2], np.zeros(3))
    assert np.array_equal(rv_store[1::2], np.ones(3))
    g = random_array(rng, (4, 6, 5, 8), np.float64)[:, ::2, :, ::2]
    expected = ref.batch_norm_backward(g, x, None, None, w, True, 1e-5)
    for a, e in zip(faltung.batch_norm_backward(g, x, None, None, w, True), expected):
        assert_close(a, e, dtype=np.float64)


def test_inputs_not_modified(backend, rng):
    x, w, b, rm, rv = _arrays(rng, SHAPES["4d"], np.float64)
    g = random_array(rng, x.shape, np.float64)
    copies = [a.copy() for a in (x, w, b, rm, rv, g)]
    faltung.batch_norm(x, rm, rv, w, b)
    faltung.batch_norm(x, None, None, w, b, training=True)
    faltung.batch_norm_backward(g, x, rm, rv, w, True)
    faltung.batch_norm_backward(g, x, rm, rv, w, False)
    for a, c in zip((x, w, b, rm, rv, g), copies):
        assert np.array_equal(a, c)


def test_nan_propagates(backend):
    """NaN is data: it poisons its channel's statistics (as in torch), not the others."""
    x = np.ones((2, 2, 2, 2))
    x[1, 0, 0, 0] = 2.0
    x[0, 1, 1, 1] = np.nan
    y = faltung.batch_norm(x, None, None, training=True)
    assert np.isnan(y[:, 1]).all() and np.isfinite(y[:, 0]).all()


# ---------------------------------------------------------------------------------- torch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", ["2d", "3d", "4d", "4d_odd_channels", "4d_batch1"])
def test_torch(backend, dtype, rng, name, training):
    """F.batch_norm (incl. the running-stat update) and its autograd, in the same dtype."""
    x, w, b, rm, rv = _arrays(rng, SHAPES[name], dtype)
    g = random_array(rng, x.shape, dtype)
    trm, trv = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    tx, tw, tb = (torch.from_numpy(a.copy()).requires_grad_(True) for a in (x, w, b))
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training, 0.2, 1e-4)
    ty.backward(torch.from_numpy(g))
    y = faltung.batch_norm(x, rm, rv, w, b, training, 0.2, 1e-4)
    sw, sb = _grad_scales(g, x, x.shape)
    assert_close(y, ty.detach().numpy().astype(np.float64), dtype=dtype, what="y")
    assert_close(rm, trm.numpy().astype(np.float64), dtype=dtype, what="running_mean")
    assert_close(rv, trv.numpy().astype(np.float64), dtype=dtype, what="running_var")
    # training normalises with the batch statistics; eval with the (unchanged) running stats
    got = faltung.batch_norm_backward(g, x, rm, rv, w, training, 1e-4)
    k = _count(x.shape)
    assert_close(got[0], tx.grad.numpy().astype(np.float64), dtype=dtype, k=k, what="grad_input")
    assert_close(got[1], tw.grad.numpy().astype(np.float64), dtype=dtype, k=k, scale=sw,
                 what="grad_weight")
    assert_close(got[2], tb.grad.numpy().astype(np.float64), dtype=dtype, k=k, scale=sb,
                 what="grad_bias")
