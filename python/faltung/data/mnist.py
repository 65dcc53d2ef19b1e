"""MNIST (LeCun, Cortes, Burges): the four IDX files, read into NumPy arrays.

Where the files are looked for: the directory `root` (or, when root is None, the directory named
by the environment variable FALTUNG_DATA), then its subdirectory `mnist/`. Each file may be
gzip-compressed (`train-images-idx3-ubyte.gz`) or raw (`train-images-idx3-ubyte`); the raw one
wins when both exist. `download=True` fetches the missing files of the requested split into
`<root>/mnist/`.
"""
from __future__ import annotations

import os

import numpy as np

from .idx import read_idx

ENV_VAR = "FALTUNG_DATA"
IMAGES_MAGIC = 2051   # 0x00000803: uint8, 3 dimensions (N, 28, 28)
LABELS_MAGIC = 2049   # 0x00000801: uint8, 1 dimension (N,)
IMAGE_SIZE = 28
SPLITS = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

# Mirrors of the original files (yann.lecun.com has been unreliable for scripted downloads): the S3
# bucket torchvision downloads from, and the Google Cloud Storage bucket TensorFlow's examples use.
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
           "https://storage.googleapis.com/cvdf-datasets/mnist/")

# MD5 of each file's UNCOMPRESSED content. Copies of the .gz files differ byte for byte:
# torchvision publishes the MD5s of its .gz copies (torchvision/datasets/mnist.py, MNIST.resources:
# f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d...), other mirrors recompress, but the IDX
# content is the same everywhere, so the content is what is checked. These are the MD5s of the
# original uncompressed files as MNIST loaders have published them for years (and as
# ../shared/data/mnist/README.md lists them); the canonical files there give exactly these.
CONTENT_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

# Mean and standard deviation of the training images scaled to [0, 1] (PyTorch's MNIST examples).
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def mnist(root: str | os.PathLike | None = None, train: bool = True, download: bool = False, *,
          base_url: str | list[str] | tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The training (train=True, 60000 images) or test split (10000) of MNIST.

    Returns (images, labels): images uint8 of shape (N, 28, 28), pixel values 0..255 (0 the
    background); labels int64 of shape (N,), values 0..9. `as_float(images)` gives the network
    input. `base_url` (one URL or a list of mirrors, each the directory holding the .gz files)
    replaces MIRRORS for download=True.

    FileNotFoundError (saying where it looked and how to get the files) when a file is missing;
    ValueError naming the file when its header is not MNIST's or its size does not match the
    header."""
    mirrors = _mirrors(base_url)
    directory = _data_dir(root)
    images_name, labels_name = SPLITS[bool(train)]
    paths = []
    for name in (images_name, labels_name):
        path = _find(directory, name)
        if path is None and download:
            from .download import download as fetch
            path = fetch(name + ".gz", os.path.join(directory, "mnist"), mirrors,
                         CONTENT_MD5[name])
        if path is None:
            raise FileNotFoundError(_missing_message(directory, name))
        paths.append(path)
    images = read_idx(paths[0], IMAGES_MAGIC)
    labels = read_idx(paths[1], LABELS_MAGIC)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"{paths[0]}: images of {images.shape[1]}x{images.shape[2]} pixels, "
                         f"expected MNIST's {IMAGE_SIZE}x{IMAGE_SIZE}")
    if len(images) != len(labels):
        raise ValueError(f"{paths[0]} holds {len(images)} images but {paths[1]} "
                         f"{len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{paths[1]}: label {labels.max()} found, MNIST's are 0..9")
    return images, labels.astype(np.int64)


def as_float(images: np.ndarray, *, dtype=np.float32, mean: float = MNIST_MEAN,
             std: float = MNIST_STD) -> np.ndarray:
    """uint8 images (N, H, W) as a network input (N, 1, H, W) in `dtype`:
    (pixel / 255 - mean) / std. mean=0, std=1 gives pixels scaled to [0, 1]."""
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 3:
        raise TypeError("images: expected a uint8 numpy.ndarray of shape (N, H, W), got "
                        + (f"{images.dtype} with shape {images.shape}"
                           if isinstance(images, np.ndarray) else type(images).__name__))
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype: expected float32 or float64, got {np.dtype(dtype)}")
    if not std > 0:
        raise ValueError(f"std: expected a positive number, got {std}")
    x = images[:, None].astype(dtype)
    x *= np.asarray(1 / (255 * std), dtype=dtype)
    x -= np.asarray(mean / std, dtype=dtype)
    return x


def _data_dir(root) -> str:
    if root is None:
        root = os.environ.get(ENV_VAR) or None
    if root is None:
        raise FileNotFoundError(
            f"MNIST: no data directory given: pass root=<directory> or set the environment "
            f"variable {ENV_VAR} to the directory that holds the four MNIST files (directly or in "
            f"its mnist/ subdirectory). {_how_to_get()}")
    return os.fspath(root)


def _candidates(directory: str, name: str) -> list[str]:
    return [os.path.join(d, n) for d in (directory, os.path.join(directory, "mnist"))
            for n in (name, name + ".gz")]


def _find(directory: str, name: str) -> str | None:
    return next((p for p in _candidates(directory, name) if os.path.isfile(p)), None)


def _mirrors(base_url) -> tuple[str, ...]:
    urls = MIRRORS if base_url is None else (base_url,) if isinstance(base_url, str) else base_url
    if not isinstance(urls, (tuple, list)) or not urls or not all(isinstance(u, str) for u in urls):
        raise TypeError(f"base_url: expected a URL or a non-empty list of URLs, got {base_url!r}")
    return tuple(u if u.endswith("/") else u + "/" for u in urls)


def _missing_message(directory: str, name: str) -> str:
    absent = "" if os.path.isdir(directory) else f" (the directory {directory} does not exist)"
    return (f"MNIST file {name} (or {name}.gz) not found; looked for "
            + ", ".join(_candidates(directory, name)) + f"{absent}. {_how_to_get(directory)}")


def _how_to_get(directory: str = "<root>") -> str:
    files = ", ".join(n + ".gz" for split in SPLITS.values() for n in split)
    return (f"Get the files ({files}) from {MIRRORS[0]} into {os.path.join(directory, 'mnist')}, "
            f"or call faltung.data.mnist(root, download=True).")
