"""Cached base models: BottleNet++ step 1 ("train the DNN to reach the desired accuracy"), done once.

Every candidate of a (model, data set, input shape, classes, training config) starts from the
same trained base model. It is trained on first request and stored in `<cache>/baselines/`, the
cache folder of splitbase.paths (--cache-dir, SPLIT_EXPLORER_CACHE, or ~/.cache/split-explorer), as

    <stem>.pt    the UnitModel's state dict
    <stem>.json  metadata: model, data set and its fingerprint, shape, classes, the training
                 config and its fingerprint, test accuracy, loss history, wall time, device,
                 torch version, date, and `weights_digest` (`weights_digest` of the state dict)

with stem = `<model>-<dataset>-<C>x<H>x<W>-<classes>c-<key>`, key a hash of all of that. Both
files are written atomically, the JSON last: a JSON present means a complete entry. Training
checkpoints to `<stem>.ckpt` and resumes from it if interrupted; the checkpoint is removed
once the entry is complete. Two processes asking at once may both train; the second simply
rewrites the same entry.

The data set enters the key through a fingerprint of its contents (BLAKE2 of the uint8 images
and labels), so two different data sets of the same name (e.g. synthetic ones of other seeds)
get separate baselines.

The key says which base model a candidate should start from; `weights_digest` says which one it
did. On CUDA two trainings of one key agree only where training is deterministic
(TrainConfig.deterministic), so results that outlive a cache (a study resumed on a fresh
machine) record the digest of the base model each row was trained from.
"""
from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from netmodels.data import ImageDataset
from netmodels.modules import UNREADABLE
from netmodels.training.config import TrainConfig
from netmodels.training.loop import seed_everything, train
from netmodels.zoo import UnitModel, build_model
from splitbase import DataError, paths
from splitbase.files import write_atomic


@dataclass
class Baseline:
    """A trained base model and its record. trained_now: this call trained it (else loaded)."""

    model: UnitModel
    test_accuracy: float
    wall_time_s: float
    path: Path
    metadata: dict[str, Any]
    trained_now: bool

    @property
    def digest(self) -> str:
        """`weights_digest` of the base model's weights (recorded when it was trained)."""
        return self.metadata["weights_digest"]


def weights_digest(state: dict[str, torch.Tensor]) -> str:
    """16 hex digits of SHA-256 over a state dict's names, dtypes, shapes and bytes, in key order:
    equal digests are bit-identical weights."""
    digest = hashlib.sha256()
    for name, tensor in state.items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def dataset_fingerprint(data: ImageDataset) -> str:
    """16 hex digits of BLAKE2b over the name, class count, shapes and bytes of images and labels."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"{data.name}|{data.num_classes}".encode())
    for tensor in (data.train_images, data.train_labels, data.test_images, data.test_labels):
        t = tensor.detach().contiguous().cpu()
        digest.update(str(tuple(t.shape)).encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()


def baseline_stem(model_name: str, data: ImageDataset, config: TrainConfig) -> tuple[str, dict[str, Any]]:
    """(file stem, the identity that keyed it) of the baseline of `model_name` on `data` under `config`."""
    c, h, w = data.input_shape
    identity = {
        "model": model_name, "dataset": data.name, "dataset_fingerprint": dataset_fingerprint(data),
        "input_shape": [c, h, w], "num_classes": data.num_classes,
        "config_fingerprint": config.fingerprint(),
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    safe = lambda s: "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s)  # noqa: E731
    return f"{safe(model_name)}-{safe(data.name)}-{c}x{h}x{w}-{data.num_classes}c-{key}", identity


def get_baseline(
    model_name: str,
    data: ImageDataset,
    config: TrainConfig,
    *,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> Baseline:
    """The trained base model `model_name` for `data` (input shape and classes from it), kept in
    `<cache_dir>/baselines/` (cache_dir: splitbase.paths.cache_dir's override).

    Loaded from the cache when there, else trained with `config` (the model initialised under
    torch.manual_seed(config.seed)) and stored. The returned model is on the CPU in eval mode;
    candidates copy it.
    """
    cache = paths.cache_dir(cache_dir) / "baselines"
    stem, identity = baseline_stem(model_name, data, config)
    weights, meta_path, ckpt = cache / f"{stem}.pt", cache / f"{stem}.json", cache / f"{stem}.ckpt"
    seed_everything(config.seed)
    model = build_model(model_name, input_shape=data.input_shape, num_classes=data.num_classes)
    if meta_path.exists() and weights.exists():
        try:
            metadata = json.loads(meta_path.read_text())
            state = torch.load(weights, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except UNREADABLE as exc:
            raise DataError(f"{weights}: cached baseline unreadable ({exc}); delete {stem}.* to retrain") from None
        metadata.setdefault("weights_digest", weights_digest(state))  # entries cached before it was recorded
        return Baseline(model.eval(), metadata["test_accuracy"], metadata["wall_time_s"], weights, metadata, False)
    cache.mkdir(parents=True, exist_ok=True)
    run_config = replace(config, checkpoint_path=str(ckpt))
    result = train(model, data, run_config, progress=progress, desc=f"base model {model_name} on {data.name}",
                   leave=True)
    model.to("cpu").eval()
    metadata = {
        **identity, "config": config.math_fields(), "test_accuracy": result.test_accuracy,
        "loss_history": result.loss_history, "wall_time_s": result.wall_time_s,
        "images_per_s": result.images_per_s, "steps": result.steps, "device": result.device,
        "device_name": torch.cuda.get_device_name() if result.device.startswith("cuda") else "cpu",
        "torch": torch.__version__, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "deterministic": config.deterministic, "weights_digest": weights_digest(model.state_dict()),
    }
    write_atomic(weights, lambda f: torch.save(model.state_dict(), f))
    write_atomic(meta_path, lambda f: f.write(json.dumps(metadata, indent=2).encode()))
    ckpt.unlink(missing_ok=True)
    return Baseline(model, result.test_accuracy, result.wall_time_s, weights, metadata, True)
