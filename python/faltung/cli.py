"""The `faltung` command (also `python -m faltung`):

    faltung bench [--quick] [--threads 1,2] [--only gemm|conv|pool|depthwise|norm] [--json FILE]
                  [--peak-gflops X] [--backend cpp|numba]
    faltung train {mlp,lenet5} [--epochs N] [--batch-size B] [--lr X] [--optimizer adam|sgd]
                  [--max-shift S] [--seed S] [--threads N] [--data DIR] [--download]
                  [--checkpoint FILE] [--json FILE] [--compare-torch STEPS] [--limit N]
    faltung summary NAME [--input C H W] [--json FILE]
    faltung savings [--quick] [--only KEY ...] [--json FILE] [--threads N]
    faltung models [--measure [--input-scale S] [--plot FILE] [--json FILE] [--threads N]]
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
        prog="faltung", description="faltung: compiled convolution kernels and the lecture's "
        "architectures on them. `faltung bench` times the kernels against PyTorch and NumPy; "
        "`faltung train` trains MNIST models; `faltung summary`, `savings` and `models` count "
        "and time the architectures.")
    parser.add_argument("--version", action="version", version=f"faltung {faltung.__version__}")
    commands = parser.add_subparsers(dest="command",
                                     metavar="{bench,train,summary,savings,models,info}")
    bench = commands.add_parser(
        "bench", help="time GEMM, conv2d, pooling, depthwise conv and normalization against "
        "PyTorch and NumPy",
        description="Time faltung's GEMM, conv2d (forward, input gradient, weight gradient), "
        "pooling, depthwise convolution and normalization (forward and backward) on shapes of "
        "real networks, side by side with PyTorch (when installed) and NumPy. "
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
    _add_train_parser(commands)
    summary = commands.add_parser(
        "summary", help="layers, parameters, MACs, memory and receptive field of a model",
        description="One row per layer (output shape, parameters, MACs, other element "
        "operations, activation memory, receptive field) and the totals, for batch 1. MACs "
        "count convolutions, linear layers and attention; FLOPs = 2 x MACs.")
    summary.add_argument("name", help="a model name (faltung models lists them)")
    summary.add_argument("--input", type=_positive_int, nargs="+", metavar="SIZE",
                         help="input shape without the batch, e.g. 3 224 224 (default: the "
                         "model's standard input)")
    summary.add_argument("--json", type=argparse.FileType("w"), metavar="FILE",
                         help="also write the rows and totals as JSON")
    from .analysis.savings import REPORTS
    savings = commands.add_parser(
        "savings", help="the lecture's parameter-savings arguments, counted and timed",
        description="Each of the lecture's savings arguments (fully connected vs local vs "
        "convolutional, stacked 3x3 vs large filters, depthwise-separable vs standard, 1x1 "
        "reductions, ResNet blocks) with its exact parameter and MAC counts and the measured "
        "forward and backward time of faltung's kernels side by side.")
    savings.add_argument("--quick", action="store_true",
                         help="batch 1 and few timing rounds (seconds instead of minutes)")
    savings.add_argument("--only", nargs="+", choices=sorted(REPORTS), metavar="KEY",
                         help=f"run only these reports: {', '.join(sorted(REPORTS))}")
    savings.add_argument("--json", type=argparse.FileType("w"), metavar="FILE",
                         help="also write the reports as JSON")
    savings.add_argument("--threads", type=_positive_int, help="kernel threads (default: all)")
    listing = commands.add_parser(
        "models", help="list the models; with --measure: parameters, MACs, measured time",
        description="List the models with their standard inputs. With --measure, count every "
        "model's parameters and MACs and time one forward and one backward pass (batch 1), "
        "optionally plotted (needs matplotlib).")
    listing.add_argument("--measure", action="store_true")
    listing.add_argument("--input-scale", type=_positive_float, default=1.0, metavar="S",
                         help="time at S x the standard image size (counts stay at 1.0)")
    listing.add_argument("--plot", metavar="FILE.png",
                         help="parameters vs MACs vs time as a PNG (with --measure)")
    listing.add_argument("--json", type=argparse.FileType("w"), metavar="FILE",
                         help="the measured rows as JSON (with --measure)")
    listing.add_argument("--threads", type=_positive_int,
                         help="kernel threads for --measure (default: all)")
    commands.add_parser("info", help="version, backends, GEMM kernel, threads, CPU")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_train_parser(commands) -> None:
    from .train.recipes import RECIPES
    train = commands.add_parser(
        "train", help="train an MNIST model (mlp, lenet5) with faltung's kernels",
        description="Train a model on MNIST by its recipe (faltung/train/recipes.py; every "
        "value can be overridden here) with a progress bar, one line per epoch (loss, "
        "accuracy, test error, images/s) and a checkpoint (.npz, PyTorch key names) after "
        "every epoch. MNIST is read from --data, else $FALTUNG_DATA.")
    train.add_argument("model", choices=sorted(RECIPES))
    train.add_argument("--epochs", type=_positive_int)
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--lr", type=_positive_float)
    train.add_argument("--optimizer", choices=("adam", "sgd"))
    train.add_argument("--max-shift", type=int, metavar="PIXELS",
                       help="random translations of the training images (0: none)")
    train.add_argument("--seed", type=int, default=0, help="initial weights, order, shifts")
    train.add_argument("--threads", type=_positive_int, help="kernel threads (default: all)")
    train.add_argument("--data", metavar="DIR", help="directory with the MNIST IDX files")
    train.add_argument("--download", action="store_true",
                       help="fetch missing MNIST files (checksums verified) into --data")
    train.add_argument("--checkpoint", metavar="FILE",
                       help="weights saved here after every epoch (default: MODEL.npz)")
    train.add_argument("--json", type=argparse.FileType("w"), metavar="FILE",
                       help="also write the settings and per-epoch records as JSON")
    train.add_argument("--compare-torch", type=int, default=0, metavar="STEPS",
                       help="first time STEPS training steps of faltung and of the same "
                       "network in PyTorch on the same batches (needs torch)")
    train.add_argument("--limit", type=_positive_int, metavar="N",
                       help="train on the first N images only (quick runs)")


def _train(args) -> int:
    from dataclasses import replace

    from .bench.report import write_json
    from .train.recipes import RECIPES
    from .train.run import run
    overrides = {name: getattr(args, name) for name in
                 ("epochs", "batch_size", "lr", "optimizer", "max_shift")
                 if getattr(args, name) is not None}
    recipe = replace(RECIPES[args.model], **overrides)
    if args.threads:
        faltung.set_num_threads(args.threads)
    report = run(recipe, seed=args.seed, root=args.data, download=args.download,
                 checkpoint=args.checkpoint or f"{args.model}.npz",
                 compare_torch_steps=args.compare_torch, limit=args.limit)
    if args.json:
        write_json(args.json, report)
        args.json.close()
    return 0


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


def _summary(args, parser) -> int:
    from . import analysis, models
    from .bench.report import write_json
    try:
        entry = models.entry(args.name)
    except ValueError as exc:
        parser.error(str(exc))
    shape = tuple(args.input) if args.input else entry.input_shape
    try:
        result = analysis.summary(entry.builder(), shape, name=args.name)
    except (ValueError, TypeError) as exc:
        parser.error(f"--input {' '.join(map(str, shape))}: {exc}")
    print(analysis.format_summary(result))
    if args.json:
        write_json(args.json, result.to_dict())
        args.json.close()
    return 0


def _savings(args) -> int:
    from .analysis import savings
    from .bench.report import write_json
    if args.threads:
        faltung.set_num_threads(args.threads)
    reports = []
    for report in savings.run(quick=args.quick, only=args.only):
        print(savings.format_report(report) + "\n", flush=True)
        reports.append(report.to_dict())
    if args.json:
        write_json(args.json, {"threads": faltung.get_num_threads(), "reports": reports})
        args.json.close()
    return 0


def _models(args, parser) -> int:
    from . import models
    if args.measure:
        return _measure_models(args, parser)
    if args.plot or args.json:
        parser.error("--plot and --json need --measure")
    for name in models.list():
        entry = models.entry(name)
        print(f"{name:<22} {'x'.join(map(str, entry.input_shape)):<12} {entry.summary}")
    return 0


def _measure_models(args, parser) -> int:
    from tqdm import tqdm

    from .analysis import zoo
    from .bench.report import write_json
    if args.threads:
        faltung.set_num_threads(args.threads)
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib (pip install matplotlib)")
    from . import models
    with tqdm(total=len(models.list()), file=sys.stderr,
              leave=False, unit="model") as bar:
        def progress(name):
            bar.set_postfix_str(name)
            bar.update()
        rows = zoo.zoo(input_scale=args.input_scale, progress=progress)
    print(zoo.format_zoo(rows))
    threads = faltung.get_num_threads()
    print(f"(batch 1, {threads} thread{'s' if threads > 1 else ''}; GMAC/s at the timed input)")
    if args.plot:
        zoo.plot_zoo(rows, args.plot)
        print(f"plot: {args.plot}")
    if args.json:
        write_json(args.json, {"threads": faltung.get_num_threads(),
                               "rows": [row.to_dict() for row in rows]})
        args.json.close()
    return 0


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
        if args.command == "train":
            try:
                return _train(args)
            except (OSError, ValueError) as exc:  # missing or corrupt data files, bad options
                print(f"faltung train: error: {exc}", file=sys.stderr)
                return 2
        if args.command == "summary":
            return _summary(args, parser)
        if args.command == "savings":
            return _savings(args)
        if args.command == "models":
            return _models(args, parser)
        if args.command == "info":
            return _info()
    except KeyboardInterrupt:
        print("faltung: interrupted", file=sys.stderr)
        return 130
    parser.print_help()
    return 2
