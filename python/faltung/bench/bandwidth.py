"""This machine's memory bandwidth, measured now: the denominator of "% of bandwidth" for the
memory-bound kernels (pooling, depthwise convolution, normalization).

STREAM's "copy" convention: `threads` Python threads each copy their share of a 256 MiB float32
array into another (NumPy releases the GIL while it copies); GB/s counts the bytes read plus the
bytes written (2 x 256 MiB), not the cache line that the CPU reads before it overwrites it. The
arrays are much larger than any cache, so this is DRAM bandwidth. Median of rounds.
"""
from __future__ import annotations

import statistics
import threading
import time

import numpy as np

PROBE_MIB = 256


def stream_copy_gbs(threads: int, mib: int = PROBE_MIB, rounds: int = 7) -> float:
    """Median GB/s of a copy of `mib` MiB split over `threads` threads."""
    count = mib * 2**20 // 4
    source = np.ones(count, np.float32)
    target = np.zeros(count, np.float32)  # touched now: no page faults in the timed copies
    cuts = np.linspace(0, count, threads + 1).astype(int)
    shares = [(target[lo:hi], source[lo:hi]) for lo, hi in zip(cuts[:-1], cuts[1:])]
    seconds = []
    for _ in range(rounds):
        workers = [threading.Thread(target=np.copyto, args=share) for share in shares]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds.append(time.perf_counter() - start)
    return 2 * source.nbytes / statistics.median(seconds) / 1e9
