"""The benchmark run behind `faltung bench`: GEMM (layouts nn, tn, nt), conv2d (forward, input
gradient, weight gradient) and the memory-bound kernels (pooling and depthwise convolution,
forward and backward) on the shapes of real networks, faltung side by side with its peers.

For every case a float64 reference is computed on the same float32 data (PyTorch if installed,
else NumPy). faltung's result is checked against it before anything is timed; a case where
faltung is wrong or raises is reported as such, never with a time, and makes the run fail. Each
peer is checked the same way and timed only when right. Times are medians of rounds (timing.py);
GFLOP/s counts FLOPs = 2 x MACs; % of peak is against peak_per_core x threads; GB/s counts the
compulsory bytes of a pass (each input read once, each output written once) and % of bandwidth
is against a stream copy measured at the same thread count (bandwidth.py); ratio =
t_peer / t_faltung. Rows are printed as cases finish, a tqdm bar on stderr shows progress, and
the run comes back as one JSON-able dict.
"""
from __future__ import annotations

import importlib
import os
import platform
import sys
from dataclasses import dataclass, field, replace
from typing import Callable, NamedTuple

import numpy as np
from tqdm import tqdm

import faltung

from . import bandwidth, cases, peers, report
from .shapes import CONV_PASSES, GEMM_LAYOUTS, select
from .timing import TimerConfig, measure
from .worker import NumpyWorker

# FP32 FMA peak per core quoted by DESIGN.md §5; used only when the backend cannot measure one.
PEAK_GFLOPS_PER_CORE = 232.0


def measured_peak() -> tuple[float, str]:
    """One core's FP32 ceiling and where it came from: faltung.peak_gflops() (the compiled
    micro-kernel on L1-resident operands; the median of three probes), else DESIGN.md's figure."""
    probes = [faltung.peak_gflops(np.float32, 0.1) for _ in range(3)]
    if probes[0] is None:
        return PEAK_GFLOPS_PER_CORE, "DESIGN.md figure (backend cannot measure)"
    return float(np.median(probes)), "measured: GEMM micro-kernel on L1-resident operands"


COMPUTE_KINDS = ("gemm", "conv")
MEMORY_KINDS = ("pool", "depthwise", "norm")  # each a module faltung.bench.<kind> (pool.py)
KINDS = COMPUTE_KINDS + MEMORY_KINDS


