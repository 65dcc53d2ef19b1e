"""The depthwise row and tile operations are compiled once per ISA (depthwise_rows_*.cpp):
every family this machine can run, chosen with FALTUNG_ISA in a fresh interpreter, against the
float64 reference, on shapes that take each path (wide rows, narrow "wide" planes, strided row
classes, the any-count taps of 5x5 and multiplier 2, on AVX-512 in float32 the channel-blocked
tiles with full 16-channel blocks and a channel tail, the row-form forward and input gradient of
an 80x80 map) and the fused and materialised separable."""
from __future__ import annotations

import numpy as np
import pytest

from tests import reference as ref
from tests.conftest import assert_close
from tests.test_backends import run_python
from tests.test_isa import _available_isas

# (n, c, m, size, kernel, stride, padding)
SHAPES = [(1, 3, 1, 40, 3, 1, 1), (2, 4, 1, 7, 3, 1, 1), (1, 3, 1, 23, 3, 2, 1),
          (1, 2, 2, 12, 5, 1, 2), (2, 19, 1, 7, 3, 1, 1), (1, 17, 2, 9, 3, 2, 1),
          (1, 2, 1, 80, 3, 1, 1)]
PW_OUT = 4


def _arrays(dtype):
    rng = np.random.default_rng(5)
    cases = []
    for n, c, m, size, k, stride, padding in SHAPES:
        out = (size + 2 * padding - k) // stride + 1
        cases.append((rng.standard_normal((n, c, size, size)).astype(dtype),
                      rng.standard_normal((c * m, 1, k, k)).astype(dtype),
                      rng.standard_normal((n, c * m, out, out)).astype(dtype),
                      rng.standard_normal((PW_OUT, c * m, 1, 1)).astype(dtype)))
    return cases


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("isa", ["avx512", "avx2", "generic"])
def test_row_operations_per_isa(tmp_path, isa, dtype):
    if isa not in _available_isas():
        pytest.skip(f"this CPU cannot run the {isa} kernels")
    dtype_name = np.dtype(dtype).name
    out = run_python(f"""
        import json, numpy as np, faltung
        rng = np.random.default_rng(5)
        results = {{}}
        for i, (n, c, m, size, k, stride, padding) in enumerate({SHAPES!r}):
            out = (size + 2 * padding - k) // stride + 1
            x = rng.standard_normal((n, c, size, size)).astype(np.{dtype_name})
            w = rng.standard_normal((c * m, 1, k, k)).astype(np.{dtype_name})
            gy = rng.standard_normal((n, c * m, out, out)).astype(np.{dtype_name})
            pw = rng.standard_normal(({PW_OUT}, c * m, 1, 1)).astype(np.{dtype_name})
            results[f"y{{i}}"] = faltung.depthwise_conv2d(x, w, None, stride, padding)
            gx, gw, _ = faltung.depthwise_conv2d_backward(gy, x, w, stride, padding)
            results[f"gx{{i}}"], results[f"gw{{i}}"] = gx, gw
            results[f"sep{{i}}"] = faltung.separable_conv2d(x, w, pw, None, stride, padding)
        np.savez(r"{tmp_path / 'results.npz'}", **results)
        print(json.dumps({{"isa": faltung.gemm_kernel_name(), "backend": faltung.get_backend()}}))
    """, tmp_path, FALTUNG_ISA=isa, FALTUNG_BACKEND="cpp")
    assert out == {"isa": isa, "backend": "cpp"}
    got = np.load(tmp_path / "results.npz")
    for i, ((n, c, m, size, k, stride, padding), (x, w, gy, pw)) in enumerate(
            zip(SHAPES, _arrays(dtype))):
        pads = (padding,) * 4
        assert_close(got[f"y{i}"], ref.depthwise_conv2d(x, w, None, stride, pads), dtype=dtype,
                     k=k * k, what=f"{i} forward")
        ex, ew, _ = ref.depthwise_conv2d_backward(gy, x, w, stride, pads)
        assert_close(got[f"gx{i}"], ex, dtype=dtype, k=m * k * k, what=f"{i} grad_input")
        assert_close(got[f"gw{i}"], ew, dtype=dtype, k=gy.size // (c * m), what=f"{i} grad_weight")
        assert_close(got[f"sep{i}"], ref.separable_conv2d(x, w, pw, None, stride, pads),
                     dtype=dtype, k=c * m * k * k, what=f"{i} separable")
