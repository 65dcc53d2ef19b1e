"""Depthwise convolution forward, input gradient and weight gradient (MobileNet v1/v2 and
Xception layers, python/faltung/bench/depthwise.py): faltung, NumPy, PyTorch NCHW and PyTorch
channels_last, one pytest-benchmark group per layer and pass, GB/s from bytes_moved.
FALTUNG_BENCH_SHAPES=all runs every layer (default: the quick subset)."""
import functools
import os

import pytest

from conftest import CONV_IMPLS

from faltung.bench import depthwise as dw
from faltung.bench import peers

SHAPES = dw.SHAPES if os.environ.get("FALTUNG_BENCH_SHAPES", "quick") == "all" else dw.QUICK


class DepthwiseCase:
    def __init__(self, shape):
        self.shape = shape
        self.arrays = shape.arrays()
        self.reference = dw.references(shape, self.arrays)
        self._ops = {}

    def ops(self, impl: str) -> dict:
        if impl.startswith("torch") and peers.torch_module() is None:
            pytest.skip("PyTorch is not installed")
        build = {"faltung": dw.faltung_ops, "numpy": dw.numpy_ops,
                 "torch-nchw": functools.partial(dw.torch_ops, channels_last=False),
                 "torch-cl": functools.partial(dw.torch_ops, channels_last=True)}[impl]
        if impl not in self._ops:
            self._ops[impl] = build(self.shape, self.arrays)
        return self._ops[impl]


@pytest.fixture(scope="module", params=SHAPES, ids=[f"{s.name}-N{s.batch}" for s in SHAPES])
def depthwise_case(request):
    return DepthwiseCase(request.param)


@pytest.mark.parametrize("impl", CONV_IMPLS)
@pytest.mark.parametrize("pass_name", dw.PASSES)
def test_depthwise(depthwise_case, pass_name, impl, check_and_time):
    shape = depthwise_case.shape
    check_and_time(depthwise_case.ops(impl)[pass_name], depthwise_case.reference[pass_name],
                   group=f"depthwise {shape.name} {shape.label} {pass_name}",
                   macs=dw.macs(shape, pass_name), impl=impl,
                   bytes=dw.bytes_moved(shape, pass_name))
