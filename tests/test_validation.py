"""Bad input: every validation path raises the documented exception TYPE with a message that
names the argument (and, where it matters, what was expected and what came). Nothing crashes.

Each `fragments` entry is a regular expression searched case-insensitively in the message; the
first one is always the argument's name."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import faltung

F32, F64 = np.float32, np.float64
X_NAME = r"\b(x|input)\b"   # conv2d's first argument is `x`; PyTorch's messages call it input


def expect(exc_type, fn, *fragments):
    with pytest.raises(exc_type) as info:
        fn()
    assert type(info.value) is exc_type or isinstance(info.value, exc_type)
    message = str(info.value)
    for fragment in fragments:
        assert re.search(fragment, message, re.IGNORECASE), (
            f"message {message!r} lacks {fragment!r}")


def x4(shape=(1, 3, 6, 6), dtype=F64):
    return np.ones(shape, dtype)


def w4(shape=(4, 3, 3, 3), dtype=F64):
    return np.ones(shape, dtype)


# ----------------------------------------------------------------------- conv2d: arrays

CONV_FUNCS = [faltung.conv2d, faltung.convolve2d]
CONV_IDS = ["conv2d", "convolve2d"]


@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
@pytest.mark.parametrize("shape", [(3, 6, 6), (1, 1, 3, 6, 6), (6,)], ids=["3d", "5d", "1d"])
def test_x_wrong_ndim(backend, fn, shape):
    expect(ValueError, lambda: fn(np.ones(shape), w4()), X_NAME, r"4-D", re.escape(str(shape)))


@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
@pytest.mark.parametrize("shape", [(4, 3, 3), (4, 3, 3, 3, 1)], ids=["3d", "5d"])
def test_weight_wrong_ndim(backend, fn, shape):
    expect(ValueError, lambda: fn(x4(), np.ones(shape)), r"\bweight\b", r"4-D")


@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
@pytest.mark.parametrize("bad", [np.int64, np.int32, np.float16, np.complex128, np.bool_])
def test_x_bad_dtype(backend, fn, bad):
    expect(TypeError, lambda: fn(x4(dtype=bad), w4()), X_NAME, r"float32",
           re.escape(np.dtype(bad).name))


@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
@pytest.mark.parametrize("bad", [np.int64, np.float16])
def test_weight_bad_dtype(backend, fn, bad):
    expect(TypeError, lambda: fn(x4(), w4(dtype=bad)), r"\bweight\b", re.escape(np.dtype(bad).name))


@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
@pytest.mark.parametrize("xd, wd", [(F32, F64), (F64, F32)])
def test_mixed_dtypes(backend, fn, xd, wd):
    expect(TypeError, lambda: fn(x4(dtype=xd), w4(dtype=wd)), r"\bweight\b",
           np.dtype(xd).name, np.dtype(wd).name)


def test_bias_mixed_dtype(backend):
    expect(TypeError, lambda: faltung.conv2d(x4(dtype=F32), w4(dtype=F32), np.ones(4, F64)),
           r"\bbias\b", "float64")


@pytest.mark.parametrize("shape", [(3,), (5,), (4, 1), (1, 4)])
def test_bias_wrong_shape(backend, shape):
    expect(ValueError, lambda: faltung.conv2d(x4(), w4(), np.ones(shape)), r"\bbias\b")


@pytest.mark.parametrize("value", [[[1.0]], 3.0, "x"], ids=["list", "float", "str"])
def test_x_not_an_array(backend, value):
    expect(TypeError, lambda: faltung.conv2d(value, w4()), X_NAME)


def test_weight_not_an_array(backend):
    expect(TypeError, lambda: faltung.conv2d(x4(), [[[[1.0]]]]), r"\bweight\b")


# -------------------------------------------------------------------- conv2d: geometry

@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
def test_channel_mismatch(backend, fn):
    expect(ValueError, lambda: fn(x4((1, 3, 6, 6)), w4((4, 2, 3, 3))), r"\bweight\b",
           r"\b3\b", r"\b2\b")


def test_channel_mismatch_with_groups(backend):
    # groups=2 needs weight dim 1 = 4/2 = 2
    expect(ValueError, lambda: faltung.conv2d(x4((1, 4, 6, 6)), w4((4, 4, 3, 3)), groups=2),
           r"\bweight\b")


def test_groups_not_dividing_input_channels(backend):
    expect(ValueError, lambda: faltung.conv2d(x4((1, 3, 6, 6)), w4((4, 1, 3, 3)), groups=2),
           r"\bgroups\b", r"\b3\b", r"\b2\b")


def test_groups_not_dividing_output_channels(backend):
    expect(ValueError, lambda: faltung.conv2d(x4((1, 4, 6, 6)), w4((3, 2, 3, 3)), groups=2),
           r"\bgroups\b", r"\b3\b")


@pytest.mark.parametrize("groups", [0, -2])
def test_groups_non_positive(backend, groups):
    expect(ValueError, lambda: faltung.conv2d(x4(), w4(), groups=groups), r"\bgroups\b")


@pytest.mark.parametrize("groups", [1.0, "1", None])
def test_groups_wrong_type(backend, groups):
    expect(TypeError, lambda: faltung.conv2d(x4(), w4(), groups=groups), r"\bgroups\b")


@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
@pytest.mark.parametrize("stride", [0, -1, (1, 0), (-2, 1)])
def test_stride_non_positive(backend, fn, stride):
    expect(ValueError, lambda: fn(x4(), w4(), stride=stride), r"\bstride\b")


@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
@pytest.mark.parametrize("dilation", [0, -1, (0, 1), (1, -1)])
def test_dilation_non_positive(backend, fn, dilation):
    expect(ValueError, lambda: fn(x4(), w4(), dilation=dilation), r"\bdilation\b")


@pytest.mark.parametrize("name, value", [("stride", 1.5), ("stride", (1, 2, 3)),
                                         ("stride", "2"), ("dilation", 2.0),
                                         ("dilation", (1,)), ("stride", None)])
def test_stride_dilation_wrong_type(backend, name, value):
    expect(TypeError, lambda: faltung.conv2d(x4(), w4(), **{name: value}), rf"\b{name}\b")


@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
@pytest.mark.parametrize("padding", [-1, (0, -1), (0, 0, 0, -1), ((0, -1), (0, 0))],
                         ids=["int", "pair", "four", "keras"])
def test_negative_padding(backend, fn, padding):
    expect(ValueError, lambda: fn(x4(), w4(), padding=padding), r"\bpadding\b")


@pytest.mark.parametrize("padding", ["full", "SAME", "", "causal"])
def test_bad_padding_string(backend, padding):
    expect(ValueError, lambda: faltung.conv2d(x4(), w4(), padding=padding), r"\bpadding\b",
           r"same", r"valid")


@pytest.mark.parametrize("padding", [1.5, (1, 2, 3), (1, 2, 3, 4, 5), None, (1.0, 1),
                                     ((1, 1), 1)],
                         ids=["float", "three", "five", "none", "float_pair", "mixed_nested"])
def test_bad_padding_type(backend, padding):
    expect(TypeError, lambda: faltung.conv2d(x4(), w4(), padding=padding), r"\bpadding\b")


@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    ((1, 3, 3, 3), (4, 3, 5, 5), {}),
    ((1, 3, 6, 2), (4, 3, 3, 3), {}),                       # too narrow only
    ((1, 3, 5, 5), (4, 3, 3, 3), {"dilation": 3}),           # dilated kernel 7 > 5
    ((1, 3, 3, 3), (4, 3, 6, 6), {"padding": 1}),            # 6 > 3 + 2
    ((1, 3, 3, 3), (4, 3, 5, 5), {"padding": (0, 1, 0, 1)}),  # 5 > 3 + 1
], ids=["kernel", "narrow", "dilated", "padded", "asym_padded"])
def test_kernel_larger_than_padded_input(backend, fn, x_shape, w_shape, kwargs):
    expect(ValueError, lambda: fn(x4(x_shape), w4(w_shape), **kwargs), r"\b(weight|kernel)\b",
           r"larger|exceed|too (big|large)")


@pytest.mark.parametrize("x_shape, w_shape", [((0, 3, 6, 6), (4, 3, 3, 3)),
                                              ((1, 0, 6, 6), (4, 0, 3, 3)),
                                              ((1, 3, 0, 6), (4, 3, 3, 3)),
                                              ((1, 3, 6, 6), (0, 3, 3, 3)),
                                              ((1, 3, 6, 6), (4, 3, 0, 3))])
def test_empty_dimensions(backend, x_shape, w_shape):
    """Zero-size arrays: either a ValueError naming the array, or a correct empty result.
    Never a crash or garbage."""
    try:
        y = faltung.conv2d(np.ones(x_shape), np.ones(w_shape))
    except ValueError as exc:
        assert re.search(r"\b(x|input|weight|groups)\b", str(exc)), str(exc)
    else:
        assert y.size == 0 or not np.isnan(y).any()


# ----------------------------------------------------------------------------- out=

@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
def test_out_wrong_shape(backend, fn):
    expect(ValueError, lambda: fn(x4(), w4(), out=np.empty((1, 4, 4, 5))), r"\bout\b",
           re.escape("(1, 4, 4, 4)"), re.escape("(1, 4, 4, 5)"))


@pytest.mark.parametrize("fn", CONV_FUNCS, ids=CONV_IDS)
def test_out_wrong_dtype(backend, fn):
    expect(TypeError, lambda: fn(x4(), w4(), out=np.empty((1, 4, 4, 4), F32)), r"\bout\b",
           "float32")


def test_out_not_an_array(backend):
    expect(TypeError, lambda: faltung.conv2d(x4(), w4(), out=[0.0] * 16), r"\bout\b")


def test_out_noncontiguous_or_readonly(backend):
    """A non-contiguous or read-only out= cannot be written in place: refuse it (or fill it
    correctly); never write somewhere else silently."""
    big = np.zeros((1, 4, 4, 8))
    view = big[..., ::2]
    try:
        y = faltung.conv2d(x4(), w4(), out=view)
    except ValueError as exc:
        assert re.search(r"\bout\b", str(exc))
    else:
        assert y is view and (view == 27).all()
    ro = np.zeros((1, 4, 4, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"\bout\b"):
        faltung.conv2d(x4(), w4(), out=ro)
    assert (ro == 0).all()


# -------------------------------------------------------------------------- backward

BACKWARD = [faltung.conv2d_backward, faltung.convolve2d_backward]
BACKWARD_IDS = ["conv2d_backward", "convolve2d_backward"]


@pytest.mark.parametrize("fn", BACKWARD, ids=BACKWARD_IDS)
@pytest.mark.parametrize("shape", [(1, 4, 4, 5), (1, 3, 4, 4), (2, 4, 4, 4)])
def test_grad_out_wrong_shape(backend, fn, shape):
    expect(ValueError, lambda: fn(np.ones(shape), x4(), w4()), r"\bgrad_out\b",
           re.escape("(1, 4, 4, 4)"), re.escape(str(shape)))


@pytest.mark.parametrize("fn", BACKWARD, ids=BACKWARD_IDS)
def test_grad_out_wrong_ndim(backend, fn):
    expect(ValueError, lambda: fn(np.ones((4, 4, 4)), x4(), w4()), r"\bgrad_out\b", r"4-D")


@pytest.mark.parametrize("fn", BACKWARD, ids=BACKWARD_IDS)
def test_grad_out_wrong_dtype(backend, fn):
    expect(TypeError, lambda: fn(np.ones((1, 4, 4, 4), F32), x4(), w4()), r"\bgrad_out\b")
    expect(TypeError, lambda: fn(np.ones((1, 4, 4, 4), np.int64), x4(), w4()), r"\bgrad_out\b")


@pytest.mark.parametrize("fn", BACKWARD, ids=BACKWARD_IDS)
def test_backward_validates_geometry_too(backend, fn):
    gy = np.ones((1, 4, 4, 4))
    expect(ValueError, lambda: fn(gy, x4(), w4(), stride=0), r"\bstride\b")
    expect(ValueError, lambda: fn(gy, x4(), w4(), padding=-1), r"\bpadding\b")
    expect(ValueError, lambda: fn(gy, x4((1, 2, 6, 6)), w4()), r"\bweight\b")
    expect(TypeError, lambda: fn(gy, x4(dtype=np.int32), w4()), X_NAME)


@pytest.mark.parametrize("mask", [(True, True), (True, True, True, True), True, "xwb"])
def test_needs_input_grad_bad(backend, mask):
    expect(TypeError, lambda: faltung.conv2d_backward(np.ones((1, 4, 4, 4)), x4(), w4(),
                                                      needs_input_grad=mask),
           r"\bneeds_input_grad\b")


def test_backward_out_bad(backend):
    gy = np.ones((1, 4, 4, 4))
    expect(TypeError, lambda: faltung.conv2d_backward(gy, x4(), w4(), out=(None, None)), r"\bout\b")
    expect(ValueError, lambda: faltung.conv2d_backward(
        gy, x4(), w4(), out=(None, np.empty((4, 3, 3, 2)), None)), r"\bout\b")
    expect(TypeError, lambda: faltung.conv2d_backward(
        gy, x4(), w4(), out=(np.empty((1, 3, 6, 6), F32), None, None)), r"\bout\b")
    expect(ValueError, lambda: faltung.conv2d_backward(
        gy, x4(), w4(), out=(None, None, np.empty(3))), r"\bout\b")


# ----------------------------------------------------------------- conv_transpose2d

def xt(shape=(1, 4, 5, 5), dtype=F64):
    return np.ones(shape, dtype)


def wt(shape=(4, 2, 3, 3), dtype=F64):
    return np.ones(shape, dtype)


@pytest.mark.parametrize("stride, dilation, output_padding", [
    (1, 1, 1), (2, 1, 2), (2, 1, (0, 2)), (1, 2, 2), (3, 2, 3), (2, 3, (3, 0)), (2, 1, -1)])
def test_transpose_output_padding_too_large(backend, stride, dilation, output_padding):
    expect(ValueError, lambda: faltung.conv_transpose2d(xt(), wt(), None, stride, 0,
                                                        output_padding, 1, dilation),
           r"\boutput_padding\b")


def test_transpose_backward_output_padding_too_large(backend):
    expect(ValueError, lambda: faltung.conv_transpose2d_backward(
        np.ones((1, 2, 12, 12)), xt(), wt(), 2, 0, 2), r"\boutput_padding\b")


def test_transpose_weight_in_channels_mismatch(backend):
    expect(ValueError, lambda: faltung.conv_transpose2d(xt(), wt((3, 2, 3, 3))), r"\bweight\b",
           r"\b4\b")


def test_transpose_groups_not_dividing(backend):
    expect(ValueError, lambda: faltung.conv_transpose2d(xt((1, 3, 5, 5)), wt((3, 2, 3, 3)),
                                                        groups=2), r"\bgroups\b")


@pytest.mark.parametrize("groups", [0, -1])
def test_transpose_groups_non_positive(backend, groups):
    expect(ValueError, lambda: faltung.conv_transpose2d(xt(), wt(), groups=groups), r"\bgroups\b")


def test_transpose_groups_wrong_type(backend):
    expect(TypeError, lambda: faltung.conv_transpose2d(xt(), wt(), groups=2.0), r"\bgroups\b")


@pytest.mark.parametrize("name, value, exc", [("stride", 0, ValueError),
                                              ("dilation", -1, ValueError),
                                              ("padding", -1, ValueError),
                                              ("padding", "same", TypeError),
                                              ("padding", (0, 0, 0, 0), TypeError),
                                              ("stride", 1.5, TypeError)])
def test_transpose_bad_geometry(backend, name, value, exc):
    expect(exc, lambda: faltung.conv_transpose2d(xt(), wt(), **{name: value}), rf"\b{name}\b")


def test_transpose_empty_output(backend):
    """Padding that eats the whole output: (1-1)*1 - 2*2 + 3 = -1 rows."""
    expect(ValueError, lambda: faltung.conv_transpose2d(xt((1, 4, 1, 1)), wt(), padding=2),
           r"\bpadding\b")


def test_transpose_dtypes_and_shapes(backend):
    expect(TypeError, lambda: faltung.conv_transpose2d(xt(dtype=np.int64), wt()), X_NAME)
    expect(TypeError, lambda: faltung.conv_transpose2d(xt(dtype=F32), wt()), r"\bweight\b")
    expect(ValueError, lambda: faltung.conv_transpose2d(np.ones((4, 5, 5)), wt()), X_NAME, "4-D")
    expect(ValueError, lambda: faltung.conv_transpose2d(xt(), np.ones((4, 2, 3))), r"\bweight\b")
    expect(ValueError, lambda: faltung.conv_transpose2d(xt(), wt(), np.ones(4)), r"\bbias\b")
    expect(ValueError, lambda: faltung.conv_transpose2d(xt(), wt(), out=np.empty((1, 2, 7, 6))),
           r"\bout\b")
    expect(ValueError, lambda: faltung.conv_transpose2d_backward(np.ones((1, 2, 6, 7)), xt(),
                                                                 wt()), r"\bgrad_out\b")


# ------------------------------------------------------------------------------ gemm

def m2(r, c, dtype=F64):
    return np.ones((r, c), dtype)


@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, False), (False, True),
                                              (True, True)])
def test_gemm_inner_dimension_mismatch(backend, trans_a, trans_b):
    a = m2(4, 5) if not trans_a else m2(5, 4)      # op(a) is 4x5
    b = m2(6, 3) if not trans_b else m2(3, 6)      # op(b) is 6x3
    expect(ValueError, lambda: faltung.gemm(a, b, trans_a=trans_a, trans_b=trans_b),
           r"\b(a|b)\b", r"\b5\b", r"\b6\b")


@pytest.mark.parametrize("which", ["a", "b"])
@pytest.mark.parametrize("shape", [(6,), (2, 3, 3)])
def test_gemm_wrong_ndim(backend, which, shape):
    args = {"a": m2(3, 3), "b": m2(3, 3)}
    args[which] = np.ones(shape)
    expect(ValueError, lambda: faltung.gemm(args["a"], args["b"]), rf"\b{which}\b", "2-D")


@pytest.mark.parametrize("bad", [np.int64, np.float16])
def test_gemm_bad_dtype(backend, bad):
    expect(TypeError, lambda: faltung.gemm(m2(3, 3, bad), m2(3, 3)), r"\ba\b")
    expect(TypeError, lambda: faltung.gemm(m2(3, 3), m2(3, 3, bad)), r"\bb\b")


def test_gemm_mixed_dtypes(backend):
    expect(TypeError, lambda: faltung.gemm(m2(3, 3, F32), m2(3, 3, F64)), r"\bb\b")
    expect(TypeError, lambda: faltung.gemm(m2(3, 3), m2(3, 3), m2(3, 3, F32), beta=1.0), r"\bc\b")


def test_gemm_c_required_for_beta(backend):
    expect(ValueError, lambda: faltung.gemm(m2(3, 4), m2(4, 5), beta=1.0), r"\bc\b", r"beta")


def test_gemm_c_wrong_shape(backend):
    expect(ValueError, lambda: faltung.gemm(m2(3, 4), m2(4, 5), m2(5, 3), beta=1.0), r"\bc\b",
           re.escape("(3, 5)"))


def test_gemm_out_bad(backend):
    expect(ValueError, lambda: faltung.gemm(m2(3, 4), m2(4, 5), out=m2(3, 4)), r"\bout\b",
           re.escape("(3, 5)"))
    expect(TypeError, lambda: faltung.gemm(m2(3, 4), m2(4, 5), out=m2(3, 5, F32)), r"\bout\b")


def test_gemm_not_arrays(backend):
    expect(TypeError, lambda: faltung.gemm([[1.0]], m2(1, 1)), r"\ba\b")


# --------------------------------------------------------------------------- threads

@pytest.mark.parametrize("n", [0, -1])
def test_set_num_threads_non_positive(n, restore_threads):
    expect(ValueError, lambda: faltung.set_num_threads(n), r"\b(n|num_threads|threads)\b")


@pytest.mark.parametrize("n", [1.5, "2", None])
def test_set_num_threads_wrong_type(n, restore_threads):
    expect(TypeError, lambda: faltung.set_num_threads(n), r"\b(n|num_threads|threads)\b")


# ------------------------------------------------------------------ nothing crashes

_FUZZ = """
import json, sys, numpy as np, faltung
faltung.set_backend(sys.argv[1])
rng = np.random.default_rng(int(sys.argv[2]))
counts = {"ok": 0, "ValueError": 0, "TypeError": 0}

