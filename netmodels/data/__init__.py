"""Data sets as in-memory uint8 tensors, and device-resident batching.

Registry `DATASETS`: "fashion-mnist", "cifar10", "cifar100", "imagefolder", "synthetic";
`load_dataset(name, root=..., allow_download=..., **options)` returns an `ImageDataset`.
"""
from __future__ import annotations

from netmodels.data import cifar, fashion_mnist, imagefolder, synthetic  # noqa: F401 - registers the loaders
from netmodels.data.base import DATASETS, DEFAULT_DATA_DIR, ImageDataset, channel_stats, load_dataset
from netmodels.data.batches import DeviceBatches, eval_batches, train_batches

__all__ = [
    "DATASETS",
    "DEFAULT_DATA_DIR",
    "DeviceBatches",
    "ImageDataset",
    "channel_stats",
    "load_dataset",
    "eval_batches",
    "train_batches",
]
