"""conv2d forward, input gradient and weight gradient: faltung, NumPy, PyTorch NCHW and PyTorch
channels_last, one pytest-benchmark group per layer and pass. Fixtures: conftest.py."""
import pytest

from conftest import CONV_IMPLS
from shapes import CONV_PASSES


@pytest.mark.parametrize("impl", CONV_IMPLS)
@pytest.mark.parametrize("pass_name", CONV_PASSES)
def test_conv2d(conv_case, pass_name, impl, check_and_time):
    shape = conv_case.shape
    check_and_time(conv_case.ops(impl)[pass_name], conv_case.reference[pass_name],
                   group=f"conv2d {shape.name} N={shape.batch} {pass_name}", macs=shape.macs,
                   impl=impl)
