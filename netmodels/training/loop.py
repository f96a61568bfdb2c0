"""The one training loop every recipe runs (baselines, BottleNet++ stages, BottleNet, fine-tuning).

Hot-loop rules, so a GPU retrain runs near the raw step rate of the model:

- the data set lives on the device as uint8; batches are gathered, augmented and normalised
  there (netmodels.data.DeviceBatches); no CPU data loader;
- no host sync per step: the loss is summed on the device and read once per epoch (and, when
  the progress line is shown, at most once per refresh interval);
- every step has the same batch shape (the last partial batch of an epoch is dropped).

Determinism and resume: a fresh run seeds torch, numpy and Python with config.seed, and the data
order and augmentation come from their own torch.Generator (seeded with config.seed). An epoch's
batches are a function of that generator's state at the epoch start, so a checkpoint stores it
with the step offset in the epoch; a resumed run restores it, regenerates the epoch's
permutation and replays the augmentation draws of the batches already done (without training on
them), and so continues with exactly the batches an uninterrupted run would see. Model,
optimiser, scheduler, torch/numpy/Python random states and the running loss sum are restored
too: on the CPU a resumed run ends with bit-identical weights.
"""
from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from netmodels.data import DeviceBatches, ImageDataset, train_batches
from netmodels.training.checkpoint import (
    capture_rng,
    check_compatible,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from netmodels.training.config import TrainConfig, resolve_device
from netmodels.training.evaluate import autocast_context, evaluate
from netmodels.training.params import Trainable, select_trainable, training_modes
from netmodels.training.plugins import LossFn, StepHooks
from netmodels.training.schedule import build_optimizer, build_scheduler
from splitbase import DataError

PROGRESS_INTERVAL_S = 0.5  # the loss shown beside the bar costs a device sync: at most this often


@dataclass
class TrainResult:
    """What one `train` call did.

    test_accuracy: top-1 fraction on the test set after training (None when the run stopped
    early through stop_after_steps). loss_history: mean training loss of each epoch, a partial
    last epoch included. wall_time_s: seconds in the training loop, summed over every resumed
    session. images_per_s: training images per second of this call's loop (0 if it trained
    nothing). steps / total_steps: optimiser steps done / of the budget. resumed_from_step: the
    step this call started at (0 for a fresh run).
    """

    test_accuracy: float | None
    loss_history: list[float]
    wall_time_s: float
    images_per_s: float
    steps: int
    total_steps: int
    resumed_from_step: int = 0
    device: str = "cpu"
    trained_params: list[str] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return self.steps >= self.total_steps


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and every CUDA device), numpy and Python's random."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


class _Run:
    """The mutable state of one run: counters, loss sums and what a checkpoint holds."""

    def __init__(self, module: nn.Module, optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler, generator: torch.Generator,
                 device: torch.device, config: TrainConfig, names: list[str], total: int) -> None:
        self.module, self.optimizer, self.scheduler = module, optimizer, scheduler
        self.generator, self.device, self.config, self.names = generator, device, config, names
        self.total = total
        # What a checkpoint must match to be resumed: the math of the config and the data's size
        # (an epoch's batches are replayed by position, so the epoch length must not change).
        self.identity = config.math_fields()
        self.step = 0
        self.epoch_step = 0
        self.epoch_start_state = generator.get_state()
        self.loss_sum = torch.zeros((), dtype=torch.float32, device=device)
        self.history: list[float] = []
        self.prior_wall_s = 0.0

    def resume(self, payload: dict) -> None:
        self.module.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        rng = payload["rng"]
        restore_rng(rng, self.device)
        self.generator.set_state(rng["data"])
        self.epoch_start_state = rng["data_epoch_start"]
        self.step, self.epoch_step = payload["step"], payload["epoch_step"]
        self.loss_sum = payload["epoch_loss_sum"].to(self.device)
        self.history = list(payload["loss_history"])
        self.prior_wall_s = payload["wall_time_s"]

    def save(self, path: str, wall_s: float) -> None:
        save_checkpoint(path, {
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": {**capture_rng(self.device), "data": self.generator.get_state(),
                    "data_epoch_start": self.epoch_start_state},
            "step": self.step, "epoch_step": self.epoch_step,
            "epoch_loss_sum": self.loss_sum.detach().cpu(),
            "loss_history": list(self.history),
            "wall_time_s": self.prior_wall_s + wall_s,
            "config": self.identity, "params": self.names,
            "finished": self.step >= self.total,
        })

    def end_epoch(self) -> None:
        self.history.append((self.loss_sum / max(self.epoch_step, 1)).item())  # the epoch's one sync
        self.loss_sum.zero_()
        self.epoch_step = 0


@contextlib.contextmanager
def cudnn_settings(device: torch.device, deterministic: bool) -> Iterator[None]:
    """cuDNN for the run on CUDA: deterministic algorithms, or autotuned ones (every step has one
    shape: autotune once). The process's flags are restored afterwards."""
    flags = torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic
    if device.type == "cuda":
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = not deterministic, deterministic
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = flags


