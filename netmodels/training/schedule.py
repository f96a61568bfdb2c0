"""Optimiser and learning-rate schedule of a TrainConfig."""
from __future__ import annotations

import bisect
import math
from functools import partial
from typing import Sequence

import torch
from torch import nn

from netmodels.training.config import TrainConfig


def build_optimizer(params: Sequence[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov) or Adam over `params`, at the peak rate config.lr."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov and config.momentum > 0,
                               weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def lr_factor(step: int, *, config: TrainConfig, total_steps: int) -> float:
    """Multiplier of config.lr for optimiser step `step` (0-based) of a `total_steps` run.

    A pure function of the step, so a resumed run sets exactly the rates an uninterrupted one does.
    """
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    t = step / max(total_steps, 1)
    if config.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))
    if config.schedule == "step":
        return config.gamma ** bisect.bisect_right(config.milestones, t)
    return 1.0


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                    total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR stepped once per optimiser step; its factor is `lr_factor`."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, partial(lr_factor, config=config, total_steps=total_steps))