@dataclass(frozen=True)
class Settings:
    quick: bool = False
    threads: tuple[int, ...] = (1,)
    kinds: tuple[str, ...] = KINDS
    peak_per_core: float | None = None  # None: measure it at the start of the run
    timer: TimerConfig = field(default_factory=TimerConfig)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def system_info() -> dict:
    """Versions, backend, threads and CPU: the header of a run and `faltung info`."""
    torch = peers.torch_module()
    return {"faltung": faltung.__version__, "backend": faltung.get_backend(),
            "backends": faltung.available_backends(), "gemm_kernel": faltung.gemm_kernel_name(),
            "threads_default": faltung.get_num_threads(), "cpu": cpu_model(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__ if torch else None,
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE")}


def numpy_variants() -> dict[str, bool]:
    """{column label: keep OPENBLAS_CORETYPE} for each way NumPy is measured."""
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype is None:
        return {"numpy": True}
    return {f"numpy CT={coretype}": True, "numpy CT unset": False}


class Case(NamedTuple):
    shape: object
    op: str  # pass or GEMM layout
    size: str  # the table's size column
    reference: np.ndarray
    ours: Callable
    others: dict  # {in-process peer: callable}
    macs: int
    nbytes: int | None = None  # compulsory memory traffic (memory-bound kinds only)


def memory_family(kind: str):
    """The module describing a memory-bound kind: shapes, passes, faltung's ops, its peers'
    ops (the NumPy one also serves as reference without PyTorch), bytes and MACs per pass."""
    return importlib.import_module(f"faltung.bench.{kind}")


def in_process_peers(kind: str, with_torch: bool) -> list[str]:
    """Peers timed in this process, in table order (NumPy of GEMM and conv runs in workers)."""
    torch_peers = {"gemm": ["torch"]}.get(kind, ["torch nchw", "torch cl"]) if with_torch else []
    return torch_peers + (["numpy"] if kind in MEMORY_KINDS else [])


def shapes_for(kind: str, quick: bool) -> tuple:
    if kind in MEMORY_KINDS:
        family = memory_family(kind)
        return family.QUICK if quick else family.SHAPES
    return dict(zip(COMPUTE_KINDS, select(quick)))[kind]


def passes_for(kind: str) -> tuple[str, ...]:
    return {"gemm": GEMM_LAYOUTS, "conv": CONV_PASSES}.get(kind) or memory_family(kind).PASSES


def _gemm_cases(shapes, with_torch: bool):
    for shape in shapes:
        for layout in GEMM_LAYOUTS:
            a, b = shape.arrays(layout)
            others = {"torch": peers.torch_gemm(shape, a, b, layout)} if with_torch else {}
            yield Case(shape, layout, f"{shape.m}x{shape.k}x{shape.n}",
                       peers.reference_gemm(shape, a, b, layout),
                       cases.faltung_gemm(shape, a, b, layout), others, shape.macs)


def _conv_cases(shapes, with_torch: bool):
    for shape in shapes:
        x, w, gy = shape.arrays()
        references = peers.reference_conv(shape, x, w, gy)
        ours = cases.faltung_conv(shape, x, w, gy)
        others = ({"torch nchw": peers.torch_conv(shape, x, w, gy, channels_last=False),
                   "torch cl": peers.torch_conv(shape, x, w, gy, channels_last=True)}
                  if with_torch else {})
        for name in CONV_PASSES:
            yield Case(shape, name, f"N={shape.batch}", references[name], ours[name],
                       {peer: ops[name] for peer, ops in others.items()}, shape.macs)


def _memory_cases(kind: str, shapes, with_torch: bool):
    family = memory_family(kind)
    for shape in shapes:
        arrays = shape.arrays()
        references = peers.float64_references(family, shape, arrays)
        ours = family.faltung_ops(shape, arrays)
        others = {"numpy": family.numpy_ops(shape, arrays)}
        if with_torch:
            others = {"torch nchw": family.torch_ops(shape, arrays, channels_last=False),
                      "torch cl": family.torch_ops(shape, arrays, channels_last=True), **others}
        for name in family.PASSES:
            yield Case(shape, name, shape.label, references[name], ours[name],
                       {peer: ops[name] for peer, ops in others.items()},
                       family.macs(shape, name), family.bytes_moved(shape, name))


def cases_for(kind: str, shapes, with_torch: bool):
    if kind == "gemm":
        return _gemm_cases(shapes, with_torch)
    if kind == "conv":
        return _conv_cases(shapes, with_torch)
    return _memory_cases(kind, shapes, with_torch)


class _Run:
    """One run: checks and times the cases, prints rows, collects the JSON records."""

    def __init__(self, settings: Settings, out, bar, bandwidth_gbs: dict[int, float]):
        self.settings, self.out, self.bar = settings, out, bar
        self.bandwidth_gbs = bandwidth_gbs  # {threads: stream-copy GB/s}
        self.records: list[dict] = []
        self.faltung_failed = False

    def _record(self, base: dict, impl: str, result=None, reference=None, timing=None,
                message=None) -> dict:
        """A JSON record: an error message, or the check's verdict and (when right) the timing."""
        if message is not None:
            return dict(base, impl=impl, status="error", rel_error=None, message=message)
        record = dict(base, impl=impl, **cases.verdict(result, reference))
        if record["status"] == "ok" and timing is not None:
            record.update(timing.to_dict())
            if base["macs"]:
                gflops = 2 * base["macs"] / timing.median_s / 1e9
                peak = self.settings.peak_per_core * base["threads"]
                record.update(gflops=gflops, pct_peak=100 * gflops / peak)
            if base["bytes"]:
                gbs = base["bytes"] / timing.median_s / 1e9
                record.update(gbs=gbs, pct_bw=100 * gbs / self.bandwidth_gbs[base["threads"]])
        return record

    def _in_process(self, base, impl, fn, reference):
        try:
            result = fn()
        except Exception as exc:  # shown in the table; faltung's makes the run fail
            return self._record(base, impl, message=f"{type(exc).__name__}: {exc}")
        record = self._record(base, impl, result, reference)
        if record["status"] != "ok":
            return record
        return self._record(base, impl, result, reference, measure(fn, self.settings.timer))

    def _worker(self, base, label, worker, shape, reference):
        try:
            result, timing = worker.run(base["kind"], shape, base["op"], self.settings.timer)
        except RuntimeError as exc:
            return self._record(base, label, message=str(exc))
        return self._record(base, label, result, reference, timing)

    def case(self, base: dict, case: Case, workers: dict) -> list[dict]:
        """faltung checked and timed, then (only if faltung is right) every peer."""
        rows = [self._in_process(base, "faltung", case.ours, case.reference)]
        if rows[0]["status"] != "ok":
            self.faltung_failed = True
            return rows
        rows += [self._in_process(base, name, fn, case.reference)
                 for name, fn in case.others.items()]
        rows += [self._worker(base, label, worker, case.shape, case.reference)
                 for label, worker in workers.items()]
        for row in rows[1:]:
            if "median_s" in row:
                row["ratio"] = row["median_s"] / rows[0]["median_s"]
        return rows

    def section(self, kind: str, threads: int, shapes, workers: dict, with_torch: bool):
        """One table: every case of `kind` at `threads` threads."""
        table = report.Table(kind, threads, in_process_peers(kind, with_torch) + list(workers))
        tqdm.write(table.heading(), file=self.out)
        case_rows = []
        for case in cases_for(kind, shapes, with_torch):
            self.bar.set_postfix_str(f"{threads}T {case.shape.name} {case.op}")
            base = {"kind": kind, "case": case.shape.name, "size": case.size, "op": case.op,
                    "threads": threads, "macs": case.macs, "bytes": case.nbytes}
            rows = self.case(base, case, workers)
            self.records += rows
            case_rows.append(rows)
            tqdm.write(table.row(rows), file=self.out)
            self.bar.update()
        tqdm.write(table.summary(case_rows), file=self.out)


def run(settings: Settings, out=sys.stdout) -> tuple[dict, bool]:
    """Run the benchmarks; return (JSON document, True when every faltung case was right)."""
    kinds = [kind for kind in KINDS if kind in settings.kinds]
    shapes = {kind: shapes_for(kind, settings.quick) for kind in kinds}
    torch = peers.torch_module()
    variants = numpy_variants()
    if settings.peak_per_core is None:
        peak, peak_source = measured_peak()
        settings = replace(settings, peak_per_core=peak)
    else:
        peak, peak_source = settings.peak_per_core, "given with --peak-gflops"
    bandwidth_gbs = ({threads: bandwidth.stream_copy_gbs(threads) for threads in settings.threads}
                     if any(kind in MEMORY_KINDS for kind in kinds) else {})
    meta = dict(system_info(), dtype="float32", flops="FLOPs = 2 x MACs",
                peak_gflops_per_core=peak, peak_source=peak_source,
                threads=list(settings.threads),
                quick=settings.quick, reference=peers.reference_name(),
                tolerance=cases.TOLERANCE_TEXT, timer=settings.timer.to_dict(), numpy_peers={},
                bandwidth_gbs=bandwidth_gbs, bytes="compulsory: each input read once, each "
                "output written once", bandwidth_source="stream copy, read + written bytes")
    print(report.header(meta, variants), file=out, flush=True)
    total = len(settings.threads) * sum(len(shapes[k]) * len(passes_for(k)) for k in kinds)
    with tqdm(total=total, file=sys.stderr, unit="case", leave=False,
              dynamic_ncols=True) as bar:
        state = _Run(settings, out, bar, bandwidth_gbs)
        for threads in settings.threads:
            faltung.set_num_threads(threads)
            if torch is not None:
                torch.set_num_threads(threads)
            workers = ({label: NumpyWorker(threads, keep) for label, keep in variants.items()}
                       if any(kind in COMPUTE_KINDS for kind in kinds) else {})
            meta["numpy_peers"] = {label: w.info for label, w in workers.items()}
            try:
                for kind in kinds:
                    state.section(kind, threads, shapes[kind],
                                  workers if kind in COMPUTE_KINDS else {}, torch is not None)
            finally:
                for worker in workers.values():
                    worker.close()
    return {"meta": meta, "results": state.records}, not state.faltung_failed
