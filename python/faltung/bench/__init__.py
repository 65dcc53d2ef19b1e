"""The benchmark suite behind `faltung bench`.

shapes.py  shapes of real networks (full run and the --quick subset); benchmarks/ re-exports it
timing.py  median-of-rounds timer with warm-up
cases.py   faltung's side of a case (public API, out=) and the correctness check
peers.py   NumPy and PyTorch peers, float64 references
worker.py  the NumPy peer in a subprocess (thread count, OPENBLAS_CORETYPE kept or removed)
pool.py, depthwise.py, norm.py   the memory-bound kernel families: shapes, faltung and its peers
bandwidth.py            memory bandwidth measured now, for "% of bandwidth"
suite.py   the run: check, time, compare; report.py prints it
"""
