"""Normalization forward and backward (ResNet batch norm in training mode, AlexNet's LRN, the
lecture's LCN; faltung/bench/norm.py): faltung, NumPy, PyTorch NCHW and PyTorch channels_last,
one pytest-benchmark group per layer and pass, GB/s from bytes_moved in extra_info. Shapes:
QUICK, or SHAPES with --bench-shapes all. Fixtures: conftest.py."""
import pytest

from conftest import MEMORY_IMPLS

from faltung.bench import norm

FAMILY = norm


@pytest.mark.parametrize("impl", MEMORY_IMPLS)
@pytest.mark.parametrize("pass_name", norm.PASSES)
def test_norm(memory_case, pass_name, impl, check_and_time):
    memory_case.check_and_time(pass_name, impl, check_and_time, "norm")
