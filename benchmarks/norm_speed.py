"""Normalization kernels against PyTorch (NCHW and channels_last), side by side in one process:
batch norm on ResNet shapes, LRN on AlexNet's first LRN layer, the lecture's LCN.

    python benchmarks/norm_speed.py [--threads 1,2] [--repeat 2]

Every result is checked against PyTorch before it is timed. These kernels are memory-bound, so
the table gives GB/s of the minimal traffic: forward reads x and writes y (2 arrays), backward
reads grad_out and x and writes grad_x (3 arrays); statistics re-reads from cache are not
counted. faltung writes into preallocated outputs (out=); PyTorch allocates its results. PyTorch
backward passes call the ATen backward op directly (batch norm) or torch.autograd.grad on a
graph built once (LRN), so no forward is timed with them. Ratio = PyTorch time / faltung time
(> 1: faltung is faster), from the medians of rounds, and in parentheses from the best round of
each (the less disturbed figure on a loaded machine). A standalone script (not a bench_*.py
suite) until the lead folds it into `faltung bench`.
"""
from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch
import torch.nn.functional as F

import faltung
from faltung.bench.timing import TimerConfig, measure

CONFIG = TimerConfig(warmup=2, min_rounds=5, budget_s=0.3)


def _t(a, channels_last=False):
    t = torch.from_numpy(a)
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


def _check(ours, theirs, what):
    theirs = theirs.detach().contiguous().numpy().astype(np.float64)
    err = np.abs(ours.astype(np.float64) - theirs).max() / max(np.abs(theirs).max(), 1e-30)
    assert err < 1e-4, f"{what}: faltung and PyTorch differ by {err:.2e} (relative to max)"


def batch_norm_cases(shape, rng):
    n, c, h, w = shape
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    wt = rng.standard_normal(c).astype(np.float32)
    bs = rng.standard_normal(c).astype(np.float32)
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)  # updated by the training passes
    erm = rng.standard_normal(c).astype(np.float32)            # read by evaluation only
    erv = rng.uniform(0.5, 2, c).astype(np.float32)
    y, gx = np.empty_like(x), np.empty_like(x)
    gw, gb = np.empty_like(wt), np.empty_like(wt)
    _, mean, invstd = faltung.batch_norm(x, rm.copy(), rv.copy(), wt, bs, True, out=y,
                                         return_stats=True)
    cases = {
        "bn train fwd": (2, lambda: faltung.batch_norm(x, rm, rv, wt, bs, True, out=y),
                         lambda t: F.batch_norm(t["x"], t["rm"], t["rv"], t["w"], t["b"], True)),
        "bn train bwd (saved stats)": (
            3, lambda: faltung.batch_norm_backward(g, x, None, None, wt, True, save_mean=mean,
                                                   save_invstd=invstd, out=(gx, gw, gb)),
            lambda t: torch.ops.aten.native_batch_norm_backward(
                t["g"], t["x"], t["w"], t["rm"], t["rv"], t["mean"], t["invstd"], True, 1e-5,
                [True, True, True])[0]),
        "bn train bwd (recomputed)": (
            3, lambda: faltung.batch_norm_backward(g, x, None, None, wt, True, out=(gx, gw, gb)),
            None),
        "bn eval fwd": (2, lambda: faltung.batch_norm(x, erm, erv, wt, bs, False, out=y),
                        lambda t: F.batch_norm(t["x"], t["erm"], t["erv"], t["w"], t["b"], False)),
    }

    def torch_args(channels_last):
        return {"x": _t(x, channels_last), "g": _t(g, channels_last), "w": _t(wt), "b": _t(bs),
                "rm": _t(rm.copy()), "rv": _t(rv.copy()), "erm": _t(erm), "erv": _t(erv),
                "mean": _t(mean.astype(np.float32)), "invstd": _t(invstd.astype(np.float32))}

    def outputs(name):
        return {"bn train fwd": y, "bn eval fwd": y}.get(name, gx)

    return x.nbytes, cases, torch_args, outputs


