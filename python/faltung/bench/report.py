"""Plain-text output of `faltung bench`: the run's header, one table per (kind, thread count)
with a row per case, a geometric-mean summary, and the JSON file.

A row: faltung's time, then GFLOP/s and % of FMA peak (GEMM, conv2d) or GB/s and % of measured
memory bandwidth (pooling, depthwise, normalization), then for every peer its time and t_peer / t_faltung.
Records come from suite.py (one dict per case and implementation).
"""
from __future__ import annotations

import json
import math

CASE_W, OP_W, PEER_W = 28, 11, 15
SIZE_W = {"gemm": 14, "conv": 5, "pool": 24, "depthwise": 24, "norm": 24}  # "2048x2048x2048", "N=64", labels
TITLES = {"gemm": "GEMM  C = op(A) @ op(B), size = MxKxN",
          "conv": "conv2d  NCHW, OIHW, N = batch",
          "pool": "pooling  NCHW, N = batch, C x H x W, window/stride",
          "depthwise": "depthwise and separable conv  NCHW, N = batch, C x H x W, kernel/stride",
          "norm": "normalization  NCHW, N = batch, C x H x W (batch norm: training mode)"}
MEMORY_BOUND = ("pool", "depthwise", "norm")


def ms(seconds: float) -> str:
    value = seconds * 1e3
    return f"{value:.3g}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.1f}"


def header(meta: dict, numpy_variants: dict) -> str:
    kernel = f" (GEMM kernel {meta['gemm_kernel']})" if meta["gemm_kernel"] else ""
    torch = (f"torch {meta['torch']} (NCHW and channels_last), " if meta["torch"]
             else "PyTorch is not installed: no torch peers; ")
    if meta["openblas_coretype"] is None:
        numpy_note = "  numpy: OPENBLAS_CORETYPE is not set, OpenBLAS picks its kernels itself"
    else:
        first, second = numpy_variants
        numpy_note = (f"  {first}: OPENBLAS_CORETYPE={meta['openblas_coretype']} as exported; "
                      f"{second}: the same with OPENBLAS_CORETYPE removed from its environment")
    return "\n".join([
        f"faltung {meta['faltung']} benchmark: backend {meta['backend']}{kernel}, "
        f"{meta['dtype']}, CPU {meta['cpu']} ({meta['cpus']} logical CPUs), "
        f"threads {','.join(map(str, meta['threads']))}",
        f"peers: {torch}numpy {meta['numpy']} (GEMM and conv2d: matmul, im2col + matmul, in "
        "subprocesses with their own environment; the memory-bound kernels: vectorised NumPy here)",
        numpy_note,
        f"checked: every result against {meta['reference']} on the same data before it is timed "
        f"({meta['tolerance']}); a wrong result is never timed",
        "time: median per call over rounds after warm-up, outputs reused (out=) where the API "
        "allows" + ("; PyTorch's conv allocates its result per call" if meta["torch"] else ""),
        f"GFLOP/s: {meta['flops']} (a gradient pass has the forward's MACs); %peak: of "
        f"{meta['peak_gflops_per_core']:.0f} GFLOP/s per core x threads ({meta['peak_source']})",
        *_bandwidth_line(meta),
        "peer columns: time in ms and t_peer / t_faltung (> 1: faltung is faster)",
    ])


def _bandwidth_line(meta: dict) -> list[str]:
    if not meta["bandwidth_gbs"]:
        return []
    measured = ", ".join(f"{gbs:.1f} GB/s at {threads}T"
                         for threads, gbs in meta["bandwidth_gbs"].items())
    return [f"GB/s (pooling, depthwise, normalization): {meta['bytes']}; %bw: of memory bandwidth measured now "
            f"({meta['bandwidth_source']}): {measured}"]


class Table:
    """Fixed-width rows for one kind ("gemm" or "conv") at one thread count."""

    def __init__(self, kind: str, threads: int, peers: list[str]):
        self.kind, self.threads, self.peers = kind, threads, peers
        self.widths = [max(PEER_W, len(p)) for p in peers]
        self.size_w = SIZE_W[kind]
        # the rate columns: (record key, heading) for the rate and its share of the ceiling
        self.rate, self.share = ((("gbs", "GB/s"), ("pct_bw", "%bw")) if kind in MEMORY_BOUND
                                 else (("gflops", "GFLOP/s"), ("pct_peak", "%peak")))

    def heading(self) -> str:
        plural = "s" if self.threads > 1 else ""
        title = f"\n== {TITLES[self.kind]}, float32, {self.threads} thread{plural} =="
        cols = (f"{'case':<{CASE_W}} {'size':<{self.size_w}} {'op':<{OP_W}}"
                f" {'faltung ms':>10} {self.rate[1]:>8} {self.share[1]:>6} |"
                + "".join(f" {p:>{w}}" for p, w in zip(self.peers, self.widths)))
        return f"{title}\n{cols}\n{'-' * len(cols)}"

    def row(self, records: list[dict]) -> str:
        ours, others = records[0], {r["impl"]: r for r in records[1:]}
        start = f"{ours['case']:<{CASE_W}} {ours['size']:<{self.size_w}} {ours['op']:<{OP_W}}"
        if ours["status"] != "ok":
            return f"{start} FALTUNG {_problem(ours)}: not timed, peers skipped"
        line = (f"{start} {ms(ours['median_s']):>10} {ours[self.rate[0]]:>8.1f}"
                f" {ours[self.share[0]]:>5.1f}% |")
        notes = []
        for peer, width in zip(self.peers, self.widths):
            rec = others[peer]
            if rec["status"] == "ok":
                cell = f"{ms(rec['median_s'])} {rec['ratio']:.2f}x"
            else:
                cell = rec["status"].upper()
                notes.append(f"    ! {peer}: {_problem(rec)}")
            line += f" {cell:>{width}}"
        return "\n".join([line] + notes)

    def summary(self, case_rows: list[list[dict]]) -> str:
        """Geometric mean of t_peer / t_faltung per peer over the cases where both ran."""
        parts = []
        for peer in self.peers:
            ratios = [r["ratio"] for rows in case_rows for r in rows[1:]
                      if r["impl"] == peer and "ratio" in r]
            if ratios:
                mean = math.exp(sum(map(math.log, ratios)) / len(ratios))
                parts.append(f"{peer} {mean:.2f}x ({len(ratios)})")
        failed = sum(rows[0]["status"] != "ok" for rows in case_rows)
        text = "geomean t_peer/t_faltung (cases): " + (", ".join(parts) or "none")
        return text + (f"; FALTUNG FAILED {failed} case(s)" if failed else "")


def _problem(record: dict) -> str:
    """"WRONG (max rel error ...)" or "ERROR (message)"."""
    if record["rel_error"] is not None:
        detail = f"max rel error {record['rel_error']:.2e}"
    else:
        detail = record["message"]
    return f"{record['status'].upper()} ({detail})"


def write_json(file, document: dict) -> None:
    json.dump(document, file, indent=1)
    file.write("\n")
