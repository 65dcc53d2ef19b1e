"""pytest-benchmark suites (bench_*.py): faltung against NumPy and PyTorch (NCHW and
channels_last) on GEMM and conv2d (shapes.py) and on the memory-bound families of faltung.bench
(pool, norm, depthwise: a suite names its family as FAMILY and takes the memory_case fixture).
Every result is checked against a float64 reference before it is timed; the group names put the
peers of one case side by side.

    pytest benchmarks/ --benchmark-only [--bench-threads N] [--bench-shapes quick|all]

Defaults come from FALTUNG_BENCH_THREADS (1) and FALTUNG_BENCH_SHAPES (quick). bench_*.py files
are collected by the hook below (`-o python_files='bench_*.py'` works as well); a plain `pytest`
never looks here (testpaths = ["tests"]). NumPy runs in this process with OPENBLAS_CORETYPE as
exported: run again under `env -u OPENBLAS_CORETYPE` for the other half of DESIGN.md §5's
comparison (`faltung bench` measures both in one run).
"""
from __future__ import annotations

import fnmatch
import functools
import os
import sys

import pytest

CONV_IMPLS = ("faltung", "numpy", "torch-nchw", "torch-cl")
GEMM_IMPLS = ("faltung", "numpy", "torch")


def pytest_addoption(parser):
    group = parser.getgroup("faltung benchmarks")
    group.addoption("--bench-threads", type=int,
                    default=int(os.environ.get("FALTUNG_BENCH_THREADS", "1")),
                    help="threads for faltung, PyTorch and OpenBLAS (env FALTUNG_BENCH_THREADS)")
    group.addoption("--bench-shapes", choices=("quick", "all"),
                    default=os.environ.get("FALTUNG_BENCH_SHAPES", "quick"),
                    help="the quick subset or every shape (env FALTUNG_BENCH_SHAPES)")


def pytest_configure(config):
    threads = config.getoption("--bench-threads")
    if threads < 1:
        raise pytest.UsageError(f"--bench-threads: expected a positive int, got {threads}")
    if "numpy" in sys.modules:  # OpenBLAS read its thread count when numpy was loaded
        config.issue_config_time_warning(pytest.PytestConfigWarning(
            "numpy was imported before the benchmarks' conftest: NumPy runs with OpenBLAS's "
            "default thread count"), stacklevel=2)
    else:
        os.environ["OPENBLAS_NUM_THREADS"] = str(threads)


def pytest_collect_file(file_path, parent):
    """Collect bench_*.py, unless python_files or the command line already does."""
    if not fnmatch.fnmatch(file_path.name, "bench_*.py") or parent.session.isinitpath(file_path):
        return None
    if any(fnmatch.fnmatch(file_path.name, pattern)
           for pattern in parent.config.getini("python_files")):
        return None
    return pytest.Module.from_parent(parent, path=file_path)


def pytest_generate_tests(metafunc):
    from shapes import select
    gemm_shapes, conv_shapes = select(metafunc.config.getoption("--bench-shapes") == "quick")
    if "conv_shape" in metafunc.fixturenames:
        metafunc.parametrize("conv_shape", conv_shapes, scope="module",
                             ids=[f"{s.name}-N{s.batch}" for s in conv_shapes])
    if "memory_shape" in metafunc.fixturenames:
        family = metafunc.module.FAMILY
        shapes = family.QUICK if metafunc.config.getoption("--bench-shapes") == "quick" \
            else family.SHAPES
        metafunc.parametrize("memory_shape", shapes, scope="module",
                             ids=[f"{s.name}-N{s.batch}" for s in shapes])
    if "gemm_shape" in metafunc.fixturenames:
        metafunc.parametrize("gemm_shape", gemm_shapes, scope="module",
                             ids=[s.name for s in gemm_shapes])


def _torch_or_skip():
    from faltung.bench import peers
    if peers.torch_module() is None:
        pytest.skip("PyTorch is not installed")


