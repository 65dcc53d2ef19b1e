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


def x4(shape=(2, 3, 4, 4), dtype=F64):
    return np.ones(shape, dtype)


def vec(c=3, dtype=F64):
    return np.ones(c, dtype)


BN_CASES = {
    "input_list": (TypeError, lambda: faltung.batch_norm([[1.0]], vec(), vec()), r"\binput\b", "ndarray"),
    "input_int": (TypeError, lambda: faltung.batch_norm(x4().astype(int), vec(), vec()), r"\binput\b", "float32 or float64"),
    "input_1d": (ValueError, lambda: faltung.batch_norm(np.ones(3), vec(), vec()), r"\binput\b", "at least 2", r"\(3,\)"),
    "input_empty": (ValueError, lambda: faltung.batch_norm(np.ones((0, 3)), vec(), vec()), r"\binput\b", ">= 1"),
    "weight_shape": (ValueError, lambda: faltung.batch_norm(x4(), vec(), vec(), vec(4)), r"\bweight\b", r"\(3,\)", r"\(4,\)"),
    "weight_dtype": (TypeError, lambda: faltung.batch_norm(x4(), vec(), vec(), vec(3, F32)), r"\bweight\b", "float64"),
    "bias_ndim": (ValueError, lambda: faltung.batch_norm(x4(), vec(), vec(), None, np.ones((3, 1))), r"\bbias\b", "1-D"),
    "eval_needs_running": (ValueError, lambda: faltung.batch_norm(x4(), None, vec()), r"running_mean, running_var", "required"),
    "running_shape": (ValueError, lambda: faltung.batch_norm(x4(), vec(2), vec()), r"running_mean", r"\(3,\)"),
    "running_one_missing": (ValueError, lambda: faltung.batch_norm(x4(), vec(), None, training=True), r"running_mean, running_var", "both"),
    "running_list_training": (TypeError, lambda: faltung.batch_norm(x4(), [0.0] * 3, vec(), training=True), r"running_mean", "in place"),
    "running_readonly": (ValueError, lambda: faltung.batch_norm(x4(), np.broadcast_to(0.0, (3,)), vec(), training=True), r"running_mean", "writeable"),
    "running_same_array": (ValueError, lambda: (lambda v: faltung.batch_norm(x4(), v, v, training=True))(vec()), r"running_mean, running_var", "separate"),
    "running_dtype": (TypeError, lambda: faltung.batch_norm(x4(), vec(3, F32), vec(), training=True), r"running_mean", "float64"),
    "eps_negative": (ValueError, lambda: faltung.batch_norm(x4(), vec(), vec(), eps=-1e-5), r"\beps\b", ">= 0"),
    "eps_nan": (ValueError, lambda: faltung.batch_norm(x4(), vec(), vec(), eps=float("nan")), r"\beps\b", "finite"),
    "eps_str": (TypeError, lambda: faltung.batch_norm(x4(), vec(), vec(), eps="1e-5"), r"\beps\b", "number"),
    "momentum_inf": (ValueError, lambda: faltung.batch_norm(x4(), vec(), vec(), training=True, momentum=float("inf")), r"\bmomentum\b", "finite"),
    "momentum_none": (ValueError, lambda: faltung.batch_norm(x4(), vec(), vec(), training=True, momentum=None), r"\bmomentum\b", "num_batches_tracked"),
    "one_value_per_channel": (ValueError, lambda: faltung.batch_norm(np.ones((1, 3)), vec(), vec(), training=True), r"\binput\b", "more than 1 value per channel"),
    "out_shape": (ValueError, lambda: faltung.batch_norm(x4(), vec(), vec(), out=np.empty((2, 3, 4))), r"\bout\b", "shape"),
    "out_dtype": (TypeError, lambda: faltung.batch_norm(x4(), vec(), vec(), out=np.empty((2, 3, 4, 4), F32)), r"\bout\b", "float64"),
    "out_overlap": (ValueError, lambda: (lambda a: faltung.batch_norm(a, vec(), vec(), out=a))(x4()), r"\bout\b", "overlap"),
    "grad_shape": (ValueError, lambda: faltung.batch_norm_backward(np.ones((2, 3, 4, 5)), x4(), vec(), vec()), r"grad_out", "shape"),
    "grad_dtype": (TypeError, lambda: faltung.batch_norm_backward(x4(dtype=F32), x4(), vec(), vec()), r"grad_out", "float64"),
    "save_one_missing": (ValueError, lambda: faltung.batch_norm_backward(x4(), x4(), None, None, training=True, save_mean=vec()), r"save_mean, save_invstd", "both"),
    "save_shape": (ValueError, lambda: faltung.batch_norm_backward(x4(), x4(), None, None, training=True, save_mean=vec(4), save_invstd=vec(4)), r"save_mean", r"\(3,\)"),
    "backward_eval_needs_running": (ValueError, lambda: faltung.batch_norm_backward(x4(), x4(), None, None), r"running_mean, running_var", "required"),
    "backward_one_value": (ValueError, lambda: faltung.batch_norm_backward(np.ones((1, 3)), np.ones((1, 3)), None, None, training=True), r"\binput\b", "more than 1 value"),
    "needs_input_grad": (TypeError, lambda: faltung.batch_norm_backward(x4(), x4(), vec(), vec(), needs_input_grad=True), r"needs_input_grad", "three"),
    "backward_out_triple": (TypeError, lambda: faltung.batch_norm_backward(x4(), x4(), vec(), vec(), out=x4()), r"\bout\b", "triple"),
    "backward_out_w_shape": (ValueError, lambda: faltung.batch_norm_backward(x4(), x4(), vec(), vec(), out=(None, vec(4), None)), r"out\[1\]", "shape"),
    "backward_out_overlap": (ValueError, lambda: (lambda g: faltung.batch_norm_backward(g, x4(), vec(), vec(), out=(g, None, None)))(x4()), r"out\[0\]", "overlap"),
}


