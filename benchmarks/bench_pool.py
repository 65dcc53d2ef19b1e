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


def _table(threads_list, shapes, rounds):
    """Markdown rows: every impl timed in interleaved rounds (peers side by side), medians."""
    import time

    import numpy as np

    import faltung
    torch = None
    try:
        import torch
    except ImportError:
        pass
    impls = [i for i in IMPLS if torch is not None or not i.startswith("torch")]
    print("| layer | pass | threads | faltung ms | GB/s | numpy ms | torch NCHW ms | torch CL ms "
          "| vs NCHW | vs CL |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for threads in threads_list:
        faltung.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        for shape in shapes:
            case = PoolCase(shape)
            for pass_name in pool.PASSES:
                fns = {impl: case.ops(impl)[pass_name] for impl in impls}
                for fn in fns.values():
                    fn()
                times = {impl: [] for impl in impls}
                for _ in range(rounds):
                    for impl, fn in fns.items():
                        start = time.perf_counter()
                        fn()
                        times[impl].append(time.perf_counter() - start)
                ms = {impl: 1e3 * float(np.median(t)) for impl, t in times.items()}
                gbs = pool.bytes_moved(shape, pass_name) / (ms["faltung"] * 1e-3) / 1e9
                ratio = {impl: ms[impl] / ms["faltung"] for impl in ms}
                print(f"| {shape.name} ({shape.label}) | {pass_name} | {threads} | "
                      f"{ms['faltung']:.3f} | {gbs:.1f} | {ms['numpy']:.2f} | "
                      f"{ms.get('torch-nchw', float('nan')):.3f} | {ms.get('torch-cl', float('nan')):.3f} | "
                      f"{ratio.get('torch-nchw', float('nan')):.2f} | {ratio.get('torch-cl', float('nan')):.2f} |",
                      flush=True)


if __name__ == "__main__":
    # python benchmarks/bench_pool.py [threads, e.g. 1,2] [rounds]: the table of
    # docs/performance.md (medians of interleaved rounds; FALTUNG_BENCH_SHAPES=all for SHAPES).
    import sys
    _table([int(t) for t in (sys.argv[1] if len(sys.argv) > 1 else "1").split(",")], SHAPES,
           int(sys.argv[2]) if len(sys.argv) > 2 else 11)
