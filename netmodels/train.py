"""`netmodels.train`, the name DESIGN.md gives the retraining step: the public face of
netmodels.training (one loop, its config, evaluation), so callers write
`from netmodels.train import TrainConfig, train`.
"""
from __future__ import annotations

from netmodels.training import (
    TrainConfig,
    TrainResult,
    evaluate,
    evaluate_over_channel,
    resolve_device,
    seed_everything,
    train,
)

__all__ = ["TrainConfig", "TrainResult", "evaluate", "evaluate_over_channel", "resolve_device",
           "seed_everything", "train"]
