"""Every micro-kernel family this machine can run (AVX-512, AVX2, plain C++), chosen with
FALTUNG_ISA in a fresh interpreter, against the float64 reference: GEMM in its three layouts and
conv2d forward and backward on shapes that take each of the convolution's variants (wide images
read in place, small images gathered, strided input gradient by col2im, few output channels by
the direct convolution)."""
from __future__ import annotations

import numpy as np
import pytest

import faltung
from tests import reference as ref
from tests.conftest import assert_close
from tests.test_backends import run_python

# (n, c, o, size, kernel, stride, padding)
CONV_SHAPES = [(2, 20, 36, 40, 3, 1, 1), (9, 24, 40, 7, 3, 1, 1), (2, 6, 10, 17, 5, 2, 2),
               (16, 6, 6, 10, 5, 1, 2)]  # the last: the direct convolution (conv2d_direct.hpp)
GEMM_SHAPES = [("nn", 37, 300, 70), ("tn", 20, 45, 33), ("nt", 70, 290, 50)]


def _inputs(dtype):
    rng = np.random.default_rng(11)
    gemms = [(rng.standard_normal((k, m) if lay[0] == "t" else (m, k)).astype(dtype),
              rng.standard_normal((n, k) if lay[1] == "t" else (k, n)).astype(dtype))
             for lay, m, k, n in GEMM_SHAPES]
    convs = []
    for n, c, o, size, k, stride, padding in CONV_SHAPES:
        out = (size + 2 * padding - k) // stride + 1
        convs.append((rng.standard_normal((n, c, size, size)).astype(dtype),
                      rng.standard_normal((o, c, k, k)).astype(dtype),
                      rng.standard_normal((n, o, out, out)).astype(dtype)))
    return gemms, convs


def _available_isas():
    name = faltung.gemm_kernel_name()
    return {"avx512": ["avx512", "avx2", "generic"], "avx2": ["avx2", "generic"]}.get(name, [name])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("isa", ["avx512", "avx2", "generic"])
def test_kernel_family(tmp_path, isa, dtype):
    if isa not in _available_isas():
        pytest.skip(f"this CPU cannot run the {isa} kernels")
    dtype_name = np.dtype(dtype).name
    out = run_python(f"""
        import json, numpy as np, faltung
        rng = np.random.default_rng(11)
        dtype = np.{dtype_name}
        results = {{}}
        gemm_shapes = {GEMM_SHAPES!r}
        conv_shapes = {CONV_SHAPES!r}
        for i, (lay, m, k, n) in enumerate(gemm_shapes):
            a = rng.standard_normal((k, m) if lay[0] == "t" else (m, k)).astype(dtype)
            b = rng.standard_normal((n, k) if lay[1] == "t" else (k, n)).astype(dtype)
            results[f"gemm{{i}}"] = faltung.gemm(a.T if lay[0] == "t" else a,
                                                 b.T if lay[1] == "t" else b)
        for i, (n, c, o, size, k, stride, padding) in enumerate(conv_shapes):
            out = (size + 2 * padding - k) // stride + 1
            x = rng.standard_normal((n, c, size, size)).astype(dtype)
            w = rng.standard_normal((o, c, k, k)).astype(dtype)
            gy = rng.standard_normal((n, o, out, out)).astype(dtype)
            results[f"y{{i}}"] = faltung.conv2d(x, w, None, stride, padding)
            gx, gw, _ = faltung.conv2d_backward(gy, x, w, stride, padding)
            results[f"gx{{i}}"], results[f"gw{{i}}"] = gx, gw
        np.savez(r"{tmp_path / 'results.npz'}", **results)
        print(json.dumps({{"isa": faltung.gemm_kernel_name(), "backend": faltung.get_backend()}}))
    """, tmp_path, FALTUNG_ISA=isa, FALTUNG_BACKEND="cpp")
    assert out == {"isa": isa, "backend": "cpp"}
    got = np.load(tmp_path / "results.npz")
    gemms, convs = _inputs(dtype)
    for i, ((lay, m, k, n), (a, b)) in enumerate(zip(GEMM_SHAPES, gemms)):
        expected = ref.gemm(a.T if lay[0] == "t" else a, b.T if lay[1] == "t" else b)
        assert_close(got[f"gemm{i}"], expected, dtype=dtype, k=k, what=f"gemm {lay}")
    for i, ((n, c, o, size, k, stride, padding), (x, w, gy)) in enumerate(zip(CONV_SHAPES, convs)):
        pads = (padding,) * 4
        assert_close(got[f"y{i}"], ref.conv2d(x, w, None, stride, pads), dtype=dtype,
                     k=c * k * k, what=f"conv {i} forward")
        ex, ew, _ = ref.conv2d_backward(gy, x, w, stride, pads)
        assert_close(got[f"gx{i}"], ex, dtype=dtype, k=o * k * k, what=f"conv {i} grad_input")
        assert_close(got[f"gw{i}"], ew, dtype=dtype, k=gy.size // o, what=f"conv {i} grad_weight")
