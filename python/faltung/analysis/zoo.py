"""Every architecture of faltung.models side by side: parameters, MACs and the measured time of
one forward and one backward pass (batch 1, faltung's kernels), so that a reader sees whether a
network with fewer MACs also runs faster; plotted as PNG (matplotlib, optional).

Timing a 138-million-parameter VGG on a 2-core machine takes seconds per pass, so `input_scale`
can shrink the standard input (e.g. 0.5: 112x112 instead of 224x224) for the timing (networks
that take only their standard size, such as AlexNet 2012, are timed at it); the counts are
always at the standard input.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .. import models
from ..bench.timing import TimerConfig, measure
from .summary import summary

TIMER = TimerConfig(warmup=1, min_rounds=3, max_rounds=5, budget_s=0.2)


@dataclass
class ZooRow:
    model: str
    input_shape: tuple  # the standard input, where params and MACs are counted
    params: int
    macs: int
    timed_shape: tuple | None = None
    forward_ms: float | None = None
    backward_ms: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _scaled(shape: tuple, scale: float) -> tuple:
    if len(shape) != 3 or scale == 1:
        return shape
    c, h, w = shape
    return (c, max(1, round(h * scale)), max(1, round(w * scale)))


def zoo(names=None, *, time: bool = True, input_scale: float = 1.0, timer=TIMER,
        progress=None) -> list[ZooRow]:
    """One row per model (all registered ones unless `names`); `progress(name)` is called
    before each."""
    rows = []
    for name in names or models.list():
        if progress is not None:
            progress(name)
        entry = models.entry(name)
        model = entry.builder(rng=np.random.default_rng(0))
        counted = summary(model, entry.input_shape)
        row = ZooRow(name, tuple(entry.input_shape), counted.params, counted.macs)
        if time:
            model.eval()
            shape = _scaled(tuple(entry.input_shape), input_scale)
            x = np.random.default_rng(1).standard_normal((1,) + shape).astype(np.float32)
            try:
                y = model(x)
            except ValueError:  # a network that flattens a fixed map takes its standard size
                shape = tuple(entry.input_shape)
                x = np.random.default_rng(1).standard_normal((1,) + shape).astype(np.float32)
                y = model(x)
            grad = np.ones_like(y)
            row.timed_shape = shape
            row.forward_ms = 1e3 * measure(lambda: model(x), timer).median_s

            def backward():
                model.zero_grad()
                model.backward(grad, input_grad=False)

            row.backward_ms = 1e3 * measure(backward, timer).median_s
        rows.append(row)
    return rows


def format_zoo(rows: list[ZooRow]) -> str:
    head = (f"{'model':<22} {'input':<10} {'params':>13} {'GMACs':>8} {'timed at':<10} "
            f"{'fwd ms':>9} {'bwd ms':>9} {'GMAC/s fwd':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        timed = "x".join(map(str, r.timed_shape)) if r.timed_shape else ""
        rate = ""
        if r.forward_ms:
            timed_macs = r.macs * (np.prod(r.timed_shape) / np.prod(r.input_shape))
            rate = f"{timed_macs / r.forward_ms / 1e6:.1f}"
        lines.append(f"{r.model:<22} {'x'.join(map(str, r.input_shape)):<10} {r.params:>13,} "
                     f"{r.macs / 1e9:>8.3f} {timed:<10} "
                     f"{'' if r.forward_ms is None else f'{r.forward_ms:.1f}':>9} "
                     f"{'' if r.backward_ms is None else f'{r.backward_ms:.1f}':>9} {rate:>10}")
    return "\n".join(lines)


def plot_zoo(rows: list[ZooRow], path) -> None:
    """Two panels: MACs against parameters, and measured forward + backward time against MACs
    (log scales, one labelled point per model). Needs matplotlib (pip install matplotlib)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    for r in rows:
        left.scatter(r.params, r.macs)
        left.annotate(r.model, (r.params, r.macs), fontsize=7, xytext=(3, 3),
                      textcoords="offset points")
        if r.forward_ms is not None:
            scale = np.prod(r.timed_shape) / np.prod(r.input_shape)
            total = r.forward_ms + r.backward_ms
            right.scatter(r.macs * scale, total)
            right.annotate(r.model, (r.macs * scale, total), fontsize=7, xytext=(3, 3),
                           textcoords="offset points")
    left.set(xscale="log", yscale="log", xlabel="parameters", ylabel="MACs (standard input)",
             title="Parameters vs MACs")
    right.set(xscale="log", yscale="log", xlabel="MACs (timed input)",
              ylabel="forward + backward ms (batch 1)", title="MACs vs measured time")
    for axis in (left, right):
        axis.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
