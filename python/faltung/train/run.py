"""`faltung train NAME`: load MNIST, build the model, train it by its recipe with a progress bar,
print one line per epoch, save a checkpoint (.npz, PyTorch key names) after every epoch, and
optionally time the same training steps in PyTorch."""
from __future__ import annotations

import copy
import sys
from dataclasses import asdict

import numpy as np

from .. import backends, data, functional, models, optim
from ..bench.peers import torch_module
from .augment import RandomShift
from .loop import EpochRecord, fit
from .recipes import Recipe, background, make_optimizer, prepare

HEADER = (f"{'epoch':>5} {'train loss':>10} {'train acc':>9} {'test loss':>9} {'test acc':>8} "
          f"{'error %':>7} {'seconds':>7} {'images/s':>8} {'lr':>9}")


def epoch_line(r: EpochRecord) -> str:
    return (f"{r.epoch:>5} {r.train_loss:>10.4f} {r.train_accuracy:>9.4f} {r.test_loss:>9.4f} "
            f"{r.test_accuracy:>8.4f} {100 * (1 - r.test_accuracy):>7.2f} {r.seconds:>7.1f} "
            f"{r.images_per_second:>8.0f} {r.lr:>9.2e}")


def load_data(recipe: Recipe, root, download: bool, limit: int | None):
    """((x_train, y_train), (x_test, y_test)) prepared for the recipe's model."""
    train_images, train_labels = data.mnist(root, train=True, download=download)
    test_images, test_labels = data.mnist(root, train=False, download=download)
    if limit is not None:
        train_images, train_labels = train_images[:limit], train_labels[:limit]
    return ((prepare(train_images, recipe), train_labels),
            (prepare(test_images, recipe), test_labels))


def run(recipe: Recipe, *, seed: int = 0, root=None, download: bool = False,
        checkpoint: str | None = None, compare_torch_steps: int = 0, limit: int | None = None,
        progress: bool = True, out=sys.stdout) -> dict:
    """Train by `recipe`; returns the report (settings, per-epoch records, torch timing)."""
    (x_train, y_train), test = load_data(recipe, root, download, limit)
    model = models.build(recipe.model, **recipe.options, rng=np.random.default_rng(seed))
    params = sum(p.size for p in model.parameters())
    threads = functional.get_num_threads()
    print(f"faltung train {recipe.model}: {params:,} parameters, {len(x_train):,} training / "
          f"{len(test[1]):,} test images, {threads} thread{'s' if threads > 1 else ''}, "
          f"backend {backends.get_backend()}", file=out)
    print("recipe: " + ", ".join(f"{k}={v}" for k, v in asdict(recipe).items()), file=out)
    report = {"recipe": asdict(recipe), "seed": seed, "parameters": params, "threads": threads,
              "train_images": len(x_train), "epochs": [], "torch_comparison": None}
    batches = data.Batches(x_train, y_train, recipe.batch_size, shuffle=True, seed=seed)
    if compare_torch_steps:
        report["torch_comparison"] = compare_with_torch(model, recipe, batches,
                                                        compare_torch_steps, out)
    optimizer = make_optimizer(recipe, model.parameters())
    scheduler = optim.CosineAnnealingLR(optimizer, T_max=recipe.epochs)
    augment = (RandomShift(recipe.max_shift, background(), seed=seed + 1)
               if recipe.max_shift else None)
    print(HEADER, file=out, flush=True)

    def on_epoch(record: EpochRecord):
        print(epoch_line(record), file=out, flush=True)
        report["epochs"].append(record.to_dict())
        if checkpoint:
            model.save(checkpoint)

    fit(model, optimizer, batches, test, recipe.epochs, scheduler=scheduler, augment=augment,
        progress=progress, on_epoch=on_epoch)
    if checkpoint:
        print(f"checkpoint: {checkpoint} (model.load(path) or torch: "
              f"{{k: torch.from_numpy(v) for k, v in numpy.load(path).items()}})", file=out)
    return report


def compare_with_torch(model, recipe: Recipe, batches, steps: int, out) -> dict | None:
    """Seconds per step of faltung and PyTorch training copies of `model` on the same batches."""
    if torch_module() is None:
        print("compare with torch: PyTorch is not installed, skipped", file=out)
        return None
    from .torch_twin import time_steps
    torch_module().set_num_threads(functional.get_num_threads())
    sample = []
    for xb, yb in batches:
        sample.append((xb, yb))
        if len(sample) == steps:
            break
    result = time_steps(copy.deepcopy(model), recipe, sample)
    per_step = result["seconds_per_step"]
    print(f"compare with torch ({result['steps']} steps of {result['batch_size']} images, "
          f"median): faltung {1e3 * per_step['faltung']:.2f} ms/step, torch "
          f"{1e3 * per_step['torch']:.2f} ms/step, torch/faltung {result['ratio']:.2f}x",
          file=out, flush=True)
    return result