def lrn_cases(shape, rng, size=5):
    x = rng.standard_normal(shape).astype(np.float32) * 10
    g = rng.standard_normal(shape).astype(np.float32)
    y, gx = np.empty_like(x), np.empty_like(x)
    args = (size, 5e-4, 0.75, 2.0)
    cases = {
        "lrn fwd": (2, lambda: faltung.local_response_norm(x, *args, out=y),
                    lambda t: F.local_response_norm(t["x"], *args)),
        "lrn bwd": (3, lambda: faltung.local_response_norm_backward(g, x, *args, out=gx),
                    lambda t: torch.autograd.grad(t["y"], t["xg"], t["g"], retain_graph=True)[0]),
        "lcn fwd": (2, lambda: faltung.local_contrast_norm(x, out=y),
                    lambda t: t["x"] / torch.sqrt((t["x"] * t["x"]).sum(1, keepdim=True)
                                                  / (shape[1] - 1) + 1e-5)),
        "lcn bwd": (3, lambda: faltung.local_contrast_norm_backward(g, x, out=gx), None),
    }

    def torch_args(channels_last):
        xg = _t(x.copy(), channels_last).requires_grad_(True)
        return {"x": _t(x, channels_last), "g": _t(g, channels_last), "xg": xg,
                "y": F.local_response_norm(xg, *args)}

    def outputs(name):
        return y if name.endswith("fwd") else gx

    return x.nbytes, cases, torch_args, outputs


def run(threads, repeat, rng):
    rows = []
    suites = [("ResNet conv1 8x64x112x112", batch_norm_cases((8, 64, 112, 112), rng)),
              ("ResNet stage 8x256x56x56", batch_norm_cases((8, 256, 56, 56), rng)),
              ("AlexNet LRN1 8x96x55x55", lrn_cases((8, 96, 55, 55), rng))]
    for t in threads:
        faltung.set_num_threads(t)
        torch.set_num_threads(t)
        for label, (nbytes, cases, torch_args, outputs) in suites:
            peers = {"nchw": torch_args(False), "cl": torch_args(True)}
            for name, (arrays, ours, theirs) in cases.items():
                ours()
                if theirs is not None:
                    for layout, targs in peers.items():
                        _check(outputs(name), theirs(targs), f"{label} {name} {layout}")
                times = {"faltung": [], "nchw": [], "cl": []}
                for _ in range(repeat):  # interleaved, so drifts of the machine hit all alike
                    times["faltung"].append(measure(ours, CONFIG))
                    if theirs is not None:
                        for layout, targs in peers.items():
                            times[layout].append(measure(lambda: theirs(targs), CONFIG))
                med = {k: statistics.median(m.median_s for m in v) if v else None
                       for k, v in times.items()}
                best = {k: min(m.min_s for m in v) if v else None for k, v in times.items()}
                rows.append((t, label, name, arrays * nbytes / med["faltung"] / 1e9, med, best))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    rows = run([int(v) for v in args.threads.split(",")], args.repeat, np.random.default_rng(0))
    print("| threads | shape | pass | faltung ms | GB/s | torch NCHW ms | ratio (best) | "
          "torch channels_last ms | ratio (best) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for t, label, name, gbs, med, best in rows:
        ours = med["faltung"]

        def peer(key):
            if med[key] is None:
                return "-", "-"
            return (f"{med[key] * 1e3:.2f}",
                    f"{med[key] / ours:.2f} ({best[key] / best['faltung']:.2f})")

        (n_ms, n_r), (c_ms, c_r) = peer("nchw"), peer("cl")
        print(f"| {t} | {label} | {name} | {ours * 1e3:.2f} | {gbs:.1f} | {n_ms} | {n_r} | "
              f"{c_ms} | {c_r} |")

if __name__ == "__main__":
    main()
