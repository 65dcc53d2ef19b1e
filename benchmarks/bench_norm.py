"""Normalization forward and backward (ResNet batch norm in training mode, AlexNet's LRN, the
lecture's LCN): faltung, NumPy, PyTorch NCHW and PyTorch channels_last, one pytest-benchmark
group per layer and pass, GB/s from faltung.bench.norm.bytes_moved in extra_info. Shapes: QUICK,
or SHAPES with FALTUNG_BENCH_SHAPES=all. Fixtures: conftest.py."""
import os

import pytest

from faltung.bench import norm

IMPLS = ("faltung", "numpy", "torch-nchw", "torch-cl")
SHAPES = norm.SHAPES if os.environ.get("FALTUNG_BENCH_SHAPES", "quick") == "all" else norm.QUICK


class PoolCase:
    def __init__(self, shape):
        self.shape = shape
        self.arrays = shape.arrays()
        self.reference = norm.references(shape, self.arrays)
        self._ops = {}

    def ops(self, impl):
        if impl not in self._ops:
            if impl.startswith("torch"):
                pytest.importorskip("torch")
                self._ops[impl] = norm.torch_ops(self.shape, self.arrays, impl == "torch-cl")
            else:
                build = norm.faltung_ops if impl == "faltung" else norm.numpy_ops
                self._ops[impl] = build(self.shape, self.arrays)
        return self._ops[impl]


@pytest.fixture(scope="module", params=SHAPES, ids=[s.name for s in SHAPES])
def norm_case(request):
    return PoolCase(request.param)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("pass_name", norm.PASSES)
def test_norm(norm_case, pass_name, impl, check_and_time):
    shape = norm_case.shape
    check_and_time(norm_case.ops(impl)[pass_name], norm_case.reference[pass_name],
                   group=f"norm {shape.name} {shape.label} {pass_name}",
                   macs=norm.macs(shape, pass_name), impl=impl,
                   bytes=norm.bytes_moved(shape, pass_name))
