"""faltung.models: the lecture's architectures built from faltung.nn layers.

    faltung.models.list()                 the names
    faltung.models.build("lenet5", activation="relu", pool="max")
    faltung.models.entry(name)            (builder, standard input shape, summary)
"""
from . import (alexnet, densenet, edge_lover, googlenet, highway, lenet, mlp,  # noqa: F401
               mobilenet, resnet, vgg, vit, xception)  # (each registers its builders)
from .registry import build, entry, names

list = names  # noqa: A001  (faltung.models.list() as the API names it)

__all__ = ["build", "entry", "list"]