def _prepare(module: nn.Module, data: ImageDataset, config: TrainConfig, trainable: Trainable,
             device: torch.device) -> tuple[_Run, DeviceBatches, list[tuple[str, nn.Parameter]]]:
    """Module on the device, the batches, the optimiser and the run state (resumed from
    config.checkpoint_path when that file exists, else freshly seeded)."""
    channels_last = device.type == "cuda" and config.channels_last
    module.to(device)
    if channels_last:
        module.to(memory_format=torch.channels_last)
    chosen = select_trainable(module, trainable)
    n_train = int(data.train_labels.numel())
    if n_train == 0:
        raise DataError(f"{data.name}: the training set is empty")
    batches = train_batches(data, batch_size=min(config.batch_size, n_train), device=device,
                            crop_padding=config.crop_padding, flip=config.flip, drop_last=True,
                            channels_last=channels_last, seed=config.seed)
    total = config.total_steps(len(batches))
    optimizer = build_optimizer([p for _, p in chosen], config)
    run = _Run(module, optimizer, build_scheduler(optimizer, config, total), batches.generator,
               device, config, [n for n, _ in chosen], total)
    run.identity |= {"dataset": data.name, "train_images": n_train, "steps_per_epoch": len(batches)}
    path = config.checkpoint_path
    if path is not None and Path(path).exists():
        payload = load_checkpoint(path)
        check_compatible(payload, path, config=run.identity, params=run.names)
        run.resume(payload)
    else:
        seed_everything(config.seed)  # the data generator is seeded by train_batches
    return run, batches, chosen


def _epoch(run: _Run, batches: DeviceBatches) -> Iterator:
    """The rest of the current epoch's batches: a fresh epoch, or a resumed one with the same
    permutation and the augmentation draws of the batches already done replayed."""
    if run.epoch_step == 0:
        run.epoch_start_state = batches.generator.get_state()
    else:
        batches.generator.set_state(run.epoch_start_state)
    epoch = iter(batches)
    for _ in range(run.epoch_step):
        next(epoch)
    return epoch


def _steps(run: _Run, batches: DeviceBatches, forward: nn.Module, loss_fn: LossFn,
           hooks: StepHooks | None, bar: tqdm) -> int:
    """Train until the budget is done or config.stop_after_steps stops the run; the images trained."""
    config, path = run.config, run.config.checkpoint_path
    images, shown, t0 = 0, 0.0, time.perf_counter()
    while run.step < run.total:
        for x, y in _epoch(run, batches):
            if hooks is not None:
                hooks.before_step(run.step, run.total)
            with autocast_context(run.device, config.bf16):
                loss = loss_fn(forward(x), y)
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            run.optimizer.step()
            run.scheduler.step()
            if hooks is not None:
                hooks.after_step(run.step, run.total)
            run.loss_sum += loss.detach().float()
            run.step, run.epoch_step, images = run.step + 1, run.epoch_step + 1, images + x.shape[0]
            bar.update(1)
            if not bar.disable and time.perf_counter() - shown >= PROGRESS_INTERVAL_S:
                shown = time.perf_counter()
                epoch = f"{run.step // len(batches) + (run.epoch_step < len(batches))}/{-(-run.total // len(batches))}"
                bar.set_postfix(epoch=epoch, loss=f"{(run.loss_sum / run.epoch_step).item():.4g}", refresh=False)
            if run.step >= run.total:
                break
            every = config.checkpoint_every_steps
            if path and every and run.step % every == 0 and run.epoch_step < len(batches):
                run.save(path, time.perf_counter() - t0)
            if config.stop_after_steps and run.step >= config.stop_after_steps:
                return images
        run.end_epoch()
        if path:
            run.save(path, time.perf_counter() - t0)
    return images


def train(
    module: nn.Module,
    data: ImageDataset,
    config: TrainConfig,
    *,
    loss_fn: LossFn | None = None,
    trainable: Trainable = None,
    progress: bool = True,
    desc: str = "train",
    leave: bool = False,
    hooks: StepHooks | None = None,
    evaluate_after: bool = True,
) -> TrainResult:
    """Train `module` (images (B, C, H, W) -> logits (B, classes)) on data's training set.

    trainable: which parameters are updated (None: all; a predicate of (qualified name,
    parameter); or the parameters / their names); the others stay frozen, and batch-norm layers
    whose parameters are all frozen keep their running statistics (eval mode). loss_fn(logits,
    labels) defaults to cross-entropy with config.label_smoothing. With config.checkpoint_path,
    checkpoints are written and an existing one is resumed (see the module docstring); a
    finished run's checkpoint makes this call evaluate only. `hooks` are called around every
    optimiser step (StepHooks). The bar (desc, steps done of the budget, steps/s, time left, epoch
    and running loss) shows only when `progress` and stderr is a terminal; `leave` keeps its last
    line after the run. evaluate_after=False skips the test-set evaluation (a stage
    whose accuracy nobody reads; test_accuracy is then None). The module is left on the device
    with the trained weights; requires_grad flags and module modes are restored.
    """
    device = resolve_device(config.device)
    run, batches, chosen = _prepare(module, data, config, trainable, device)
    start_step = run.step
    loss_fn = loss_fn or nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    forward = torch.compile(module) if config.compile else module
    t0 = time.perf_counter()
    with tqdm(total=run.total, initial=run.step, desc=desc, unit="step", disable=None if progress else True,
              leave=leave, dynamic_ncols=True) as bar, cudnn_settings(device, config.deterministic), training_modes(module, chosen):
        images = _steps(run, batches, forward, loss_fn, hooks, bar)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    loop_s = time.perf_counter() - t0
    accuracy = None
    if run.step >= run.total and evaluate_after:
        accuracy = evaluate(module, data, **config.eval_settings(device=device))
    return TrainResult(
        test_accuracy=accuracy, loss_history=list(run.history),
        wall_time_s=run.prior_wall_s + loop_s, images_per_s=images / loop_s if images else 0.0,
        steps=run.step, total_steps=run.total, resumed_from_step=start_step, device=str(device),
        trained_params=run.names,
    )
