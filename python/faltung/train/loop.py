"""The training loop: epochs of mini-batch steps (forward, loss, backward, optimizer step) with
a tqdm bar, then the test-set accuracy; one record per epoch.

The network's first layer is asked for no input gradient (`input_grad=False`): nothing upstream
needs it, and for a convolution it is a whole GEMM pass.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
from tqdm import tqdm

from .. import nn
from ..data import Batches


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float  # mean over the epoch's batches
    train_accuracy: float  # on the training batches as seen (augmented, in train mode)
    test_loss: float
    test_accuracy: float
    seconds: float  # the training steps only, evaluation excluded
    images_per_second: float
    lr: float

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int = 1000):
    """(mean cross-entropy, accuracy) of `model` in eval mode on (x, y); restores the mode."""
    was_training = model.training
    model.eval()
    criterion = nn.CrossEntropyLoss(reduction="sum")
    total_loss, correct = 0.0, 0
    for xb, yb in Batches(x, y, batch_size):
        logits = model(xb)
        total_loss += float(criterion(logits, yb))
        correct += int((logits.argmax(axis=1) == yb).sum())
    model.train(was_training)
    return total_loss / len(x), correct / len(x)


def train_step(model: nn.Module, criterion: nn.CrossEntropyLoss, optimizer, xb, yb):
    """One optimizer step on a batch; returns (loss, number of correct predictions)."""
    optimizer.zero_grad()
    logits = model(xb)
    loss = float(criterion(logits, yb))
    model.backward(criterion.backward(), input_grad=False)
    optimizer.step()
    return loss, int((logits.argmax(axis=1) == yb).sum())


def fit(model: nn.Module, optimizer, train: Batches, test: tuple[np.ndarray, np.ndarray],
        epochs: int, *, scheduler=None, augment: Callable | None = None,
        progress: bool = True, on_epoch: Callable[[EpochRecord], None] | None = None,
        max_steps: int | None = None) -> list[EpochRecord]:
    """Train for `epochs` epochs (or until `max_steps` optimizer steps), evaluating on `test`
    after each; `augment(xb) -> xb` transforms every training batch; `on_epoch(record)` is
    called as each epoch ends (printing, checkpoints)."""
    criterion = nn.CrossEntropyLoss()
    records, steps = [], 0
    for epoch in range(1, epochs + 1):
        model.train()
        losses, correct, seen, seconds = [], 0, 0, 0.0
        bar = tqdm(train, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False,
                   disable=not progress, dynamic_ncols=True)
        for xb, yb in bar:
            start = time.perf_counter()
            if augment is not None:
                xb = augment(xb)
            loss, right = train_step(model, criterion, optimizer, xb, yb)
            seconds += time.perf_counter() - start
            losses.append(loss)
            correct, seen, steps = correct + right, seen + len(yb), steps + 1
            bar.set_postfix(loss=f"{loss:.4f}")
            if max_steps is not None and steps >= max_steps:
                break
        bar.close()
        lr = optimizer.param_groups[0]["lr"]
        if scheduler is not None:
            scheduler.step()
        test_loss, test_accuracy = evaluate(model, *test)
        record = EpochRecord(epoch, float(np.mean(losses)), correct / seen, test_loss,
                             test_accuracy, seconds, seen / seconds, lr)
        records.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if max_steps is not None and steps >= max_steps:
            break
    return records
