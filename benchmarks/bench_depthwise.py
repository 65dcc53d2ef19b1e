"""Depthwise convolution forward, input gradient and weight gradient (MobileNet v1/v2 and
Xception layers, faltung/bench/depthwise.py): faltung, NumPy, PyTorch NCHW and PyTorch
channels_last, one pytest-benchmark group per layer and pass, GB/s from bytes_moved.
--bench-shapes all runs every layer (default: the quick subset). Fixtures: conftest.py."""
import pytest

from conftest import MEMORY_IMPLS

from faltung.bench import depthwise

FAMILY = depthwise


@pytest.mark.parametrize("impl", MEMORY_IMPLS)
@pytest.mark.parametrize("pass_name", depthwise.PASSES)
def test_depthwise(memory_case, pass_name, impl, check_and_time):
    memory_case.check_and_time(pass_name, impl, check_and_time, "depthwise")