def pick(good, bad):
    # mostly valid values, sometimes a bad one (zero sizes, negatives, wrong types)
    return good() if rng.random() > 0.12 else bad[int(rng.integers(0, len(bad)))]

for _ in range(int(sys.argv[3])):
    groups = pick(lambda: int(rng.integers(1, 3)), [0, -1, 3, 2.0])
    g = groups if isinstance(groups, int) and groups > 0 else 1
    n = pick(lambda: int(rng.integers(1, 3)), [0])
    c = pick(lambda: g * int(rng.integers(1, 3)), [0, 1, 5])
    o = pick(lambda: g * int(rng.integers(1, 3)), [0, 3])
    cg = pick(lambda: max(c // g, 1), [0, c + 1])
    kh, kw = (pick(lambda: int(rng.integers(1, 4)), [0, 9]) for _ in range(2))
    h, w = (pick(lambda: int(rng.integers(1, 8)), [0]) for _ in range(2))
    stride = pick(lambda: tuple(int(v) for v in rng.integers(1, 4, 2)), [0, -1, (1, 0), 1.5])
    dilation = pick(lambda: tuple(int(v) for v in rng.integers(1, 3, 2)), [0, (2, -1), None])
    padding = pick(lambda: [int(rng.integers(0, 3)), tuple(int(v) for v in rng.integers(0, 3, 4)),
                            "same", "valid"][int(rng.integers(0, 4))],
                   [-1, (0, -2), (1, 2, 3), "full", 1.0])
    dtype = pick(lambda: [np.float32, np.float64][int(rng.integers(0, 2))], [np.int32, np.float16])
    output_padding = pick(lambda: 0, [1, 2, -1])
    x = np.ones((n, c, h, w), dtype)
    wt = np.ones((o, cg, kh, kw), dtype)
    for call in (lambda: faltung.conv2d(x, wt, None, stride, padding, dilation, groups),
                 lambda: faltung.conv2d_backward(np.ones((n, o, 2, 2), dtype), x, wt, stride,
                                                 padding, dilation, groups),
                 lambda: faltung.conv_transpose2d(x, np.ones((c, cg, kh, kw), dtype), None,
                                                  stride, padding if isinstance(padding, int)
                                                  else 0, output_padding, groups, dilation)):
        try:
            call()
            counts["ok"] += 1
        except (ValueError, TypeError) as exc:
            counts[type(exc).__name__] += 1
print(json.dumps(counts))
"""


@pytest.mark.parametrize("name", ["cpp", "numba"])
def test_random_bad_geometries_never_crash(tmp_path, name):
    """Random (mostly invalid) geometries, including zero sizes and negative values, in a
    subprocess: every call returns or raises ValueError/TypeError; the interpreter survives."""
    if name not in faltung.available_backends():
        pytest.skip(f"{name} backend not available")
    env = {k: v for k, v in os.environ.items() if k != "FALTUNG_BACKEND"}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_FUZZ), name, "11", "150"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"crashed or raised ({proc.returncode}):\n{proc.stderr[-3000:]}"
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert counts["ok"] > 0 and counts["ValueError"] > 0 and counts["TypeError"] > 0
