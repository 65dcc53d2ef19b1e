"""Optimizer: the base of SGD, Adam and AdamW, laid out as torch.optim.Optimizer.

`param_groups` is a list of dicts, each with "params" (a list of faltung.nn.Parameter) and the
group's hyper-parameters (the learning-rate schedulers change group["lr"]). `state` maps each
Parameter to its per-parameter state (momentum buffers, moment estimates), created on its first
update. Subclasses define `_check_group(group)` (ValueError naming the bad hyper-parameter) and
`_update(param, grad, state, group)`, which changes param.data in place.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..nn.parameter import Parameter


def check_number(value, name: str, low: float | None = None, high: float | None = None,
                 high_open: bool = False) -> None:
    """A real number with low <= value <= high (value < high when high_open); ValueError names
    the argument as PyTorch's messages do ("Invalid learning rate: -1")."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    too_high = high is not None and (value >= high if high_open else value > high)
    if (low is not None and value < low) or too_high or value != value:
        upper = "" if high is None else (f" and < {high}" if high_open else f" and <= {high}")
        raise ValueError(f"Invalid {name}: {value} (expected >= {low}{upper})")


class Optimizer:
    def __init__(self, params, defaults: dict):
        if isinstance(params, (Parameter, np.ndarray)):
            raise TypeError("params: expected an iterable of faltung.nn.Parameter or of dicts "
                            f"(parameter groups), got a single {type(params).__name__}")
        self.defaults = dict(defaults)
        self.state: dict[Parameter, dict] = {}
        self.param_groups: list[dict] = []
        groups = list(params)
        if not groups:
            raise ValueError("params: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        if not isinstance(group, dict):
            raise TypeError(f"param group: expected a dict, got {type(group).__name__}")
        group = dict(group)
        params = group.get("params")
        params = [params] if isinstance(params, Parameter) else list(params or [])
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(f"params[{i}]: expected a faltung.nn.Parameter, got {type(p).__name__}")
        if len(set(map(id, params))) != len(params):
            raise ValueError("params: a parameter appears more than once in a parameter group")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("params: some parameters appear in more than one parameter group")
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop the gradients (PyTorch's default), or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.fill(0)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; `closure` (optional) re-evaluates
        the model and returns the loss, which step returns."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad, self.state.setdefault(p, {}), group)
        return loss

    def state_dict(self) -> dict:
        """{"state": {index: {name: value}}, "param_groups": [{..., "params": [indices]}]}, the
        layout of torch.optim; parameters are numbered in the order of param_groups. Arrays are
        copies."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(p, len(index))
                ids.append(index[p])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[p]: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                 for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"state_dict: has {len(groups)} parameter groups, the optimizer "
                             f"{len(self.param_groups)}")
        params = []
        for i, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"state_dict: parameter group {i} has {len(saved['params'])} "
                                 f"parameters, the optimizer's {len(group['params'])}")
            params += list(zip(saved["params"], group["params"]))
        for saved, group in zip(groups, self.param_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
            self._check_group(group)
        self.state = {}
        for key, p in params:
            if key in state_dict["state"]:
                self.state[p] = {
                    k: (np.array(v, dtype=p.dtype) if isinstance(v, np.ndarray) else v)
                    for k, v in state_dict["state"][key].items()}

    def _check_group(self, group: dict) -> None:
        raise NotImplementedError

    def _update(self, param: Parameter, grad: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            settings = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} parameters, {settings}")
        return "\n".join(lines + [")"])
