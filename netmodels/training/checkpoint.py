"""Training checkpoints: atomic writes, and every random state a resumed run needs.

A checkpoint is one `torch.save` file (loaded with weights_only=True: tensors and plain Python
values only, so loading runs no code from the file) holding

- "model", "optimizer", "scheduler": the three state dicts;
- "rng": torch's CPU state, the CUDA state of the device (if any), numpy's and Python's
  states, and the data generator's state now and at the start of the current epoch;
- "step", "epoch", "epoch_step": optimiser steps done, epochs begun, steps done in this epoch;
- "epoch_loss_sum": the float32 sum of this epoch's losses so far, "loss_history": finished
  epochs' mean losses; "wall_time_s": training time spent so far;
- "config": TrainConfig.math_fields() with the data set's name, size and steps per epoch, and
  "params": names of the trained parameters, so a checkpoint of another run is refused
  instead of silently continued;
- "finished": True once the whole budget is done (a later `train` only evaluates).

Written through splitbase.files.write_atomic (a temporary of the writer's own beside `path`,
flushed to disk, then renamed over it): a crash leaves either the previous checkpoint or the new
one, never a torn file.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from netmodels.modules import UNREADABLE
from splitbase import StudyError
from splitbase.files import write_atomic

FORMAT = 1


def capture_rng(device: torch.device) -> dict[str, Any]:
    """torch CPU / CUDA, numpy and Python random states, as tensors and plain values."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch_cpu": torch.get_rng_state(),
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": _to_lists(random.getstate()),
    }
    if device.type == "cuda":
        state["torch_cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict[str, Any], device: torch.device) -> None:
    """Inverse of `capture_rng`."""
    torch.set_rng_state(state["torch_cpu"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    random.setstate(_to_tuples(state["python"]))
    if device.type == "cuda" and "torch_cuda" in state:
        torch.cuda.set_rng_state(state["torch_cuda"], device)


def _to_lists(value: Any) -> Any:
    return [_to_lists(v) for v in value] if isinstance(value, tuple) else value


def _to_tuples(value: Any) -> Any:
    return tuple(_to_tuples(v) for v in value) if isinstance(value, list) else value


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write `payload` to `path` atomically (splitbase.files.write_atomic)."""
    write_atomic(path, lambda f: torch.save({"format": FORMAT, **payload}, f))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint` onto the CPU; StudyError if unreadable."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except UNREADABLE as exc:
        raise StudyError(f"{path}: not a readable training checkpoint ({exc}); delete it to start over") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise StudyError(f"{path}: not a training checkpoint of format {FORMAT}; delete it to start over")
    return payload


def check_compatible(payload: dict[str, Any], path: str | Path, *, config: dict[str, Any],
                     params: list[str]) -> None:
    """StudyError unless the checkpoint was written by a run of the same config and parameters."""
    saved = payload["config"]
    differ = sorted(k for k in set(saved) | set(config) if saved.get(k) != config.get(k))
    if differ:
        raise StudyError(f"{path}: checkpoint of another training run (fields differ: {', '.join(differ)}); "
                         "use another checkpoint path or delete it")
    if payload["params"] != params:
        raise StudyError(f"{path}: checkpoint trains other parameters ({len(payload['params'])} vs {len(params)} "
                         "tensors); use another checkpoint path or delete it")
