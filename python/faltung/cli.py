"""The `faltung` command (also `python -m faltung`):

    faltung bench [--quick] [--threads 1,2] [--only gemm|conv|pool|depthwise] [--json FILE]
                  [--peak-gflops X] [--backend cpp|numba]
    faltung info
    faltung --version
"""
from __future__ import annotations

import argparse
import os
import sys

import faltung


def _thread_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive thread counts separated by commas, e.g. 1,2; got {text!r}")
    return counts


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .bench import suite
    parser = argparse.ArgumentParser(
        prog="faltung", description="faltung: compiled convolution kernels. "
        "`faltung bench` times them against PyTorch and NumPy.")
    parser.add_argument("--version", action="version", version=f"faltung {faltung.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{bench,info}")
    bench = commands.add_parser(
        "bench", help="time GEMM, conv2d, pooling and depthwise conv against PyTorch and NumPy",
        description="Time faltung's GEMM, conv2d (forward, input gradient, weight gradient), "
        "pooling and depthwise convolution (forward and backward) on shapes of real networks, "
        "side by side with PyTorch (when installed) and NumPy. "
        "Every result is checked before it is timed; the exit status is 1 when faltung "
        "got a case wrong.")
    bench.add_argument("--quick", action="store_true",
                       help="a small subset of the shapes (well under a minute at 1 thread)")
    bench.add_argument("--threads", type=_thread_counts, default=(1,), metavar="N[,N...]",
                       help="thread counts to run, e.g. 1,2 (default: 1)")
    bench.add_argument("--only", choices=suite.KINDS, help="run only one kind")
    bench.add_argument("--json", type=argparse.FileType("w"), metavar="FILE",
                       help="also write every result, with the run's settings, as JSON")
    bench.add_argument("--peak-gflops", type=_positive_float, default=None,
                       metavar="X", help="FP32 peak of one core in GFLOP/s, for %%peak "
                       "(default: measured at the start of the run with faltung.peak_gflops(); "
                       f"{suite.PEAK_GFLOPS_PER_CORE:g}, DESIGN.md's figure, where it cannot be)")
    bench.add_argument("--backend", choices=("cpp", "numba"),
                       help="faltung backend to time (default: faltung's own choice)")
    commands.add_parser("info", help="version, backends, GEMM kernel, threads, CPU")
    return parser


def _bench(args, parser) -> int:
    from .bench import report, suite
    if args.backend:
        try:
            faltung.set_backend(args.backend)
        except RuntimeError as exc:
            parser.error(f"--backend: {exc}")
    cpus = os.cpu_count() or 1
    if max(args.threads) > cpus:
        print(f"faltung bench: warning: --threads {max(args.threads)} exceeds the "
              f"{cpus} logical CPUs here", file=sys.stderr)
    settings = suite.Settings(quick=args.quick, threads=args.threads,
                              kinds=(args.only,) if args.only else suite.KINDS,
                              peak_per_core=args.peak_gflops)
    document, all_right = suite.run(settings)
    if args.json:
        report.write_json(args.json, document)
        args.json.close()
    return 0 if all_right else 1


def _info() -> int:
    from .bench.suite import system_info
    info = system_info()
    lines = [
        f"faltung {info['faltung']}",
        f"backends: {', '.join(info['backends'])} (in use: {info['backend']})",
        f"GEMM kernel: {info['gemm_kernel']}",
        f"threads: {info['threads_default']} (OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')})",
        f"CPU: {info['cpu']}, {info['cpus']} logical CPUs",
        f"python {info['python']}, numpy {info['numpy']}, torch {info['torch'] or 'not installed'}",
        f"OPENBLAS_CORETYPE={info['openblas_coretype'] or 'unset'}",
    ]
    print("\n".join(lines))
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "bench":
            return _bench(args, parser)
        if args.command == "info":
            return _info()
    except KeyboardInterrupt:
        print("faltung: interrupted", file=sys.stderr)
        return 130
    parser.print_help()
    return 2
