"""The model registry behind faltung.models.list() and faltung.models.build(name, **options)."""
from __future__ import annotations

import inspect
from typing import Callable, NamedTuple


class Entry(NamedTuple):
    builder: Callable
    input_shape: tuple  # (C, H, W) or (features,): the standard input of one example
    summary: str


_ENTRIES: dict[str, Entry] = {}


def register(name: str, input_shape: tuple, summary: str):
    """Decorator: make `builder(**options) -> Module` buildable as `name`."""
    def add(builder):
        _ENTRIES[name] = Entry(builder, input_shape, summary)
        return builder
    return add


def names() -> list[str]:
    """The registered model names, sorted."""
    return sorted(_ENTRIES)


def entry(name: str) -> Entry:
    if name not in _ENTRIES:
        raise ValueError(f"name: expected one of {names()}, got {name!r}")
    return _ENTRIES[name]


def build(name: str, **options):
    """The model `name` built with `options` (see each builder's docstring); an option the
    builder does not take is a TypeError naming it and the ones it takes."""
    builder = entry(name).builder
    known = list(inspect.signature(builder).parameters)
    unknown = [key for key in options if key not in known]
    if unknown:
        raise TypeError(f"options: {name!r} takes {known}, got unknown {unknown}")
    return builder(**options)
