"""The training configuration shared by every recipe: one frozen dataclass, validated on creation."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Literal

from splitbase import StudyError

if TYPE_CHECKING:  # torch loads where a device is resolved: reading a study file does not need it
    import torch

Optimizer = Literal["sgd", "adam"]
Schedule = Literal["cosine", "step", "constant"]
DeviceName = Literal["auto", "cpu", "cuda"]

# Fields that change how a run executes or is recorded, not what it computes (up to float
# rounding between devices and precisions): left out of the fingerprint that keys cached
# baselines and guards a resume, so a baseline trained on the GPU serves CPU runs and a resumed
# run may log or checkpoint differently.
RUNTIME_FIELDS = frozenset({
    "device", "bf16", "channels_last", "compile", "deterministic", "eval_batch_size", "checkpoint_path",
    "checkpoint_every_steps", "stop_after_steps",
})


@dataclass(frozen=True)
class TrainConfig:
    """How to train: budget, optimiser, learning-rate schedule, augmentation, execution, checkpoints.

    Budget: exactly one of `epochs` (may be fractional) or `steps` (optimiser steps); a step is
    one batch of `batch_size` images (the last partial batch of an epoch is dropped, so every
    step has the same shape).

    Optimiser: "sgd" (momentum, Nesterov by default) or "adam" (betas 0.9/0.999, `momentum` and
    `nesterov` unused); `weight_decay` is L2 on every trained parameter. `lr` is the peak rate.

    Schedule of the rate over the run's total steps T (the lr factor per step t):
    "cosine" 0.5 (1 + cos(pi t / T)); "step" gamma^(number of `milestones` passed), milestones as
    fractions of T; "constant" 1. `warmup_steps` > 0 ramps the factor linearly from
    1 / warmup_steps to 1 first.

    Augmentation (on the device, see netmodels.data.batches): random crop with `crop_padding`
    pixels of zero padding (0 = none) and horizontal `flip`.

    Execution: `device` "auto" takes CUDA when available. On CUDA only: bf16 autocast (`bf16`)
    and channels_last memory format (`channels_last`), both on unless switched off;
    `compile` wraps the module in torch.compile (off by default: compiling costs more than a
    short retrain gains). `deterministic` (on by default) runs cuDNN's deterministic convolution
    algorithms without autotuning, so the same GPU model, torch version, data and seed train
    bit-identical weights: a base model trained again on a fresh machine is the one a resumed
    study started from (cuDNN's autotuner picks algorithms by timing, and its fastest backward
    kernels add with atomics in no fixed order). Off lets cuDNN autotune; on the H200 that was
    no faster once a process had autotuned (benchmarks/cuda_determinism.py measures both).
    `eval_batch_size`: batch of the test-set evaluation.

    Checkpoints: with `checkpoint_path`, a checkpoint is written at every epoch end and every
    `checkpoint_every_steps` steps, and `train` resumes from the file when it exists.
    `stop_after_steps` ends the run after that many steps in total, as a kill would (for tests
    and for splitting a run over several jobs); nothing extra is saved at that point.
    """

    epochs: float | None = None
    steps: int | None = None
    batch_size: int = 128
    optimizer: Optimizer = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: Schedule = "cosine"
    warmup_steps: int = 0
    milestones: tuple[float, ...] = (0.5, 0.75)
    gamma: float = 0.1
    label_smoothing: float = 0.0
    crop_padding: int = 4
    flip: bool = True
    seed: int = 0
    device: DeviceName = "auto"
    bf16: bool = True
    channels_last: bool = True
    compile: bool = False
    deterministic: bool = True
    eval_batch_size: int = 1024
    checkpoint_path: str | None = None
    checkpoint_every_steps: int | None = None
    stop_after_steps: int | None = None

    def __post_init__(self) -> None:
        if (self.epochs is None) == (self.steps is None):
            raise StudyError(f"training budget: give exactly one of epochs or steps, got epochs={self.epochs}, steps={self.steps}")
        if self.epochs is not None and not (math.isfinite(self.epochs) and self.epochs > 0):
            raise StudyError(f"training epochs must be > 0, got {self.epochs}")
        _positive_int("steps", self.steps, allow_none=True)
        _positive_int("batch_size", self.batch_size)
        _positive_int("eval_batch_size", self.eval_batch_size)
        _positive_int("checkpoint_every_steps", self.checkpoint_every_steps, allow_none=True)
        _positive_int("stop_after_steps", self.stop_after_steps, allow_none=True)
        _choice("optimizer", self.optimizer, ("sgd", "adam"))
        _choice("schedule", self.schedule, ("cosine", "step", "constant"))
        _choice("device", self.device, ("auto", "cpu", "cuda"))
        if not self.lr > 0:
            raise StudyError(f"training lr must be > 0, got {self.lr}")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise StudyError(f"training weight_decay must be >= 0 and momentum in [0, 1), got {self.weight_decay}, {self.momentum}")
        if self.warmup_steps < 0 or self.crop_padding < 0:
            raise StudyError(f"training warmup_steps and crop_padding must be >= 0, got {self.warmup_steps}, {self.crop_padding}")
        if not 0 <= self.label_smoothing < 1:
            raise StudyError(f"training label_smoothing must be in [0, 1), got {self.label_smoothing}")
        object.__setattr__(self, "milestones", tuple(float(m) for m in self.milestones))
        if any(not 0 < m < 1 for m in self.milestones) or not 0 < self.gamma <= 1:
            raise StudyError(f"training milestones must be fractions in (0, 1) and gamma in (0, 1], got {self.milestones}, {self.gamma}")
        if self.checkpoint_path is not None:
            object.__setattr__(self, "checkpoint_path", str(self.checkpoint_path))

    def total_steps(self, steps_per_epoch: int) -> int:
        """Optimiser steps of the whole run for an epoch of `steps_per_epoch` steps."""
        if self.steps is not None:
            return self.steps
        return max(1, math.ceil(self.epochs * steps_per_epoch))

    def eval_settings(self, *, device: str | torch.device | None = None) -> dict[str, object]:
        """The keyword arguments of netmodels.training.evaluate this config implies: batch size,
        device (or `device`), precision, memory layout and noise seed."""
        return {"batch_size": self.eval_batch_size, "device": self.device if device is None else device,
                "bf16": self.bf16, "channels_last": self.channels_last, "seed": self.seed}

    def math_fields(self) -> dict[str, object]:
        """The fields that decide what is computed (all but RUNTIME_FIELDS), JSON-ready."""
        return {k: v for k, v in asdict(self).items() if k not in RUNTIME_FIELDS} | {
            "milestones": list(self.milestones)}

    def fingerprint(self) -> str:
        """A 16-hex-digit hash of `math_fields`: equal configs train the same model."""
        text = json.dumps(self.math_fields(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def _positive_int(name: str, value: object, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StudyError(f"training {name} must be a positive integer, got {value!r}")


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise StudyError(f"training {name} must be one of {', '.join(allowed)}, got {value!r}")


def resolve_device(device: DeviceName | str | torch.device) -> torch.device:
    """"auto" -> cuda when available, else cpu; "cuda" without a GPU is a StudyError."""
    import torch

    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise StudyError(f"training device {device!r}: no CUDA device is available here")
    try:
        return torch.device(device)
    except RuntimeError:
        raise StudyError(f"training device must be auto, cpu or cuda, got {device!r}") from None
