"""Test-set accuracy, also over a range of fixed channel conditions (BottleNet++ Fig. 3 style)."""
from __future__ import annotations

import contextlib
from typing import Sequence

import torch
from torch import nn

from netmodels.channels import Channel
from netmodels.data import ImageDataset, eval_batches
from netmodels.modules import eval_mode
from netmodels.training.config import resolve_device
from splitbase import DataError, ModelError


def autocast_context(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA when asked; nothing otherwise (CPU runs stay float32)."""
    if device.type == "cuda" and bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def evaluate(
    module: nn.Module,
    data: ImageDataset,
    *,
    batch_size: int = 1024,
    device: str | torch.device = "auto",
    bf16: bool = True,
    channels_last: bool = True,
    seed: int = 0,
) -> float:
    """Top-1 accuracy (fraction in [0, 1]) of `module` on data's test set.

    Eval mode, no gradients, batches resident on `device`; bf16 autocast and channels_last on
    CUDA as in training. A noisy channel inside the module draws its noise from a random state
    forked and seeded with `seed`, so the number repeats and the caller's random state is untouched.
    One host sync, at the end.
    """
    dev = resolve_device(device)
    n = int(data.test_labels.numel())
    if n == 0:
        raise DataError(f"{data.name}: the test set is empty, nothing to evaluate")
    cl = dev.type == "cuda" and channels_last
    module.to(dev)
    if cl:
        module.to(memory_format=torch.channels_last)
    fork_devices = [dev] if dev.type == "cuda" else []
    correct = torch.zeros((), dtype=torch.int64, device=dev)
    with torch.random.fork_rng(devices=fork_devices), eval_mode(module), torch.no_grad(), \
            autocast_context(dev, bf16):
        torch.manual_seed(seed)
        for x, y in eval_batches(data, batch_size=batch_size, device=dev, channels_last=cl):
            correct += (module(x).argmax(dim=1) == y).sum()
    return correct.item() / n


def channel_of(module: nn.Module) -> Channel:
    """The module's channel layer (attribute `channel`), or ModelError."""
    channel = getattr(module, "channel", None)
    if not isinstance(channel, Channel):
        raise ModelError(f"{type(module).__name__} has no channel layer to set a state on")
    return channel


def evaluate_over_channel(
    module: nn.Module,
    data: ImageDataset,
    *,
    states: Sequence[float],
    batch_size: int = 1024,
    device: str | torch.device = "auto",
    bf16: bool = True,
    channels_last: bool = True,
    seed: int = 0,
    told: float | None = None,
) -> list[tuple[float, float]]:
    """[(state, accuracy)] with the channel fixed at each state in turn (PSNR in dB for AWGN,
    erasure / flip probability for BEC / BSC); with `told`, the encoder is told that state
    whatever the channel's (Channel.told). The channel's own value is restored after.
    """
    channel = channel_of(module)
    saved = channel.value
    results = []
    try:
        channel.told = None if told is None else channel._check_state(float(told))
        for state in states:
            # Channel validates a state when built; _check_state is that same check (range of p, finite dB).
            channel.value = channel._check_state(float(state))
            results.append((float(state), evaluate(module, data, batch_size=batch_size, device=device,
                                                   bf16=bf16, channels_last=channels_last, seed=seed)))
    finally:
        channel.value, channel.told = saved, None
    return results
