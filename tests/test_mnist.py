"""faltung.data.mnist: the real files (../shared/data/mnist beside the repository, skipped with a
reason when absent), raw and gzip files, where the loader looks, and every way a file can be
wrong (small synthetic IDX files written here)."""
from __future__ import annotations

import gzip
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from faltung.data import MNIST_MEAN, MNIST_STD, as_float, mnist
from tests.conftest import assert_close
from tests.test_validation import expect

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(
    not (SHARED_MNIST / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason=f"the MNIST files are not at {SHARED_MNIST} (../shared/data/mnist beside the repository)")

TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# Published class counts of the two splits (digits 0..9) and their first ten labels.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_FIRST = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
TEST_FIRST = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv("FALTUNG_DATA", raising=False)


def check_split(images, labels, counts, first):
    n = sum(counts)
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == counts
    assert labels[:10].tolist() == first
    assert images.min() == 0 and images.max() == 255


@needs_mnist
def test_test_split():
    check_split(*mnist(SHARED_MNIST, train=False), TEST_COUNTS, TEST_FIRST)


@needs_mnist
def test_train_split_via_environment_and_mnist_subdirectory(monkeypatch):
    monkeypatch.setenv("FALTUNG_DATA", str(SHARED_MNIST.parent))  # found in <dir>/mnist/
    check_split(*mnist(), TRAIN_COUNTS, TRAIN_FIRST)


@needs_mnist
def test_raw_and_gzip_files_give_the_same_arrays(tmp_path):
    images_gz, labels_gz = mnist(SHARED_MNIST, train=False)
    with gzip.open(SHARED_MNIST / (TEST[0] + ".gz")) as src, open(tmp_path / TEST[0], "wb") as dst:
        shutil.copyfileobj(src, dst)                                 # raw images
    shutil.copy(SHARED_MNIST / (TEST[1] + ".gz"), tmp_path)          # gzip labels
    images, labels = mnist(tmp_path, train=False)
    assert np.array_equal(images, images_gz) and np.array_equal(labels, labels_gz)


# ------------------------------------------------------------------------ synthetic IDX files

def idx_bytes(magic, shape, data=None, extra=b""):
    if data is None:
        data = bytes(i % 10 for i in range(int(np.prod(shape))))
    return struct.pack(f">I{len(shape)}I", magic, *shape) + data + extra


def write(directory, name, content, gz=False):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


def write_split(directory, images=None, labels=None, n=3, gz=False):
    write(directory, TRAIN[0], images if images is not None else idx_bytes(2051, (n, 28, 28)), gz)
    write(directory, TRAIN[1], labels if labels is not None else idx_bytes(2049, (n,)), gz)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_small_synthetic_split(tmp_path, gz):
    write_split(tmp_path / "mnist", gz=gz)
    images, labels = mnist(tmp_path)
    assert images.shape == (3, 28, 28) and labels.tolist() == [0, 1, 2]
    assert images[0, 0, :12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert images.flags.writeable


def test_missing_files_say_where_and_how(tmp_path):
    expect(FileNotFoundError, lambda: mnist(tmp_path / "nowhere"),
           r"train-images-idx3-ubyte", re.escape(str(tmp_path / "nowhere" / "mnist")),
           r"does not exist", r"download=True", r"https://")


def test_missing_labels_only(tmp_path):
    write(tmp_path, TRAIN[0], idx_bytes(2051, (3, 28, 28)))
    expect(FileNotFoundError, lambda: mnist(tmp_path), r"train-labels-idx1-ubyte",
           re.escape(str(tmp_path / TRAIN[1])))


def test_no_directory_names_the_environment_variable():
    expect(FileNotFoundError, lambda: mnist(), r"\broot\b", r"FALTUNG_DATA", r"download=True")


@pytest.mark.parametrize("images, labels, fragments", [
    (idx_bytes(2049, (3,)), None, [TRAIN[0], r"magic number 2049", r"expected 2051"]),
    (None, idx_bytes(2051, (3, 28, 28)), [TRAIN[1], r"magic number 2051", r"expected 2049"]),
    (idx_bytes(2051, (3, 28, 28))[:-5], None, [TRAIN[0], r"truncated", r"\(3, 28, 28\)"]),
    (idx_bytes(2051, (3, 28, 28), extra=b"\0"), None, [TRAIN[0], r"extra bytes"]),
    (b"\0\0\x08", None, [TRAIN[0], r"3 bytes", r"too short"]),
    (struct.pack(">II", 2051, 3), None, [TRAIN[0], r"truncated inside its 16-byte header"]),
    (None, idx_bytes(2049, (4,)), [TRAIN[0], TRAIN[1], r"3 images", r"4 labels"]),
    (idx_bytes(2051, (3, 32, 32)), None, [TRAIN[0], r"32x32", r"28x28"]),
    (None, idx_bytes(2049, (3,), bytes([1, 10, 2])), [TRAIN[1], r"label 10", r"0\.\.9"]),
], ids=["images-magic", "labels-magic", "truncated", "trailing", "short", "short-header",
        "count-mismatch", "image-size", "label-range"])
def test_corrupt_files_name_the_file(tmp_path, images, labels, fragments):
    write_split(tmp_path, images, labels)
    expect(ValueError, lambda: mnist(tmp_path), *fragments)


def test_truncated_gzip_names_the_file(tmp_path):
    write_split(tmp_path, gz=True)
    path = tmp_path / (TRAIN[0] + ".gz")
    path.write_bytes(path.read_bytes()[:-20])
    expect(ValueError, lambda: mnist(tmp_path), re.escape(str(path)), r"gzip")


def test_directory_itself_searched_before_its_mnist_subdirectory(tmp_path):
    write_split(tmp_path, n=2)
    write_split(tmp_path / "mnist", n=5)
    assert len(mnist(tmp_path)[0]) == 2


# ------------------------------------------------------------------------ as_float

def test_as_float_by_hand():
    images = np.array([[[0, 255], [51, 102]]], np.uint8)
    x = as_float(images)
    expected = (np.array([[[[0, 1], [0.2, 0.4]]]]) - 0.1307) / 0.3081
    assert MNIST_MEAN == 0.1307 and MNIST_STD == 0.3081
    assert_close(x, expected, dtype=np.float32)
    assert_close(as_float(images, dtype=np.float64, mean=0.0, std=1.0),
                 [[[[0, 1], [0.2, 0.4]]]], dtype=np.float64)


@pytest.mark.parametrize("images, kwargs, exc, fragments", [
    (np.zeros((2, 28, 28), np.float32), {}, TypeError, [r"\bimages\b", r"uint8", r"float32"]),
    (np.zeros((2, 1, 28, 28), np.uint8), {}, TypeError, [r"\bimages\b", r"\(N, H, W\)"]),
    ([[0]], {}, TypeError, [r"\bimages\b", r"list"]),
    (np.zeros((2, 28, 28), np.uint8), {"dtype": np.int32}, TypeError, [r"\bdtype\b", r"int32"]),
    (np.zeros((2, 28, 28), np.uint8), {"std": 0.0}, ValueError, [r"\bstd\b", r"positive"]),
], ids=["float-images", "4d", "list", "int-dtype", "zero-std"])
def test_as_float_bad_arguments(images, kwargs, exc, fragments):
    expect(exc, lambda: as_float(images, **kwargs), *fragments)
