"""Device-resident batching: the whole uint8 data set lives on the device, batches are made there.

No CPU data loader in the training loop: per epoch, a random permutation is drawn on the device,
each batch is gathered from the resident uint8 tensor, augmented (random crop with zero padding,
horizontal flip) and normalised there, all vectorised over the batch. Crop and flip are one
gather: for sample b with crop offset (oy, ox) from the padded image and flip f,

    out[b, c, i, j] = padded[b, c, oy + i, ox + (W - 1 - j if f else j)],

so no per-image Python loop. Deterministic for a given seed (or generator) on a given device.
"""
from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from netmodels.data.base import ImageDataset
from splitbase import DataError


class DeviceBatches:
    """Batches of (normalised float32 images (B, C, H, W), int64 labels (B,)) from a resident set.

    Each `iter()` is one epoch. images: uint8 (N, C, H, W); labels: int64 (N,); mean/std per
    channel on the 0..1 scale. crop_padding: zero padding of the random crop in pixels (0 = no
    crop); flip: random horizontal flip with probability 1/2; shuffle: a new permutation each
    epoch; drop_last: drop a last partial batch; channels_last: batches in that memory format.
    seed seeds a torch.Generator on the device; pass `generator` to share one instead.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        *,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        batch_size: int,
        device: torch.device | str = "cpu",
        shuffle: bool = False,
        crop_padding: int = 0,
        flip: bool = False,
        drop_last: bool = False,
        channels_last: bool = False,
        seed: int = 0,
        generator: torch.Generator | None = None,
    ) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4 or labels.shape != (images.shape[0],):
            raise DataError(f"DeviceBatches: expected uint8 images (N, C, H, W) and N labels, got {images.dtype} {tuple(images.shape)} and {tuple(labels.shape)}")
        if batch_size < 1 or crop_padding < 0:
            raise DataError(f"DeviceBatches: batch_size must be >= 1 and crop_padding >= 0, got {batch_size}, {crop_padding}")
        self.device = torch.device(device)
        self.images = images.to(self.device)  # moved once; batches are gathered from here
        self.labels = labels.to(self.device, torch.int64)
        channels = images.shape[1]
        if len(mean) != channels or len(std) != channels:
            raise DataError(f"DeviceBatches: mean and std need {channels} values each")
        # (x / 255 - mean) / std = x * scale + shift, one fused multiply-add per pixel.
        std_t = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
        self.scale = 1.0 / (255.0 * std_t)
        self.shift = -torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, -1, 1, 1) / std_t
        self.batch_size = batch_size
        self.shuffle, self.crop_padding, self.flip = shuffle, crop_padding, flip
        self.drop_last, self.channels_last = drop_last, channels_last
        if generator is None:
            generator = torch.Generator(device=self.device)
            generator.manual_seed(seed)
        self.generator = generator

    def __len__(self) -> int:
        n = self.images.shape[0]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = self.images.shape[0]
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator, device=self.device)
        else:
            order = torch.arange(n, device=self.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self._prepare(self.augment(self.images[idx])), self.labels[idx]

    def augment(self, x: Tensor) -> Tensor:
        """Random crop (zero padding crop_padding) and horizontal flip of a uint8 batch, in one gather."""
        p = self.crop_padding
        if p == 0 and not self.flip:
            return x
        b, c, h, w = x.shape
        kw = {"generator": self.generator, "device": self.device}
        offset_y = torch.randint(0, 2 * p + 1, (b,), **kw)
        offset_x = torch.randint(0, 2 * p + 1, (b,), **kw)
        cols = torch.arange(w, device=self.device).expand(b, w)
        if self.flip:
            flipped = torch.randint(0, 2, (b, 1), **kw).bool()
            cols = torch.where(flipped, w - 1 - cols, cols)
        cols = offset_x[:, None] + cols
        if p:
            # Gather rows, then columns: (B, C, H + 2p, W + 2p) -> (B, C, H, W + 2p) -> (B, C, H, W).
            rows = offset_y[:, None] + torch.arange(h, device=self.device)
            x = F.pad(x, (p, p, p, p)).gather(2, rows[:, None, :, None].expand(b, c, h, w + 2 * p))
        return x.gather(3, cols[:, None, None, :].expand(b, c, h, w))

    def _prepare(self, x: Tensor) -> Tensor:
        out = torch.addcmul(self.shift, x.float(), self.scale)
        return out.contiguous(memory_format=torch.channels_last) if self.channels_last else out


def train_batches(
    dataset: ImageDataset,
    *,
    batch_size: int,
    device: torch.device | str = "cpu",
    crop_padding: int = 4,
    flip: bool = True,
    drop_last: bool = False,
    channels_last: bool = False,
    seed: int = 0,
) -> DeviceBatches:
    """Shuffled, augmented batches of the training set (random crop with 4-pixel padding and flip by default)."""
    return DeviceBatches(
        dataset.train_images, dataset.train_labels, mean=dataset.mean, std=dataset.std, batch_size=batch_size,
        device=device, shuffle=True, crop_padding=crop_padding, flip=flip, drop_last=drop_last,
        channels_last=channels_last, seed=seed,
    )


def eval_batches(
    dataset: ImageDataset, *, batch_size: int, device: torch.device | str = "cpu", channels_last: bool = False
) -> DeviceBatches:
    """Batches of the test set in order, without augmentation, the last one possibly partial (for evaluation)."""
    return DeviceBatches(
        dataset.test_images, dataset.test_labels, mean=dataset.mean, std=dataset.std, batch_size=batch_size,
        device=device, channels_last=channels_last,
    )
