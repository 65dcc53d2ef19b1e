"""The benchmark machinery behind `faltung bench`: the timer, the correctness check that gates
every timing, the bandwidth probe, and a memory-bound section run end to end on a stand-in
kernel family (the real families are exercised by the CI's `faltung bench --quick`)."""
from __future__ import annotations

import io
import math
from types import SimpleNamespace

import numpy as np
import pytest

from faltung.bench import bandwidth, cases, report, suite
from faltung.bench.timing import TimerConfig, measure

TINY_TIMER = TimerConfig(warmup=1, min_rounds=2, max_rounds=2, budget_s=0.0, min_round_s=0.0)


def test_timer_runs_warmup_then_rounds():
    calls = []
    timing = measure(lambda: calls.append(1), TINY_TIMER)
    assert timing.rounds == 2 and timing.number == 1
    assert len(calls) == 1 + 2  # one warm-up call, two rounds of one call
    assert 0 < timing.min_s <= timing.median_s


def test_relative_error_is_against_the_largest_reference_value():
    reference = np.array([10.0, -20.0, 5.0])
    result = np.array([10.0, -20.0, 5.002], np.float32)
    assert cases.relative_error(result, reference) == pytest.approx(0.002 / 20, rel=1e-3)


@pytest.mark.parametrize("result", [np.zeros(4), np.array([1.0, np.nan, 0.0])],
                         ids=["wrong shape", "nan"])
def test_verdict_refuses_wrong_shape_and_nan(result):
    verdict = cases.verdict(result, np.ones(3))
    assert verdict["status"] == "wrong" and verdict["rel_error"] is None


def test_verdict_refuses_an_error_above_tolerance():
    reference = np.ones(8)
    assert cases.verdict(reference * (1 + 10 * cases.TOLERANCE), reference)["status"] == "wrong"
    assert cases.verdict(reference * (1 + cases.TOLERANCE / 10), reference)["status"] == "ok"


def test_stream_copy_bandwidth_is_a_finite_positive_rate():
    for threads in (1, 2):
        gbs = bandwidth.stream_copy_gbs(threads, mib=8, rounds=2)
        assert math.isfinite(gbs) and gbs > 0


# --------------------------------------------------------------- a stand-in memory-bound family

def _family(faltung_is_right: bool):
    """A kernel family with the interface of faltung.bench.pool: one shape, one pass ("double"),
    faltung's op right or off by one, a NumPy peer."""
    shape = SimpleNamespace(name="toy.double", label="N=1 4", arrays=lambda: {"x": np.arange(4.0)})
    offset = 0.0 if faltung_is_right else 1.0
    return SimpleNamespace(
        SHAPES=(shape,), QUICK=(shape,), PASSES=("double",),
        faltung_ops=lambda s, a: {"double": lambda: 2 * a["x"] + offset},
        numpy_ops=lambda s, a: {"double": lambda: a["x"] + a["x"]},
        torch_ops=lambda s, a, channels_last: {"double": lambda: np.asarray(a["x"] * 2)},
        bytes_moved=lambda s, name: 64, macs=lambda s, name: 0)


def _run_toy(monkeypatch, faltung_is_right: bool):
    monkeypatch.setattr(suite, "memory_family", lambda kind: _family(faltung_is_right))
    monkeypatch.setattr(bandwidth, "stream_copy_gbs", lambda threads: 10.0 * threads)
    out = io.StringIO()
    settings = suite.Settings(quick=True, threads=(1,), kinds=("pool",), peak_per_core=100.0,
                              timer=TINY_TIMER)
    document, all_right = suite.run(settings, out=out)
    return document, all_right, out.getvalue()


def test_memory_bound_section_reports_bandwidth_and_ratios(monkeypatch):
    document, all_right, text = _run_toy(monkeypatch, faltung_is_right=True)
    assert all_right
    assert document["meta"]["bandwidth_gbs"] == {1: 10.0}
    ours = next(r for r in document["results"] if r["impl"] == "faltung")
    assert ours["kind"] == "pool" and ours["bytes"] == 64 and "gflops" not in ours
    assert ours["gbs"] == pytest.approx(64 / ours["median_s"] / 1e9)
    assert ours["pct_bw"] == pytest.approx(100 * ours["gbs"] / 10.0)
    peers = {r["impl"]: r for r in document["results"] if r["impl"] != "faltung"}
    assert "numpy" in peers
    for record in peers.values():
        assert record["ratio"] == pytest.approx(record["median_s"] / ours["median_s"])
    assert report.TITLES["pool"] in text and "%bw" in text and "10.0 GB/s at 1T" in text


def test_a_wrong_result_is_never_timed_and_fails_the_run(monkeypatch):
    document, all_right, text = _run_toy(monkeypatch, faltung_is_right=False)
    assert not all_right
    (ours,) = document["results"]  # the peers are skipped
    assert ours["status"] == "wrong" and "median_s" not in ours
    assert "FALTUNG WRONG" in text
