"""Fashion-MNIST from its idx files (Debian package dataset-fashion-mnist by default).

idx format (yann.lecun.com/exdb/mnist): big-endian int32 magic (2051 = 0x803: ubyte, 3 dims;
2049 = 0x801: ubyte, 1 dim), one big-endian int32 per dimension, then the bytes. Each file may
be gzipped (`.gz`) or not.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from netmodels.data.base import DATASETS, ImageDataset, channel_stats
from splitbase import DataError

DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049


def find_idx(root: Path, stem: str) -> Path:
    """`root/stem` or `root/stem.gz`, whichever exists; DataError if neither does."""
    for path in (root / stem, root / f"{stem}.gz"):
        if path.is_file():
            return path
    raise DataError(
        f"{root / stem}[.gz]: missing (expected a Fashion-MNIST idx file; install the Debian package "
        f"dataset-fashion-mnist or pass the folder holding the idx files)"
    )


def read_idx(path: Path, magic: int) -> np.ndarray:
    """The array in an idx file of uint8 data with the given magic (2051 images, 2049 labels).

    Gzip is recognised by its first bytes, not by the name. Any defect (wrong magic, truncated or
    trailing bytes, bad gzip) is a DataError naming the path and what was expected.
    """
    kind = {IMAGE_MAGIC: "an idx3 image file", LABEL_MAGIC: "an idx1 label file"}[magic]
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot be read as {kind} ({exc})") from None
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: not {kind} ({len(raw)} bytes, shorter than the {header}-byte header)")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(f"{path}: not {kind} (magic {found}, expected {magic})")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(dims))
    if len(raw) != header + size:
        raise DataError(f"{path}: {kind} of shape {dims} needs {header + size} bytes, the file has {len(raw)} (truncated or corrupt)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _split(root: Path, prefix: str, pad_to: int) -> tuple[torch.Tensor, torch.Tensor]:
    image_path, label_path = find_idx(root, f"{prefix}-images-idx3-ubyte"), find_idx(root, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(image_path, IMAGE_MAGIC), read_idx(label_path, LABEL_MAGIC)
    if images.shape[1:] != (28, 28):
        raise DataError(f"{image_path}: images of {images.shape[1]}x{images.shape[2]} pixels, expected 28x28")
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{label_path}: {labels.shape[0]} labels for {images.shape[0]} images in {image_path.name}")
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise DataError(f"{label_path}: label {labels.max()} outside 0..{len(CLASS_NAMES) - 1}")
    # Zero padding (black border, as the background) to the 32x32 input of CIFAR-shaped models.
    off = (pad_to - 28) // 2
    padded = np.zeros((images.shape[0], 1, pad_to, pad_to), dtype=np.uint8)
    padded[:, 0, off : off + 28, off : off + 28] = images
    return torch.from_numpy(padded), torch.from_numpy(labels.astype(np.int64))


@DATASETS.register("fashion-mnist")
def load_fashion_mnist(*, root: Path | None = None, allow_download: bool = False, pad_to: int = 32) -> ImageDataset:
    """Fashion-MNIST, 60k train / 10k test, 10 classes, 1 x pad_to x pad_to (28x28 zero-padded).

    root: folder of the four idx files (default /usr/share/datasets/fashion-mnist). Nothing is
    downloaded (allow_download is accepted for a uniform signature): the Debian package
    dataset-fashion-mnist provides the files.
    """
    if not isinstance(pad_to, int) or pad_to < 28 or (pad_to - 28) % 2:
        raise DataError(f"fashion-mnist: pad_to must be an even-padded size >= 28 (28, 30, 32, ...), got {pad_to!r}")
    root = DEFAULT_ROOT if root is None else Path(root)
    train_images, train_labels = _split(root, "train", pad_to)
    test_images, test_labels = _split(root, "t10k", pad_to)
    mean, std = channel_stats(train_images)
    return ImageDataset(
        "fashion-mnist", train_images, train_labels, test_images, test_labels,
        num_classes=10, mean=mean, std=std, class_names=CLASS_NAMES,
    )
