"""Bad input to depthwise_conv2d, separable_conv2d and their backward passes: the exception type
and a message naming the argument (style of tests/test_validation.py). Nothing crashes."""
from __future__ import annotations

import re

import numpy as np
import pytest

import faltung
from faltung import backends
from tests.test_validation import expect

F32, F64 = np.float32, np.float64


def x4(shape=(1, 3, 6, 6), dtype=F64):
    return np.ones(shape, dtype)


def dw4(shape=(6, 1, 3, 3), dtype=F64):
    return np.ones(shape, dtype)


def pw4(shape=(4, 6, 1, 1), dtype=F64):
    return np.ones(shape, dtype)


@pytest.mark.parametrize("shape", [(6, 3, 3, 3), (6, 2, 3, 3)], ids=["full", "two_per_group"])
def test_weight_not_one_channel_per_group(backend, shape):
    expect(ValueError, lambda: faltung.depthwise_conv2d(x4(), np.ones(shape)), r"\bweight\b",
           r"\(C\*M, 1, kh, kw\)", re.escape(str(shape)))


def test_weight_channels_not_a_multiple(backend):
    expect(ValueError, lambda: faltung.depthwise_conv2d(x4(), dw4((4, 1, 3, 3))), r"\bweight\b",
           r"C = 3", re.escape("(4, 1, 3, 3)"))


@pytest.mark.parametrize("fn", [lambda x, w: faltung.depthwise_conv2d(x, w),
                                lambda x, w: faltung.separable_conv2d(x, w, pw4())],
                         ids=["depthwise", "separable"])
def test_input_wrong_ndim(backend, fn):
    expect(ValueError, lambda: fn(np.ones((3, 6, 6)), dw4()), r"\binput\b", r"4-D")


def test_dtype_mismatch(backend):
    expect(TypeError, lambda: faltung.depthwise_conv2d(x4(dtype=F32), dw4()), r"\bweight\b",
           r"float32", r"float64")
    expect(TypeError, lambda: faltung.depthwise_conv2d(x4().astype(np.int32), dw4()),
           r"\binput\b", r"float32 or float64", r"int32")
    expect(TypeError, lambda: faltung.separable_conv2d(x4(), dw4(), pw4(dtype=F32)),
           r"\bpointwise_weight\b", r"float64", r"float32")


def test_bias_wrong_shape(backend):
    expect(ValueError, lambda: faltung.depthwise_conv2d(x4(), dw4(), np.ones(3)), r"\bbias\b",
           re.escape("(6,)"), re.escape("(3,)"))
    expect(ValueError, lambda: faltung.separable_conv2d(x4(), dw4(), pw4(), np.ones(6)),
           r"\bbias\b", re.escape("(4,)"), re.escape("(6,)"))


def test_geometry_errors(backend):
    expect(ValueError, lambda: faltung.depthwise_conv2d(x4(), dw4(), stride=0), r"\bstride\b")
    expect(ValueError, lambda: faltung.depthwise_conv2d(x4(), dw4(), padding=-1), r"\bpadding\b")
    expect(ValueError, lambda: faltung.depthwise_conv2d(x4(), dw4(), padding="full"),
           r"\bpadding\b", r"'valid' or 'same'")
    expect(ValueError, lambda: faltung.depthwise_conv2d(x4((1, 3, 2, 2)), dw4()), r"\bweight\b",
           r"larger than the padded input")
    expect(TypeError, lambda: faltung.depthwise_conv2d(x4(), dw4(), dilation=1.5), r"\bdilation\b")


def test_pointwise_weight_wrong_shape(backend):
    expect(ValueError, lambda: faltung.separable_conv2d(x4(), dw4(), pw4((4, 3, 1, 1))),
           r"\bpointwise_weight\b", re.escape("(O, 6, 1, 1)"), re.escape("(4, 3, 1, 1)"))
    expect(ValueError, lambda: faltung.separable_conv2d(x4(), dw4(), pw4((4, 6, 3, 3))),
           r"\bpointwise_weight\b", re.escape("(4, 6, 3, 3)"))
    expect(ValueError, lambda: faltung.separable_conv2d(x4(), dw4((6, 3, 3, 3)), pw4()),
           r"\bdepthwise_weight\b", r"\(C\*M, 1, kh, kw\)")


def test_grad_out_wrong_shape(backend):
    expect(ValueError, lambda: faltung.depthwise_conv2d_backward(np.ones((1, 6, 3, 3)), x4(),
                                                                 dw4()),
           r"\bgrad_out\b", re.escape("(1, 6, 4, 4)"), re.escape("(1, 6, 3, 3)"))
    expect(ValueError, lambda: faltung.separable_conv2d_backward(np.ones((1, 6, 4, 4)), x4(),
                                                                 dw4(), pw4()),
           r"\bgrad_out\b", re.escape("(1, 4, 4, 4)"))
    expect(TypeError, lambda: faltung.depthwise_conv2d_backward(np.ones((1, 6, 4, 4), F32),
                                                                x4(), dw4()),
           r"\bgrad_out\b", r"float64", r"float32")


def test_needs_input_grad_and_out(backend):
    gy = np.ones((1, 6, 4, 4))
    expect(TypeError, lambda: faltung.depthwise_conv2d_backward(gy, x4(), dw4(),
                                                                needs_input_grad=(True,)),
           r"\bneeds_input_grad\b", r"three")
    expect(TypeError, lambda: faltung.separable_conv2d_backward(np.ones((1, 4, 4, 4)), x4(),
                                                                dw4(), pw4(),
                                                                needs_input_grad=(True,) * 3),
           r"\bneeds_input_grad\b", r"four")
    expect(TypeError, lambda: faltung.separable_conv2d_backward(np.ones((1, 4, 4, 4)), x4(),
                                                                dw4(), pw4(), out=(None,) * 3),
           r"\bout\b", r"4-tuple")
    expect(ValueError, lambda: faltung.depthwise_conv2d(x4(), dw4(), out=np.empty((1, 6, 3, 3))),
           r"\bout\b", re.escape("(1, 6, 4, 4)"))
    expect(ValueError, lambda: faltung.depthwise_conv2d_backward(
        gy, x4(), dw4(), out=(None, np.empty((6, 1, 3, 3))[::-1], None)), r"\bout\[1\]",
        r"C-contiguous")
    expect(TypeError, lambda: faltung.separable_conv2d(x4(), dw4(), pw4(),
                                                       out=np.empty((1, 4, 4, 4), F32)),
           r"\bout\b", r"float64")


def test_kernels_refuse_a_non_depthwise_geometry():
    """The compiled kernels trust their params; the binding refuses one that is not depthwise
    (groups != C) instead of reading past the arrays."""
    if "cpp" not in faltung.available_backends():
        pytest.skip("compiled backend not built")
    from faltung._params import make_conv2d_params
    p = make_conv2d_params((1, 4, 5, 5), (4, 2, 3, 3), groups=2)
    expect(ValueError, lambda: backends.get("cpp").depthwise_forward(
        np.empty((1, 4, 3, 3)), np.ones((1, 4, 5, 5)), np.ones((4, 2, 3, 3)), None, p),
        r"\bparams\b", r"depthwise")
