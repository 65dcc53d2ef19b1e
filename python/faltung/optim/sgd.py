"""SGD with momentum, dampening, Nesterov momentum and L2 weight decay: torch.optim.SGD's rule.

    g = grad + weight_decay * p
    b = g                                   (first step: the buffer starts as a copy of g)
    b = momentum * b + (1 - dampening) * g  (later steps)
    g = g + momentum * b  if nesterov  else  b        (only when momentum != 0)
    p = p - lr * g
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_number


class SGD(Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check_group(self, group: dict) -> None:
        check_number(group["lr"], "lr", low=0.0)
        check_number(group["momentum"], "momentum", low=0.0)
        check_number(group["dampening"], "dampening")
        check_number(group["weight_decay"], "weight_decay", low=0.0)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("nesterov: Nesterov momentum requires a momentum > 0 and zero "
                             f"dampening, got momentum={group['momentum']}, "
                             f"dampening={group['dampening']}")

    def _update(self, param, grad, state, group) -> None:
        momentum = group["momentum"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.data
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param.data -= group["lr"] * grad
