"""The one training loop shared by every recipe, its configuration, checkpoints and evaluation.

`train(module, data, config, trainable=...)` -> TrainResult; `evaluate` / `evaluate_over_channel`
for test accuracy; `TrainConfig` the frozen configuration (its fingerprint keys cached baselines).
"""
from __future__ import annotations

from netmodels.training.config import RUNTIME_FIELDS, TrainConfig, resolve_device
from netmodels.training.evaluate import autocast_context, evaluate, evaluate_over_channel
from netmodels.training.loop import TrainResult, seed_everything, train
from netmodels.training.params import Trainable, select_trainable
from netmodels.training.progress import ProgressLine

__all__ = [
    "RUNTIME_FIELDS",
    "ProgressLine",
    "TrainConfig",
    "TrainResult",
    "Trainable",
    "autocast_context",
    "evaluate",
    "evaluate_over_channel",
    "resolve_device",
    "seed_everything",
    "select_trainable",
    "train",
]
