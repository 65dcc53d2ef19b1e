"""Pooling forward and backward (VGG, ResNet, AlexNet, DenseNet, Inception layers and global
average heads): faltung, NumPy, PyTorch NCHW and PyTorch channels_last, one pytest-benchmark
group per layer and pass, GB/s from faltung.bench.pool.bytes_moved in extra_info. Shapes: QUICK,
or SHAPES with FALTUNG_BENCH_SHAPES=all. Fixtures: conftest.py."""
import os

import pytest

from faltung.bench import pool

IMPLS = ("faltung", "numpy", "torch-nchw", "torch-cl")
SHAPES = pool.SHAPES if os.environ.get("FALTUNG_BENCH_SHAPES", "quick") == "all" else pool.QUICK


class PoolCase:
    def __init__(self, shape):
        self.shape = shape
        self.arrays = shape.arrays()
        self.reference = pool.references(shape, self.arrays)
        self._ops = {}

    def ops(self, impl):
        if impl not in self._ops:
            if impl.startswith("torch"):
                pytest.importorskip("torch")
                self._ops[impl] = pool.torch_ops(self.shape, self.arrays, impl == "torch-cl")
            else:
                build = pool.faltung_ops if impl == "faltung" else pool.numpy_ops
                self._ops[impl] = build(self.shape, self.arrays)
        return self._ops[impl]


@pytest.fixture(scope="module", params=SHAPES, ids=[s.name for s in SHAPES])
def pool_case(request):
    return PoolCase(request.param)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("pass_name", pool.PASSES)
def test_pool(pool_case, pass_name, impl, check_and_time):
    shape = pool_case.shape
    check_and_time(pool_case.ops(impl)[pass_name], pool_case.reference[pass_name],
                   group=f"pool {shape.name} {shape.label} {pass_name}",
                   macs=pool.macs(shape, pass_name), impl=impl,
                   bytes=pool.bytes_moved(shape, pass_name))