class ConvCase:
    """One conv shape's data, float64 references and (built on demand) each impl's ops."""

    def __init__(self, shape):
        from faltung.bench import cases, peers
        self.shape = shape
        self.arrays = shape.arrays()
        self.reference = peers.reference_conv(shape, *self.arrays)
        self._builders = {
            "faltung": cases.faltung_conv, "numpy": peers.numpy_conv,
            "torch-nchw": functools.partial(peers.torch_conv, channels_last=False),
            "torch-cl": functools.partial(peers.torch_conv, channels_last=True)}
        self._ops = {}

    def ops(self, impl: str) -> dict:
        if impl.startswith("torch"):
            _torch_or_skip()
        if impl not in self._ops:
            self._ops[impl] = self._builders[impl](self.shape, *self.arrays)
        return self._ops[impl]


class GemmCase:
    """One GEMM shape: per layout its data, float64 reference and each impl's callable."""

    def __init__(self, shape):
        self.shape = shape
        self._data = {}

    def data(self, layout: str):
        """(a, b, float64 reference) for `layout`."""
        from faltung.bench import peers
        if layout not in self._data:
            a, b = self.shape.arrays(layout)
            self._data[layout] = a, b, peers.reference_gemm(self.shape, a, b, layout)
        return self._data[layout]

    def op(self, impl: str, layout: str):
        from faltung.bench import cases, peers
        if impl == "torch":
            _torch_or_skip()
        build = {"faltung": cases.faltung_gemm, "numpy": peers.numpy_gemm,
                 "torch": peers.torch_gemm}[impl]
        a, b, _ = self.data(layout)
        return build(self.shape, a, b, layout)


MEMORY_IMPLS = CONV_IMPLS


class MemoryCase:
    """One shape of a memory-bound family (faltung.bench.pool, .norm, .depthwise): its data,
    float64 references and (built on demand) each impl's ops."""

    def __init__(self, family, shape):
        from faltung.bench import peers
        self.family, self.shape = family, shape
        self.arrays = shape.arrays()
        self.reference = peers.float64_references(family, shape, self.arrays)
        self._ops = {}

    def ops(self, impl: str) -> dict:
        if impl.startswith("torch"):
            _torch_or_skip()
        if impl not in self._ops:
            build = {"faltung": self.family.faltung_ops, "numpy": self.family.numpy_ops,
                     "torch-nchw": functools.partial(self.family.torch_ops, channels_last=False),
                     "torch-cl": functools.partial(self.family.torch_ops, channels_last=True)}
            self._ops[impl] = build[impl](self.shape, self.arrays)
        return self._ops[impl]

    def check_and_time(self, pass_name: str, impl: str, check_and_time, kind: str):
        shape, family = self.shape, self.family
        check_and_time(self.ops(impl)[pass_name], self.reference[pass_name],
                       group=f"{kind} {shape.name} {shape.label} {pass_name}",
                       macs=family.macs(shape, pass_name), impl=impl,
                       bytes=family.bytes_moved(shape, pass_name))


@pytest.fixture(scope="module")
def memory_case(request, memory_shape):
    """The case of a memory-bound suite: the module names its family as FAMILY."""
    return MemoryCase(request.module.FAMILY, memory_shape)


@pytest.fixture(scope="module")
def conv_case(conv_shape):
    return ConvCase(conv_shape)


@pytest.fixture(scope="module")
def gemm_case(gemm_shape):
    return GemmCase(gemm_shape)


@pytest.fixture(scope="session")
def bench_threads(pytestconfig):
    import faltung
    from faltung.bench import peers
    threads = pytestconfig.getoption("--bench-threads")
    faltung.set_num_threads(threads)
    if peers.torch_module() is not None:
        peers.torch_module().set_num_threads(threads)
    return threads


@pytest.fixture
def check_and_time(benchmark, bench_threads):
    """check_and_time(fn, reference, group, macs, **info): assert fn() is right, then time it
    in pytest-benchmark group `group` (the thread count appended)."""
    from faltung.bench import cases

    def run(fn, reference, group: str, macs: int, **info):
        error = cases.relative_error(fn(), reference)
        assert error <= cases.TOLERANCE, (
            f"wrong result, not timed: max rel error {error:.2e} ({cases.TOLERANCE_TEXT})")
        benchmark.group = f"{group} {bench_threads}T"
        benchmark.extra_info.update(
            info, threads=bench_threads, macs=macs, gflop=2 * macs / 1e9, rel_error=error,
            openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"))
        benchmark(fn)

    return run
