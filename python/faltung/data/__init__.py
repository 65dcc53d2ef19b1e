"""faltung.data: MNIST from its IDX files (optionally downloaded, checksum verified) and a
shuffling mini-batch iterator."""
from .batches import Batches
from .idx import read_idx
from .mnist import MNIST_MEAN, MNIST_STD, as_float, mnist

__all__ = ["Batches", "MNIST_MEAN", "MNIST_STD", "as_float", "mnist", "read_idx"]
