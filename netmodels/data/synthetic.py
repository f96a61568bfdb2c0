"""A synthetic, learnable image data set generated in memory from a seed (for tests).

Each class has a smooth random template (a 4x4 random pattern per channel, upsampled
bilinearly to H x W); a sample is its class's template with a random brightness offset and
Gaussian pixel noise, clipped to 0..1 and stored as uint8. A small CNN separates the classes
quickly; `noise` makes it harder.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from netmodels.data.base import DATASETS, ImageDataset, channel_stats
from splitbase import DataError


def _samples(templates: torch.Tensor, n: int, noise: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.randint(0, templates.shape[0], (n,), generator=g)
    offset = 0.1 * torch.randn(n, 1, 1, 1, generator=g)
    x = templates[labels] + offset + noise * torch.randn(n, *templates.shape[1:], generator=g)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8), labels


@DATASETS.register("synthetic")
def load_synthetic(
    *,
    root: Path | None = None,
    allow_download: bool = False,
    num_classes: int = 10,
    shape: tuple[int, int, int] = (3, 32, 32),
    num_train: int = 512,
    num_test: int = 128,
    noise: float = 0.2,
    seed: int = 0,
) -> ImageDataset:
    """num_train / num_test samples of `shape` (C, H, W) in num_classes classes; same seed, same data.

    root and allow_download are accepted for a uniform signature and ignored.
    """
    if len(shape) != 3 or min(shape) < 1 or num_classes < 1 or num_train < 1 or num_test < 0 or noise < 0:
        raise DataError(f"synthetic: bad shape {shape}, num_classes {num_classes}, sizes {num_train}/{num_test} or noise {noise}")
    c, h, w = (int(s) for s in shape)
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(num_classes, c, 4, 4, generator=g)
    templates = 0.15 + 0.7 * F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    train_images, train_labels = _samples(templates, num_train, noise, g)
    test_images, test_labels = _samples(templates, num_test, noise, g)
    mean, std = channel_stats(train_images)
    return ImageDataset(
        "synthetic", train_images, train_labels, test_images, test_labels,
        num_classes=num_classes, mean=mean, std=std, class_names=tuple(f"class{i}" for i in range(num_classes)),
    )
