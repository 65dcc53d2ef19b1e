"""The same network in PyTorch, for the epoch-time comparison of `faltung train --compare-torch`:
a faltung Sequential of Conv2d (fused ReLU included), Linear, activations, Flatten and pooling
layers rebuilt layer for layer in torch.nn with the weights copied, and both trained for the
same steps on the same batches with the same optimizer."""
from __future__ import annotations

import time

import numpy as np

from .. import nn
from ..bench.peers import torch_module


def _layer(torch, layer):
    tnn = torch.nn
    if isinstance(layer, nn.Conv2d):
        g = layer.geometry
        o, cg, kh, kw = layer.weight.shape
        conv = tnn.Conv2d(cg * g["groups"], o, (kh, kw), g["stride"], g["padding"],
                          g["dilation"], g["groups"], bias=layer.bias is not None)
        return [conv, tnn.ReLU()] if layer.activation == "relu" else [conv]
    if isinstance(layer, nn.Linear):
        out_features, in_features = layer.weight.shape
        return [tnn.Linear(in_features, out_features, bias=layer.bias is not None)]
    if isinstance(layer, nn.MaxPool2d):
        return [tnn.MaxPool2d(**layer.options)]
    if isinstance(layer, nn.AvgPool2d):
        return [tnn.AvgPool2d(**layer.options)]
    simple = {nn.ReLU: tnn.ReLU, nn.Tanh: tnn.Tanh, nn.Sigmoid: tnn.Sigmoid, nn.Flatten: tnn.Flatten}
    if type(layer) in simple:
        return [simple[type(layer)]()]
    raise TypeError(f"layer: no PyTorch twin for {layer.describe()}")


def torch_twin(model: nn.Sequential):
    """A torch.nn.Sequential computing what `model` computes, with its weights."""
    torch = torch_module()
    layers, sources = [], []
    for layer in model.children():
        twins = _layer(torch, layer)
        layers += twins
        sources.append((twins[0], layer))
    twin = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for target, source in sources:
            for name, param in source._parameters.items():
                if param is not None:
                    getattr(target, name).copy_(torch.from_numpy(param.data))
    return twin


def torch_optimizer(recipe, parameters):
    """The torch.optim twin of recipes.make_optimizer."""
    torch = torch_module()
    if recipe.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(parameters, lr=recipe.lr, momentum=0.9,
                           weight_decay=recipe.weight_decay)


def time_steps(model: nn.Sequential, recipe, batches: list, warmup: int = 3) -> dict:
    """Seconds per training step of faltung and of its PyTorch twin on the same batches, steps
    interleaved (median over the batches after `warmup` untimed ones), and the ratio
    torch / faltung. Trains `model`: pass a copy."""
    torch = torch_module()
    from .loop import train_step
    from .recipes import make_optimizer
    twin = torch_twin(model)
    criterion, ours = nn.CrossEntropyLoss(), make_optimizer(recipe, model.parameters())
    theirs, loss_fn = torch_optimizer(recipe, twin.parameters()), torch.nn.CrossEntropyLoss()

    def torch_step(xb, yb):
        theirs.zero_grad()
        loss_fn(twin(torch.from_numpy(xb)), torch.from_numpy(yb)).backward()
        theirs.step()

    times = {"faltung": [], "torch": []}
    for i, (xb, yb) in enumerate(batches):
        for name, step in (("faltung", lambda: train_step(model, criterion, ours, xb, yb)),
                           ("torch", lambda: torch_step(xb, yb))):
            start = time.perf_counter()
            step()
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    medians = {name: float(np.median(t)) for name, t in times.items()}
    return dict(seconds_per_step=medians, ratio=medians["torch"] / medians["faltung"],
                steps=len(times["faltung"]), batch_size=len(batches[0][1]))
