"""GEMM C = op(A) @ op(B) in layouts nn, tn, nt (the GEMMs of a conv's forward, input gradient
and weight gradient): faltung, NumPy, PyTorch, one pytest-benchmark group per size and layout.
Fixtures: conftest.py."""
import pytest

from conftest import GEMM_IMPLS
from shapes import GEMM_LAYOUTS


@pytest.mark.parametrize("impl", GEMM_IMPLS)
@pytest.mark.parametrize("layout", GEMM_LAYOUTS)
def test_gemm(gemm_case, layout, impl, check_and_time):
    shape = gemm_case.shape
    check_and_time(gemm_case.op(impl, layout), gemm_case.data(layout)[2],
                   group=f"gemm {shape.name} {shape.m}x{shape.k}x{shape.n} {layout}",
                   macs=shape.macs, impl=impl)
