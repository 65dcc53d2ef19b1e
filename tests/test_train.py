"""Training: a few hundred steps of LeNet-5 and of the MLP on real MNIST make the loss fall and
the accuracy rise well above chance; the models' parameter counts; the PyTorch twin computes
the same network; augmentation; `faltung train` end to end (checkpoint, JSON)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from faltung import data, models
from faltung.train import RECIPES, RandomShift, evaluate, fit
from faltung.train.recipes import background, make_optimizer, prepare
from tests.conftest import assert_close
from tests.test_mnist import SHARED_MNIST

needs_mnist = pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"no MNIST at {SHARED_MNIST}")


@pytest.fixture(scope="module")
def mnist_subset():
    images, labels = data.mnist(SHARED_MNIST, train=True)
    test_images, test_labels = data.mnist(SHARED_MNIST, train=False)
    return images[:6400], labels[:6400], test_images[:2000], test_labels[:2000]


@needs_mnist
@pytest.mark.parametrize("name, steps", [("lenet5", 200), ("mlp", 300)])
def test_a_few_hundred_steps_learn(mnist_subset, name, steps):
    images, labels, test_images, test_labels = mnist_subset
    recipe = RECIPES[name]
    x, test_x = prepare(images, recipe), prepare(test_images, recipe)
    model = models.build(name, **recipe.options, rng=np.random.default_rng(0))
    before_loss, before_acc = evaluate(model, test_x, test_labels)
    batches = data.Batches(x, labels, 32, shuffle=True, seed=0)
    records = fit(model, make_optimizer(recipe, model.parameters()), batches,
                  (test_x, test_labels), epochs=2, max_steps=steps, progress=False)
    after = records[-1]
    assert after.test_loss < 0.5 * before_loss, (before_loss, after)
    assert before_acc < 0.2 and after.test_accuracy > 0.7, (before_acc, after)  # chance: 0.1


def test_parameter_counts():
    """LeNet-5: C1 6*(25+1), C3 16*(6*25+1), C5 120*(16*25+1), F6 84*(120+1), out 10*(84+1);
    the MLP: 100*(784+1) + 50*(100+1) + 10*(50+1)."""
    count = {name: sum(p.size for p in models.build(name).parameters()) for name in ("lenet5", "mlp")}
    assert count["lenet5"] == 156 + 2416 + 48120 + 10164 + 850 == 61706
    assert count["mlp"] == 78500 + 5050 + 510 == 84060


def test_model_registry():
    assert {"lenet5", "mlp"} <= set(models.list())
    with pytest.raises(ValueError, match=r"name: expected one of \[.*'lenet5'.*\], got 'lenet6'"):
        models.build("lenet6")
    with pytest.raises(ValueError, match=r"pool: expected 'avg' or 'max', got 'l2'"):
        models.build("lenet5", pool="l2")


@pytest.mark.parametrize("name, options", [("lenet5", {}), ("lenet5", {"activation": "relu", "pool": "max"}),
                                           ("mlp", {}), ("mlp", {"activation": "relu"})])
def test_torch_twin_computes_the_same_network(name, options, rng):
    pytest.importorskip("torch")
    from faltung.train.torch_twin import torch_twin
    model = models.build(name, **options, rng=rng).astype(np.float64)
    x = rng.standard_normal((3, 1, 32, 32) if name == "lenet5" else (3, 784))
    twin = torch_twin(model).double()
    import torch
    assert_close(model(x), twin(torch.from_numpy(x)).detach().numpy(), dtype=np.float64)


def test_random_shift_moves_a_pixel_within_range():
    batch = np.zeros((200, 1, 9, 9), np.float32)
    batch[:, 0, 4, 4] = 1
    shifted = RandomShift(2, fill=-1.0, seed=0)(batch)
    assert shifted.shape == batch.shape
    for image in shifted[:, 0]:
        (row,), (col,) = np.nonzero(image == 1)
        assert abs(row - 4) <= 2 and abs(col - 4) <= 2
        assert set(np.unique(image)) <= {-1.0, 0.0, 1.0}
    moves = {tuple(np.argwhere(img == 1)[0]) for img in shifted[:, 0]}
    assert len(moves) == 25  # every shift in [-2, 2]^2 happens among 200 draws


def test_prepare_pads_with_the_background():
    recipe = RECIPES["lenet5"]
    x = prepare(np.zeros((2, 28, 28), np.uint8), recipe)
    assert x.shape == (2, 1, 32, 32) and x.dtype == np.float32
    assert_close(x, np.full(x.shape, background(), np.float32), dtype=np.float32)
    assert math.isclose(background(), -0.1307 / 0.3081)


@needs_mnist
def test_cli_train_writes_checkpoint_and_json(tmp_path, capsys):
    from faltung.cli import main
    checkpoint, report = tmp_path / "lenet.npz", tmp_path / "train.json"
    status = main(["train", "lenet5", "--epochs", "1", "--limit", "640", "--batch-size", "64",
                   "--data", str(SHARED_MNIST), "--checkpoint", str(checkpoint),
                   "--json", str(report), "--threads", "1"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "61,706 parameters" in printed and "error %" in printed
    document = json.loads(report.read_text())
    (epoch,) = document["epochs"]
    assert document["train_images"] == 640 and 0 <= epoch["test_accuracy"] <= 1
    model = models.build("lenet5", **RECIPES["lenet5"].options)
    model.load(checkpoint)
    test_images, test_labels = data.mnist(SHARED_MNIST, train=False)
    _, accuracy = evaluate(model, prepare(test_images, RECIPES["lenet5"]), test_labels)
    assert accuracy == pytest.approx(epoch["test_accuracy"])


def test_backward_through_a_model_needs_forward_first():
    with pytest.raises(RuntimeError, match="backward called before forward"):
        models.build("mlp").backward(np.zeros((1, 10), np.float32))


def test_cli_train_reports_missing_data_without_a_traceback(tmp_path, capsys):
    from faltung.cli import main
    assert main(["train", "mlp", "--data", str(tmp_path / "nowhere"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("faltung train: error: MNIST file train-images-idx3-ubyte")
    assert "Traceback" not in err
