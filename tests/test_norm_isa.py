"""The normalization kernels of every instruction set this CPU runs (AVX-512, AVX2, plain
C++), chosen with FALTUNG_ISA in a fresh interpreter, against the float64 references: batch
norm (training and evaluation, forward and backward), LRN (beta 0.75 and another) and LCN,
float32 and float64, on runs of 37 and 70 pixels (tails after every vector width and tile),
batch norm on 21 channels (a block of 16, a group of 4 runs and one more)."""
from __future__ import annotations

import numpy as np
import pytest

from tests import reference as ref
from tests.conftest import assert_close
from tests.test_backends import run_python
from tests.test_isa import _available_isas
from tests.test_norm_batch import _grad_scales

SNIPPET = """
    import json, numpy as np, faltung
    inputs = np.load(r"{inputs}")
    results = {{}}
    for name in ("float32", "float64"):
        x, g, w, x2, g2 = (inputs[k + "_" + name] for k in ("x", "g", "w", "x2", "g2"))
        rm, rv = np.zeros_like(w), np.ones_like(w)
        results["y_train_" + name] = faltung.batch_norm(x, rm, rv, w, None, True)
        results["y_eval_" + name] = faltung.batch_norm(x, rm, rv, w, None, False)
        for i, a in enumerate(faltung.batch_norm_backward(g, x, rm, rv, w, True)):
            results[f"train{{i}}_" + name] = a
        for i, a in enumerate(faltung.batch_norm_backward(g, x, rm, rv, w, False)):
            results[f"eval{{i}}_" + name] = a
        for beta in (0.75, 0.6):
            results[f"lrn_{{beta}}_" + name] = faltung.local_response_norm(x2, 4, 0.5, beta, 1.5)
            results[f"lrn_grad_{{beta}}_" + name] = faltung.local_response_norm_backward(
                g2, x2, 4, 0.5, beta, 1.5)
        results["lcn_" + name] = faltung.local_contrast_norm(x2)
        results["lcn_grad_" + name] = faltung.local_contrast_norm_backward(g2, x2)
    np.savez(r"{results}", **results)
    print(json.dumps({{"isa": faltung.gemm_kernel_name(), "backend": faltung.get_backend()}}))
"""


def _inputs():
    rng = np.random.default_rng(5)
    arrays = {}
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        arrays["x_" + name] = (rng.standard_normal((3, 21, 37)) + 2).astype(dtype)
        arrays["g_" + name] = rng.standard_normal((3, 21, 37)).astype(dtype)
        arrays["w_" + name] = rng.standard_normal(21).astype(dtype)
        arrays["x2_" + name] = rng.standard_normal((2, 7, 70)).astype(dtype)
        arrays["g2_" + name] = rng.standard_normal((2, 7, 70)).astype(dtype)
    return arrays


@pytest.mark.parametrize("isa", ["avx512", "avx2", "generic"])
def test_kernel_family(tmp_path, isa):
    if isa not in _available_isas():
        pytest.skip(f"this CPU cannot run the {isa} kernels")
    inputs = _inputs()
    np.savez(tmp_path / "inputs.npz", **inputs)
    out = run_python(SNIPPET.format(inputs=tmp_path / "inputs.npz",
                                    results=tmp_path / "results.npz"),
                     tmp_path, FALTUNG_ISA=isa, FALTUNG_BACKEND="cpp")
    assert out == {"isa": isa, "backend": "cpp"}
    got = np.load(tmp_path / "results.npz")
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        x, g, w, x2, g2 = (inputs[k + "_" + name] for k in ("x", "g", "w", "x2", "g2"))
        c = len(w)
        y, rm, rv, _, _ = ref.batch_norm(x, np.zeros(c), np.ones(c), w, None, True, 0.1, 1e-5)
        assert_close(got["y_train_" + name], y, dtype=dtype, what="train forward")
        assert_close(got["y_eval_" + name], ref.batch_norm(x, rm, rv, w, None, False, 0.1, 1e-5)[0],
                     dtype=dtype, what="eval forward")
        sw, sb = _grad_scales(g, x, x.shape)
        for mode, training, stats in (("train", True, (None, None)), ("eval", False, (rm, rv))):
            expected = ref.batch_norm_backward(g, x, *stats, w, training, 1e-5)
            for i, (e, scale) in enumerate(zip(expected, (None, sw, sb))):
                assert_close(got[f"{mode}{i}_" + name], e, dtype=dtype, k=111, scale=scale,
                             what=f"{mode} gradient {i}")
        for beta in (0.75, 0.6):
            assert_close(got[f"lrn_{beta}_" + name], ref.local_response_norm(x2, 4, 0.5, beta, 1.5),
                         dtype=dtype, what=f"lrn beta {beta}")
            assert_close(got[f"lrn_grad_{beta}_" + name],
                         ref.local_response_norm_backward(g2, x2, 4, 0.5, beta, 1.5), dtype=dtype,
                         what=f"lrn gradient beta {beta}")
        assert_close(got["lcn_" + name], ref.local_contrast_norm(x2, 1e-5), dtype=dtype, what="lcn")
        assert_close(got["lcn_grad_" + name], ref.local_contrast_norm_backward(g2, x2, 1e-5),
                     dtype=dtype, what="lcn gradient")
