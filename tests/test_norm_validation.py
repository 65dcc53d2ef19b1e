"""Bad input to the normalization API: each validation path raises the documented exception
type with a message naming the argument (style of tests/test_validation.py). The C++ params
checks are exercised through faltung._core directly, since functional/norm.py catches
everything first."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests.test_validation import expect

F32, F64 = np.float32, np.float64
bn, bn_backward = faltung.batch_norm, faltung.batch_norm_backward
lrn, lrn_backward = faltung.local_response_norm, faltung.local_response_norm_backward
lcn, lcn_backward = faltung.local_contrast_norm, faltung.local_contrast_norm_backward


def x4(shape=(2, 3, 4, 4), dtype=F64):
    return np.ones(shape, dtype)


def vec(c=3, dtype=F64):
    return np.ones(c, dtype)


BN_CASES = {
    "input_list": (TypeError, (r"\binput\b", "ndarray"),
        lambda: bn([[1.0]], vec(), vec())),
    "input_int": (TypeError, (r"\binput\b", "float32 or float64"),
        lambda: bn(x4().astype(int), vec(), vec())),
    "input_1d": (ValueError, (r"\binput\b", "at least 2", r"\(3,\)"),
        lambda: bn(np.ones(3), vec(), vec())),
    "input_empty": (ValueError, (r"\binput\b", ">= 1"),
        lambda: bn(np.ones((0, 3)), vec(), vec())),
    "weight_shape": (ValueError, (r"\bweight\b", r"\(3,\)", r"\(4,\)"),
        lambda: bn(x4(), vec(), vec(), vec(4))),
    "weight_dtype": (TypeError, (r"\bweight\b", "float64"),
        lambda: bn(x4(), vec(), vec(), vec(3, F32))),
    "bias_ndim": (ValueError, (r"\bbias\b", "1-D"),
        lambda: bn(x4(), vec(), vec(), None, np.ones((3, 1)))),
    "eval_needs_running": (ValueError, (r"running_mean, running_var", "required"),
        lambda: bn(x4(), None, vec())),
    "running_shape": (ValueError, (r"running_mean", r"\(3,\)"),
        lambda: bn(x4(), vec(2), vec())),
    "running_one_missing": (ValueError, (r"running_mean, running_var", "both"),
        lambda: bn(x4(), vec(), None, training=True)),
    "running_list_training": (TypeError, (r"running_mean", "in place"),
        lambda: bn(x4(), [0.0] * 3, vec(), training=True)),
    "running_readonly": (ValueError, (r"running_mean", "writeable"),
        lambda: bn(x4(), np.broadcast_to(0.0, (3,)), vec(), training=True)),
    "running_same_array": (ValueError, (r"running_mean, running_var", "separate"),
        lambda: (lambda v: bn(x4(), v, v, training=True))(vec())),
    "running_dtype": (TypeError, (r"running_mean", "float64"),
        lambda: bn(x4(), vec(3, F32), vec(), training=True)),
    "eps_negative": (ValueError, (r"\beps\b", ">= 0"),
        lambda: bn(x4(), vec(), vec(), eps=-1e-5)),
    "eps_nan": (ValueError, (r"\beps\b", "finite"),
        lambda: bn(x4(), vec(), vec(), eps=float("nan"))),
    "eps_str": (TypeError, (r"\beps\b", "number"),
        lambda: bn(x4(), vec(), vec(), eps="1e-5")),
    "momentum_inf": (ValueError, (r"\bmomentum\b", "finite"),
        lambda: bn(x4(), vec(), vec(), training=True, momentum=float("inf"))),
    "momentum_none": (ValueError, (r"\bmomentum\b", "num_batches_tracked"),
        lambda: bn(x4(), vec(), vec(), training=True, momentum=None)),
    "one_value_per_channel": (ValueError, (r"\binput\b", "more than 1 value per channel"),
        lambda: bn(np.ones((1, 3)), vec(), vec(), training=True)),
    "out_shape": (ValueError, (r"\bout\b", "shape"),
        lambda: bn(x4(), vec(), vec(), out=np.empty((2, 3, 4)))),
    "out_dtype": (TypeError, (r"\bout\b", "float64"),
        lambda: bn(x4(), vec(), vec(), out=np.empty((2, 3, 4, 4), F32))),
    "out_overlap": (ValueError, (r"\bout\b", "overlap"),
        lambda: (lambda a: bn(a, vec(), vec(), out=a))(x4())),
    "grad_shape": (ValueError, (r"grad_out", "shape"),
        lambda: bn_backward(np.ones((2, 3, 4, 5)), x4(), vec(), vec())),
    "grad_dtype": (TypeError, (r"grad_out", "float64"),
        lambda: bn_backward(x4(dtype=F32), x4(), vec(), vec())),
    "save_one_missing": (ValueError, (r"save_mean, save_invstd", "both"),
        lambda: bn_backward(x4(), x4(), None, None, training=True, save_mean=vec())),
    "save_shape": (ValueError, (r"save_mean", r"\(3,\)"),
        lambda: bn_backward(x4(), x4(), None, None, training=True, save_mean=vec(4),
                            save_invstd=vec(4))),
    "backward_eval_needs_running": (ValueError, (r"running_mean, running_var", "required"),
        lambda: bn_backward(x4(), x4(), None, None)),
    "backward_one_value": (ValueError, (r"\binput\b", "more than 1 value"),
        lambda: bn_backward(np.ones((1, 3)), np.ones((1, 3)), None, None, training=True)),
    "needs_input_grad": (TypeError, (r"needs_input_grad", "three"),
        lambda: bn_backward(x4(), x4(), vec(), vec(), needs_input_grad=True)),
    "backward_out_triple": (TypeError, (r"\bout\b", "triple"),
        lambda: bn_backward(x4(), x4(), vec(), vec(), out=x4())),
    "backward_out_w_shape": (ValueError, (r"out\[1\]", "shape"),
        lambda: bn_backward(x4(), x4(), vec(), vec(), out=(None, vec(4), None))),
    "backward_out_overlap": (ValueError, (r"out\[0\]", "overlap"),
        lambda: (lambda g: bn_backward(g, x4(), vec(), vec(), out=(g, None, None)))(x4())),
}


@pytest.mark.parametrize("name", list(BN_CASES))
def test_batch_norm(backend, name):
    exc, fragments, fn = BN_CASES[name]
    expect(exc, fn, *fragments)


LRN_CASES = {
    "input_2d": (ValueError, (r"\binput\b", "at least 3", r"\(2, 3\)"),
        lambda: lrn(np.ones((2, 3)), 3)),
    "input_dtype": (TypeError, (r"\binput\b", "float32 or float64"),
        lambda: lrn(x4(dtype=np.float16), 3)),
    "size_zero": (ValueError, (r"\bsize\b", "positive"),
        lambda: lrn(x4(), 0)),
    "size_float": (TypeError, (r"\bsize\b", "int"),
        lambda: lrn(x4(), 2.5)),
    "alpha_inf": (ValueError, (r"\balpha\b", "finite"),
        lambda: lrn(x4(), 3, alpha=float("inf"))),
    "beta_str": (TypeError, (r"\bbeta\b", "number"),
        lambda: lrn(x4(), 3, beta="0.75")),
    "k_bool": (TypeError, (r"\bk\b", "number"),
        lambda: lrn(x4(), 3, k=True)),
    "out_overlap": (ValueError, (r"\bout\b", "overlap"),
        lambda: (lambda a: lrn(a, 3, out=a))(x4())),
    "grad_shape": (ValueError, (r"grad_out", "shape"),
        lambda: lrn_backward(np.ones((2, 3, 4, 5)), x4(), 3)),
    "grad_dtype": (TypeError, (r"grad_out", "float64"),
        lambda: lrn_backward(x4(dtype=F32), x4(), 3)),
    "backward_out_overlap": (ValueError, (r"\bout\b", "overlap"),
        lambda: (lambda g: lrn_backward(g, x4(), 3, out=g))(x4())),
}


@pytest.mark.parametrize("name", list(LRN_CASES))
def test_local_response_norm(backend, name):
    exc, fragments, fn = LRN_CASES[name]
    expect(exc, fn, *fragments)


LCN_CASES = {
    "input_1d": (ValueError, (r"\binput\b", "at least 2"),
        lambda: lcn(np.ones(4))),
    "one_channel": (ValueError, (r"\binput\b", "at least 2 channels", r"C - 1"),
        lambda: lcn(np.ones((2, 1, 3, 3)))),
    "eps_negative": (ValueError, (r"\beps\b", ">= 0"),
        lambda: lcn(x4(), eps=-1.0)),
    "grad_shape": (ValueError, (r"grad_out", "shape"),
        lambda: lcn_backward(np.ones((2, 3)), x4())),
    "out_dtype": (TypeError, (r"\bout\b", "float64"),
        lambda: lcn(x4(), out=x4(dtype=F32))),
}


@pytest.mark.parametrize("name", list(LCN_CASES))
def test_local_contrast_norm(backend, name):
    exc, fragments, fn = LCN_CASES[name]
    expect(exc, fn, *fragments)


# ---------------------------------------------------------------- the C++ twin of the checks

def _core():
    if "cpp" not in faltung.available_backends():
        pytest.skip("the compiled backend is not available")
    from faltung import _core as core
    return core


CORE_CASES = {
    "lcn_one_channel": ((r"\binput\b", "at least 2 channels"),
        lambda c: c.lcn(np.empty(4), None, np.ones(4), (1, 1, 4), 1e-5)),
    "lrn_size": ((r"\bsize\b", "positive"),
        lambda c: c.lrn(np.empty(4), None, np.ones(4), (1, 2, 2), 0, 1e-4, 0.75, 1.0)),
    "bn_eps": ((r"\beps\b", ">= 0"),
        lambda c: c.batch_norm_forward_eval(np.empty(4), np.ones(4), vec(2), vec(2), None, None,
                                            (1, 2, 2), -1.0)),
    "bn_one_value": ((r"\binput\b", "more than 1 value"),
        lambda c: c.batch_norm_forward_train(np.empty(2), np.empty(2), np.empty(2), None, None,
                                             np.ones(2), None, None, (1, 2, 1), 1e-5, 0.1)),
    "shape_zero": ((r"\binput\b", ">= 1"),
        lambda c: c.lcn(np.empty(0), None, np.ones(0), (0, 2, 2), 1e-5)),
    "size_mismatch": ((r"\bx\b", "size does not match"),
        lambda c: c.lrn(np.empty(4), None, np.ones(5), (1, 2, 2), 3, 1e-4, 0.75, 1.0)),
    "dtype_mismatch": ((r"\by\b", "dtype"),
        lambda c: c.lcn(np.empty(4, F32), None, np.ones(4), (1, 2, 2), 1e-5)),
}


@pytest.mark.parametrize("name", list(CORE_CASES))
def test_core_checks(name):
    fragments, fn = CORE_CASES[name]
    c = _core()
    expect(ValueError, lambda: fn(c), *fragments)


# ------------------------------------------------------------- divisions by zero are data

def test_division_by_zero_gives_nan_like_torch(backend):
    """eps = 0 / k = 0 on all-zero input: 0 / 0 is NaN in PyTorch; every backend agrees (the
    Numba kernels must not raise ZeroDivisionError)."""
    zeros = np.zeros((1, 3, 1, 2))
    assert np.isnan(faltung.local_contrast_norm(zeros, eps=0.0)).all()
    assert np.isnan(faltung.local_response_norm(zeros, 3, k=0.0)).all()
    ones = np.ones_like(zeros)
    assert np.isnan(faltung.local_response_norm_backward(ones, zeros, 3, k=0.0)).all()
    assert np.isnan(faltung.batch_norm(np.ones((4, 2)), None, None, training=True, eps=0.0)).all()
    torch = pytest.importorskip("torch")
    lrn_torch = torch.nn.functional.local_response_norm(torch.zeros(1, 3, 1, 2), 3, k=0.0)
    assert torch.isnan(lrn_torch).all()
