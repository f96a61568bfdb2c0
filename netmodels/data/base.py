"""The data set record, the data set registry and `load_dataset`."""
from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from splitbase import DataError, Registry

# Where data sets other than Fashion-MNIST are looked for when no root is given: the git-ignored
# data/ folder of the repository (DESIGN.md: a GPU run carries its data there), relative to the
# working directory.
DEFAULT_DATA_DIR = Path("data")


@dataclass
class ImageDataset:
    """An image classification data set held in memory as uint8, as the model sees it.

    train_images / test_images: uint8 (N, C, H, W), already at the model input size.
    train_labels / test_labels: int64 (N,), in 0..num_classes - 1.
    mean / std: per channel, on the 0..1 scale, over the training images (for normalisation:
    (x / 255 - mean) / std).
    """

    name: str
    train_images: Tensor
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for split, images, labels in (
            ("train", self.train_images, self.train_labels),
            ("test", self.test_images, self.test_labels),
        ):
            if images.dtype != torch.uint8 or images.dim() != 4:
                raise DataError(f"{self.name}: {split} images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
            if labels.dtype != torch.int64 or labels.shape != (images.shape[0],):
                raise DataError(f"{self.name}: {split} labels must be int64 ({images.shape[0]},), got {labels.dtype} {tuple(labels.shape)}")
            if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise DataError(f"{self.name}: {split} labels outside 0..{self.num_classes - 1}")
        if self.train_images.shape[1:] != self.test_images.shape[1:]:
            raise DataError(f"{self.name}: train images {tuple(self.train_images.shape[1:])} and test images {tuple(self.test_images.shape[1:])} differ in shape")
        channels = self.train_images.shape[1]
        if len(self.mean) != channels or len(self.std) != channels or min(self.std) <= 0:
            raise DataError(f"{self.name}: mean and std need {channels} values each, std > 0")
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise DataError(f"{self.name}: {len(self.class_names)} class names for {self.num_classes} classes")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one model input."""
        c, h, w = self.train_images.shape[1:]
        return (int(c), int(h), int(w))

    def __repr__(self) -> str:
        return (
            f"ImageDataset({self.name!r}, train={len(self.train_labels)}, test={len(self.test_labels)}, "
            f"input={self.input_shape}, classes={self.num_classes})"
        )


def channel_stats(images: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std (0..1 scale) of uint8 images (N, C, H, W), exactly.

    Counted with a 256-bin histogram per channel (torch.bincount), so no float copy of the data
    set is made and the sums are exact.
    """
    levels = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for c in range(images.shape[1]):
        hist = torch.bincount(images[:, c].reshape(-1), minlength=256).to(torch.float64)
        total = hist.sum()
        mean = float((hist * levels).sum() / total)
        var = float((hist * (levels - mean) ** 2).sum() / total)
        means.append(mean)
        stds.append(max(var, 1e-12) ** 0.5)  # a constant channel would divide by zero
    return tuple(means), tuple(stds)


def md5sum(path: Path) -> str:
    """MD5 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


Loader = Callable[..., ImageDataset]
DATASETS: Registry[Loader] = Registry("dataset", error=DataError)


def load_dataset(
    name: str, *, root: str | Path | None = None, allow_download: bool = False, **options: object
) -> ImageDataset:
    """Load the data set registered as `name` ("fashion-mnist", "cifar10", "cifar100",
    "imagefolder", "synthetic") from `root` (each loader has its own default), downloading only
    when allow_download is True and the loader can. `options` go to the loader; an unknown one
    is a DataError that lists the loader's options.
    """
    loader = DATASETS.get(name)
    accepted = [
        p.name
        for p in inspect.signature(loader).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in ("root", "allow_download")
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise DataError(f"dataset {name!r} has no option {', '.join(unknown)} (options: {', '.join(accepted) or 'none'})")
    return loader(root=Path(root) if root is not None else None, allow_download=allow_download, **options)
