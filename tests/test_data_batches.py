"""faltung.data.Batches: every sample once per epoch with its own label, order kept without
shuffling, seeded shuffles reproducible and different from epoch to epoch, the last partial
batch kept or dropped, bad arguments."""
from __future__ import annotations

import numpy as np
import pytest

from faltung.data import Batches
from tests.test_validation import expect

N = 10
X = np.arange(N * 2, dtype=np.float32).reshape(N, 2)   # sample i is [2i, 2i + 1]
Y = np.arange(N) * 10                                  # its label is 10 i


def epoch(batches):
    return [(xb.copy(), yb.copy()) for xb, yb in batches]


def test_in_order_without_shuffle():
    got = epoch(Batches(X, Y, 4))
    assert [len(yb) for _, yb in got] == [4, 4, 2]
    assert np.array_equal(np.concatenate([xb for xb, _ in got]), X)
    assert np.array_equal(np.concatenate([yb for _, yb in got]), Y)


@pytest.mark.parametrize("drop_last, sizes", [(False, [3, 3, 3, 1]), (True, [3, 3, 3])])
def test_last_partial_batch(drop_last, sizes):
    batches = Batches(X, Y, 3, shuffle=True, seed=0, drop_last=drop_last)
    assert len(batches) == len(sizes)
    assert [len(yb) for _, yb in batches] == sizes


def test_shuffled_epoch_pairs_every_sample_with_its_label_once():
    got = epoch(Batches(X, Y, 3, shuffle=True, seed=1))
    xs = np.concatenate([xb for xb, _ in got])
    ys = np.concatenate([yb for _, yb in got])
    assert sorted(ys.tolist()) == Y.tolist()
    assert np.array_equal(xs[:, 0], ys // 10 * 2), "x and y must be shuffled together"
    assert not np.array_equal(ys, Y)


def test_seed_fixes_the_sequence_of_epochs():
    a, b = Batches(X, Y, 4, shuffle=True, seed=7), Batches(X, Y, 4, shuffle=True, seed=7)
    first, second = [np.concatenate([yb for _, yb in epoch(a)]) for _ in range(2)]
    assert not np.array_equal(first, second), "each epoch draws a new order"
    assert np.array_equal(np.concatenate([yb for _, yb in epoch(b)]), first)
    assert np.array_equal(np.concatenate([yb for _, yb in epoch(b)]), second)


def test_generator_is_used_as_given():
    rng = np.random.default_rng(3)
    expected = np.random.default_rng(3).permutation(N)
    ys = np.concatenate([yb for _, yb in Batches(X, Y, N, shuffle=True, seed=rng)])
    assert np.array_equal(ys, Y[expected])


@pytest.mark.parametrize("args, exc, fragments", [
    ((X, Y[:5], 2), ValueError, [r"\by\b", r"10", r"5"]),
    ((X.tolist(), Y, 2), TypeError, [r"\bx\b", r"list"]),
    ((X, np.float64(1.0), 2), TypeError, [r"\by\b"]),
    ((X, Y, 0), ValueError, [r"\bbatch_size\b", r"positive", r"0"]),
    ((X, Y, 2.0), TypeError, [r"\bbatch_size\b", r"float"]),
], ids=["length", "x-list", "y-scalar", "batch_size-0", "batch_size-float"])
def test_bad_arguments(args, exc, fragments):
    expect(exc, lambda: Batches(*args), *fragments)
