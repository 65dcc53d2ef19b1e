"""faltung.nn: trainable building blocks. So far only `Parameter`, the array an optimizer updates."""
from .parameter import Parameter

__all__ = ["Parameter"]
