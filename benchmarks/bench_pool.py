"""Pooling forward and backward (VGG, ResNet, AlexNet, DenseNet, Inception layers and global
average heads): faltung, NumPy, PyTorch NCHW and PyTorch channels_last, one pytest-benchmark
group per layer and pass, GB/s from faltung.bench.pool.bytes_moved in extra_info. Shapes: QUICK,
or SHAPES with --bench-shapes all. Fixtures: conftest.py. Run as a script, it prints the
interleaved-rounds table of docs/performance.md."""
import pytest

from conftest import MEMORY_IMPLS, MemoryCase

from faltung.bench import pool

FAMILY = pool


@pytest.mark.parametrize("impl", MEMORY_IMPLS)
@pytest.mark.parametrize("pass_name", pool.PASSES)
def test_pool(memory_case, pass_name, impl, check_and_time):
    memory_case.check_and_time(pass_name, impl, check_and_time, "pool")


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
    impls = [i for i in MEMORY_IMPLS if torch is not None or not i.startswith("torch")]
    print("| layer | pass | threads | faltung ms | GB/s | numpy ms | torch NCHW ms | torch CL ms "
          "| vs NCHW | vs CL |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for threads in threads_list:
        faltung.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        for shape in shapes:
            case = MemoryCase(pool, shape)
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
    import os
    import sys
    shapes = pool.SHAPES if os.environ.get("FALTUNG_BENCH_SHAPES") == "all" else pool.QUICK
    _table([int(t) for t in (sys.argv[1] if len(sys.argv) > 1 else "1").split(",")], shapes,
           int(sys.argv[2]) if len(sys.argv) > 2 else 11)
