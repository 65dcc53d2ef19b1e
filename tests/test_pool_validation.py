"""Bad input to the pooling API: every validation path raises the documented exception TYPE with
a message naming the argument (and what was expected). Nothing crashes. Style of
tests/test_validation.py: each fragment is a regular expression searched case-insensitively."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests.test_validation import expect

F32, F64 = np.float32, np.float64


def x4(shape=(1, 2, 6, 6), dtype=F64):
    return np.ones(shape, dtype)


FORWARDS = {
    "max_pool2d": lambda x, **kw: faltung.max_pool2d(x, 2, **kw),
    "avg_pool2d": lambda x, **kw: faltung.avg_pool2d(x, 2, **kw),
    "lp_pool2d": lambda x, **kw: faltung.lp_pool2d(x, 2, 2, **kw),
    "adaptive_avg_pool2d": lambda x, **kw: faltung.adaptive_avg_pool2d(x, 3, **kw),
    "global_avg_pool2d": lambda x, **kw: faltung.global_avg_pool2d(x, **kw),
    "global_max_pool2d": lambda x, **kw: faltung.global_max_pool2d(x, **kw),
}


@pytest.mark.parametrize("name", list(FORWARDS))
def test_input_type_dtype_ndim(backend, name):
    fn = FORWARDS[name]
    expect(TypeError, lambda: fn([[1.0]]), r"\binput\b", r"numpy\.ndarray", r"list")
    expect(TypeError, lambda: fn(np.ones((1, 1, 4, 4), np.int32)), r"\binput\b", r"float32 or float64", r"int32")
    expect(ValueError, lambda: fn(np.ones((2, 4, 4))), r"\binput\b", r"4-D", r"\(2, 4, 4\)")
    expect(ValueError, lambda: fn(np.ones((1, 0, 4, 4))), r"\binput\b", r">= 1")


@pytest.mark.parametrize("name", list(FORWARDS))
def test_out_checked(backend, name):
    fn = FORWARDS[name]
    expect(ValueError, lambda: fn(x4(), out=np.empty((1, 2, 5, 5))), r"\bout\b", r"shape")
    expect(TypeError, lambda: fn(x4(), out=np.empty((1, 2, 3, 3), F32)), r"\bout\b", r"dtype")


@pytest.mark.parametrize("fn", [faltung.max_pool2d, faltung.avg_pool2d,
                                lambda x, *a, **k: faltung.lp_pool2d(x, 2, *a, **k)],
                         ids=["max", "avg", "lp"])
def test_geometry(backend, fn):
    expect(TypeError, lambda: fn(x4(), 2.5), r"kernel_size", r"int")
    expect(ValueError, lambda: fn(x4(), 0), r"kernel_size", r"positive")
    expect(ValueError, lambda: fn(x4(), 2, 0), r"\bstride\b", r"positive")
    expect(TypeError, lambda: fn(x4(), 2, (1, 2, 3)), r"\bstride\b")
    expect(ValueError, lambda: fn(x4(), 3, 1, -1), r"padding", r"non-negative")
    expect(ValueError, lambda: fn(x4(), 3, 1, 2), r"padding", r"half", r"\(1, 1\)")
    expect(ValueError, lambda: fn(x4(), 2, 1, "full"), r"padding", r"'valid' or 'same'")
    expect(TypeError, lambda: fn(x4(), 2, 1, 1.5), r"padding")
    expect(ValueError, lambda: fn(x4(), 9), r"kernel_size", r"larger than the padded input", r"6x6")
    expect(TypeError, lambda: fn(x4(), 2, ceil_mode=1), r"ceil_mode", r"bool")


def test_max_pool_arguments(backend):
    expect(ValueError, lambda: faltung.max_pool2d(x4(), 2, dilation=0), r"dilation", r"positive")
    expect(TypeError, lambda: faltung.max_pool2d(x4(), 2, return_indices="yes"), r"return_indices", r"bool")
    expect(TypeError, lambda: faltung.max_pool2d(x4(), 2, return_indices=True, out=np.empty((1, 2, 3, 3))),
           r"\bout\b", r"pair")
    # 2 columns, 2 taps 3 apart, padding 1: the only window's taps (-1 and 2) are both padding
    expect(ValueError, lambda: faltung.max_pool2d(x4((1, 1, 2, 2)), 2, 1, 1, 3), r"dilation",
           r"only padding")


def test_avg_pool_arguments(backend):
    expect(TypeError, lambda: faltung.avg_pool2d(x4(), 2, count_include_pad=None), r"count_include_pad", r"bool")
    expect(ValueError, lambda: faltung.avg_pool2d(x4(), 2, divisor_override=0), r"divisor_override", r"positive")
    expect(TypeError, lambda: faltung.avg_pool2d(x4(), 2, divisor_override=2.0), r"divisor_override", r"int")


def test_lp_pool_norm_type(backend):
    expect(ValueError, lambda: faltung.lp_pool2d(x4(), 0, 2), r"norm_type", r"positive")
    expect(ValueError, lambda: faltung.lp_pool2d(x4(), -2.0, 2), r"norm_type", r"positive")
    expect(ValueError, lambda: faltung.lp_pool2d(x4(), float("nan"), 2), r"norm_type", r"positive")
    expect(TypeError, lambda: faltung.lp_pool2d(x4(), "2", 2), r"norm_type", r"number")


def test_adaptive_output_size(backend):
    expect(ValueError, lambda: faltung.adaptive_avg_pool2d(x4(), 0), r"output_size", r"positive")
    expect(TypeError, lambda: faltung.adaptive_avg_pool2d(x4(), (2, 2, 2)), r"output_size")
    expect(TypeError, lambda: faltung.adaptive_avg_pool2d(x4(), 2.0), r"output_size")


def _max_backward(gy=None, idx=None, x=None, **kw):
    x = x4() if x is None else x
    gy = np.ones((1, 2, 3, 3)) if gy is None else gy
    idx = np.zeros((1, 2, 3, 3), np.int64) if idx is None else idx
    return faltung.max_pool2d_backward(gy, x, idx, 2, **kw)


def test_backward_grad_out(backend):
    expect(ValueError, lambda: _max_backward(gy=np.ones((1, 2, 4, 4))), r"grad_out", r"shape")
    expect(TypeError, lambda: _max_backward(gy=np.ones((1, 2, 3, 3), F32)), r"grad_out", r"dtype")
    expect(ValueError, lambda: faltung.avg_pool2d_backward(np.ones((1, 2, 2, 2)), x4(), 2), r"grad_out", r"shape")
    expect(ValueError, lambda: faltung.lp_pool2d_backward(np.ones((1, 2, 2, 2)), x4(), 2, 2), r"grad_out", r"shape")
    expect(ValueError, lambda: faltung.adaptive_avg_pool2d_backward(np.ones((1, 2, 2, 2)), x4(), 3),
           r"grad_out", r"shape")
    expect(ValueError, lambda: faltung.global_avg_pool2d_backward(np.ones((1, 2, 2, 2)), x4()),
           r"grad_out", r"shape")


def test_backward_indices(backend):
    expect(TypeError, lambda: _max_backward(idx=np.zeros((1, 2, 3, 3), np.int32)), r"indices", r"int64")
    expect(TypeError, lambda: _max_backward(idx=[[0]]), r"indices", r"numpy\.ndarray")
    expect(ValueError, lambda: _max_backward(idx=np.zeros((1, 2, 2, 2), np.int64)), r"indices", r"shape")
    bad = np.zeros((1, 2, 3, 3), np.int64)
    bad[0, 1, 2, 2] = 36
    bad[0, 0, 0, 0] = -1
    expect(ValueError, lambda: _max_backward(idx=bad), r"indices", r"2 entries", r"outside \[0, 36\)")
    expect(ValueError, lambda: _max_backward(out=np.empty((1, 2, 6, 6)).T), r"\bout\b", r"shape|contiguous")
    ro = np.empty((1, 2, 6, 6))
    ro.flags.writeable = False
    expect(ValueError, lambda: _max_backward(out=ro), r"\bout\b", r"writeable")


def test_compiled_kernels_validate_params_themselves():
    """The C++ rebuilds the geometry from the Python params and checks it again."""
    if "cpp" not in faltung.available_backends():
        pytest.skip("compiled backend not built")
    from faltung import _core
    from faltung._pool_params import make_pool2d_params
    p = make_pool2d_params((1, 1, 6, 6), 3, 1, 1)
    x, y = x4((1, 1, 6, 6)), np.empty((1, 1, 6, 6))
    expect(ValueError, lambda: _core.max_pool2d_forward(y, None, x, p._replace(pad_top=2)), r"padding", r"half")
    expect(ValueError, lambda: _core.avg_pool2d_forward(y, x, p._replace(stride_w=0)), r"stride")
    expect(ValueError, lambda: _core.avg_pool2d_forward(np.empty((1, 1, 5, 5)), x, p), r"\by\b", r"size")
    expect(ValueError, lambda: _core.max_pool2d_forward(y, np.empty((1, 1, 6, 6), np.int32), x, p),
           r"indices", r"int64")
