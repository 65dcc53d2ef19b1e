"""The NumPy peer, run in a subprocess with an environment of its own.

OpenBLAS reads OPENBLAS_CORETYPE and its thread count once, when it is loaded; a subprocess is
the one clean way to measure NumPy with a given thread count, and with the machine's exported
OPENBLAS_CORETYPE both kept and removed (DESIGN.md §5).

Protocol, one JSON object per line: the worker first writes {"numpy": version,
"openblas_coretype": value or null}; then for every request {"kind": "conv"|"gemm", "shape":
{...}, "op": pass or layout, "timer": {...}, "check": path} it writes its result to `path`
(.npy, for the parent to check) and answers {"timing": {...}} or {"error": "..."}.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict

import numpy as np

from . import peers
from .shapes import ConvShape, GemmShape
from .timing import TimerConfig, Timing, measure


def _environment(threads: int, keep_coretype: bool) -> dict:
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    if not keep_coretype:
        env.pop("OPENBLAS_CORETYPE", None)
    return env


class NumpyWorker:
    """Client side: a NumPy peer subprocess with `threads` threads, OPENBLAS_CORETYPE kept
    as exported or removed."""

    def __init__(self, threads: int, keep_coretype: bool):
        self._scratch = tempfile.TemporaryDirectory(prefix="faltung-bench-")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "faltung.bench.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=_environment(threads, keep_coretype))
        self.info = self._receive()

    def _receive(self) -> dict:
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"numpy worker exited with status {self._process.wait()}")
        return json.loads(line)

    def run(self, kind: str, shape, op: str, timer: TimerConfig) -> tuple[np.ndarray, Timing]:
        """(result to check, timing) of one case; RuntimeError when the worker fails."""
        check = os.path.join(self._scratch.name, "result.npy")
        request = {"kind": kind, "shape": asdict(shape), "op": op, "timer": timer.to_dict(),
                   "check": check}
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except OSError as exc:
            raise RuntimeError(f"numpy worker is gone ({exc})") from exc
        answer = self._receive()
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return np.load(check), Timing(**answer["timing"])

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a worker that died has closed its end already
            self._process.stdin.close()
        self._process.wait()
        self._process.stdout.close()
        self._scratch.cleanup()


def _build(kind: str, shape_fields: dict, op: str) -> dict:
    """{op: callable}: all three passes of a conv shape (they share data), one GEMM layout."""
    if kind == "conv":
        shape = ConvShape(**shape_fields)
        return peers.numpy_conv(shape, *shape.arrays())
    shape = GemmShape(**shape_fields)
    return {op: peers.numpy_gemm(shape, *shape.arrays(op), op)}


def main() -> None:
    print(json.dumps({"numpy": np.__version__,
                      "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE")}), flush=True)
    try:
        _serve()
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        pass


def _serve() -> None:
    cache_key, ops = None, None
    for line in sys.stdin:
        request = json.loads(line)
        try:
            key = (request["kind"], json.dumps(request["shape"], sort_keys=True),
                   request["op"] if request["kind"] == "gemm" else None)
            if key != cache_key:
                cache_key, ops = None, None  # free the previous case's arrays first
                ops = _build(request["kind"], request["shape"], request["op"])
                cache_key = key
            fn = ops[request["op"]]
            np.save(request["check"], np.asarray(fn()))
            answer = {"timing": measure(fn, TimerConfig(**request["timer"])).to_dict()}
        except Exception as exc:  # reported to the parent, which marks the peer as failed
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
