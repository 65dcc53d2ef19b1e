"""Median-of-rounds timer with warm-up.

The callable is run a few times untimed (first-call costs: JIT, workspace growth, page faults
of fresh output buffers), then timed in rounds; a round calls it `number` times, enough to
last at least `min_round_s`, so that the timer's resolution never matters. Rounds go on until
both `min_rounds` and `budget_s` are reached, or `max_rounds`. Outputs are meant to be reused
through `out=` by the callable, so allocations are not timed. The garbage collector is off
while timing, as in timeit.
"""
from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TimerConfig:
    warmup: int = 2
    min_rounds: int = 5
    max_rounds: int = 50
    budget_s: float = 0.4
    min_round_s: float = 2e-3

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Timing:
    median_s: float
    min_s: float
    rounds: int
    number: int

    def to_dict(self) -> dict:
        return asdict(self)


def measure(fn, config: TimerConfig = TimerConfig()) -> Timing:
    """Time `fn()`; the result is seconds per call (median and best over the rounds)."""
    last = 0.0
    for _ in range(max(config.warmup, 1)):
        start = time.perf_counter()
        fn()
        last = time.perf_counter() - start
    number = max(1, math.ceil(config.min_round_s / max(last, 1e-9)))
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        per_call = []
        spent = 0.0
        while len(per_call) < config.max_rounds and (
                len(per_call) < config.min_rounds or spent < config.budget_s):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            elapsed = time.perf_counter() - start
            spent += elapsed
            per_call.append(elapsed / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(statistics.median(per_call), min(per_call), len(per_call), number)