@pytest.mark.parametrize("name", list(BN_CASES))
def test_batch_norm(backend, name):
    exc, fn, *fragments = BN_CASES[name]
    expect(exc, fn, *fragments)


LRN_CASES = {
    "input_2d": (ValueError, lambda: faltung.local_response_norm(np.ones((2, 3)), 3), r"\binput\b", "at least 3", r"\(2, 3\)"),
    "input_dtype": (TypeError, lambda: faltung.local_response_norm(x4(dtype=np.float16), 3), r"\binput\b", "float32 or float64"),
    "size_zero": (ValueError, lambda: faltung.local_response_norm(x4(), 0), r"\bsize\b", "positive"),
    "size_float": (TypeError, lambda: faltung.local_response_norm(x4(), 2.5), r"\bsize\b", "int"),
    "alpha_inf": (ValueError, lambda: faltung.local_response_norm(x4(), 3, alpha=float("inf")), r"\balpha\b", "finite"),
    "beta_str": (TypeError, lambda: faltung.local_response_norm(x4(), 3, beta="0.75"), r"\bbeta\b", "number"),
    "k_bool": (TypeError, lambda: faltung.local_response_norm(x4(), 3, k=True), r"\bk\b", "number"),
    "out_overlap": (ValueError, lambda: (lambda a: faltung.local_response_norm(a, 3, out=a))(x4()), r"\bout\b", "overlap"),
    "grad_shape": (ValueError, lambda: faltung.local_response_norm_backward(np.ones((2, 3, 4, 5)), x4(), 3), r"grad_out", "shape"),
    "grad_dtype": (TypeError, lambda: faltung.local_response_norm_backward(x4(dtype=F32), x4(), 3), r"grad_out", "float64"),
    "backward_out_overlap": (ValueError, lambda: (lambda g: faltung.local_response_norm_backward(g, x4(), 3, out=g))(x4()), r"\bout\b", "overlap"),
}


@pytest.mark.parametrize("name", list(LRN_CASES))
def test_local_response_norm(backend, name):
    exc, fn, *fragments = LRN_CASES[name]
    expect(exc, fn, *fragments)


LCN_CASES = {
    "input_1d": (ValueError, lambda: faltung.local_contrast_norm(np.ones(4)), r"\binput\b", "at least 2"),
    "one_channel": (ValueError, lambda: faltung.local_contrast_norm(np.ones((2, 1, 3, 3))), r"\binput\b", "at least 2 channels", r"C - 1"),
    "eps_negative": (ValueError, lambda: faltung.local_contrast_norm(x4(), eps=-1.0), r"\beps\b", ">= 0"),
    "grad_shape": (ValueError, lambda: faltung.local_contrast_norm_backward(np.ones((2, 3)), x4()), r"grad_out", "shape"),
    "out_dtype": (TypeError, lambda: faltung.local_contrast_norm(x4(), out=x4(dtype=F32)), r"\bout\b", "float64"),
}


@pytest.mark.parametrize("name", list(LCN_CASES))
def test_local_contrast_norm(backend, name):
    exc, fn, *fragments = LCN_CASES[name]
    expect(exc, fn, *fragments)


# ---------------------------------------------------------------- the C++ twin of the checks

def _core():
    if "cpp" not in faltung.available_backends():
        pytest.skip("the compiled backend is not available")
    from faltung import _core as core
    return core


CORE_CASES = {
    "lcn_one_channel": (lambda c: c.lcn(np.empty(4), None, np.ones(4), (1, 1, 4), 1e-5), r"\binput\b", "at least 2 channels"),
    "lrn_size": (lambda c: c.lrn(np.empty(4), None, np.ones(4), (1, 2, 2), 0, 1e-4, 0.75, 1.0), r"\bsize\b", "positive"),
    "bn_eps": (lambda c: c.batch_norm_forward_eval(np.empty(4), np.ones(4), vec(2), vec(2), None, None, (1, 2, 2), -1.0), r"\beps\b", ">= 0"),
    "bn_one_value": (lambda c: c.batch_norm_forward_train(np.empty(2), np.empty(2), np.empty(2), None, None, np.ones(2), None, None, (1, 2, 1), 1e-5, 0.1), r"\binput\b", "more than 1 value"),
    "shape_zero": (lambda c: c.lcn(np.empty(0), None, np.ones(0), (0, 2, 2), 1e-5), r"\binput\b", ">= 1"),
    "size_mismatch": (lambda c: c.lrn(np.empty(4), None, np.ones(5), (1, 2, 2), 3, 1e-4, 0.75, 1.0), r"\bx\b", "size does not match"),
    "dtype_mismatch": (lambda c: c.lcn(np.empty(4, F32), None, np.ones(4), (1, 2, 2), 1e-5), r"\by\b", "dtype"),
}


@pytest.mark.parametrize("name", list(CORE_CASES))
def test_core_checks(name):
    fn, *fragments = CORE_CASES[name]
    c = _core()
    expect(ValueError, lambda: fn(c), *fragments)
