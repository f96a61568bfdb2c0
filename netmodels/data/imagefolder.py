"""ImageFolder: a directory of class folders of images (ImageNet-style), read with Pillow.

Two layouts, told apart by whether `root/train/` exists:

- `root/train/<class>/<image>` and `root/test/<class>/<image>`: the split is the folders'.
  Classes are the train folder's sub-folders; a test class unknown to train is an error.
- `root/<class>/<image>`: split per class by a deterministic fraction: the class's files,
  sorted by name, are permuted by a numpy generator seeded with `seed`, and the first
  round(test_fraction * n) go to test (at least one image of each class stays in train).

Each image is converted to RGB (or L for channels=1), its shorter side resized to `size`
(bilinear) and the centre `size` x `size` cropped, as ImageNet evaluation does.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from netmodels.data.base import DATASETS, ImageDataset, channel_stats
from splitbase import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".gif", ".tif", ".tiff", ".webp")


def _classes(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


def load_image(path: Path, size: int, channels: int) -> np.ndarray:
    """One image as uint8 (channels, size, size): shorter side resized to size, centre-cropped."""
    try:
        with Image.open(path) as img:
            img = img.convert("RGB" if channels == 3 else "L")
            w, h = img.size
            scale = size / min(w, h)
            nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
            img = img.resize((nw, nh), Image.Resampling.BILINEAR)
            left, top = (nw - size) // 2, (nh - size) // 2
            arr = np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read as an image ({exc})") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _stack(files: list[tuple[Path, int]], size: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    images = np.zeros((len(files), channels, size, size), dtype=np.uint8)
    for i, (path, _) in enumerate(files):
        images[i] = load_image(path, size, channels)
    labels = np.array([label for _, label in files], dtype=np.int64)
    return torch.from_numpy(images), torch.from_numpy(labels)


@DATASETS.register("imagefolder")
def load_imagefolder(
    *,
    root: Path | None = None,
    allow_download: bool = False,
    size: int = 224,
    channels: int = 3,
    test_fraction: float = 0.2,
    seed: int = 0,
    name: str = "imagefolder",
) -> ImageDataset:
    """Images from class folders under root (layouts in the module docstring), channels x size x size.

    allow_download is accepted for a uniform signature; nothing is downloaded.
    """
    if root is None:
        raise DataError("imagefolder: no root given (expected a folder of class folders of images)")
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: missing (expected a folder of class folders of images)")
    if channels not in (1, 3) or not isinstance(size, int) or size < 1:
        raise DataError(f"imagefolder: channels must be 1 or 3 and size a positive int, got {channels!r}, {size!r}")
    if not 0.0 <= test_fraction < 1.0:
        raise DataError(f"imagefolder: test_fraction must be in [0, 1), got {test_fraction!r}")
    split_layout = (root / "train").is_dir()
    classes = _classes(root / "train" if split_layout else root)
    if not classes:
        raise DataError(f"{root / 'train' if split_layout else root}: no class folders (expected <class>/<image> inside)")
    train: list[tuple[Path, int]] = []
    test: list[tuple[Path, int]] = []
    if split_layout:
        if not (root / "test").is_dir():
            raise DataError(f"{root / 'test'}: missing (expected test/<class>/ beside train/)")
        unknown = sorted(set(_classes(root / "test")) - set(classes))
        if unknown:
            raise DataError(f"{root / 'test'}: classes {', '.join(unknown)} are not in {root / 'train'}")
        for label, cls in enumerate(classes):
            train += [(p, label) for p in _images(root / "train" / cls)]
            if (root / "test" / cls).is_dir():
                test += [(p, label) for p in _images(root / "test" / cls)]
    else:
        rng = np.random.default_rng(seed)
        for label, cls in enumerate(classes):
            files = _images(root / cls)
            order = rng.permutation(len(files))
            n_test = min(round(test_fraction * len(files)), max(len(files) - 1, 0))
            test += [(files[i], label) for i in sorted(order[:n_test])]
            train += [(files[i], label) for i in sorted(order[n_test:])]
    per_class = np.bincount([label for _, label in train], minlength=len(classes))
    if (per_class == 0).any():
        empty = classes[int(np.argmin(per_class))]
        raise DataError(f"{root}: class {empty!r} has no training images (expected files ending {', '.join(EXTENSIONS)})")
    train_images, train_labels = _stack(train, size, channels)
    test_images, test_labels = _stack(test, size, channels)
    mean, std = channel_stats(train_images)
    return ImageDataset(
        name, train_images, train_labels, test_images, test_labels,
        num_classes=len(classes), mean=mean, std=std, class_names=tuple(classes),
    )
