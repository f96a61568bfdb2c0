"""Exporting a trained trial: config.json, device.pt2 and server.pt2 in one folder.

Both programs load with `torch.export.load(path).module()` and no code of this package; the
config (explorer.deploy.config) says how to call them and what runs between them.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import torch

from explorer.analysis.provenance import git_commit
from explorer.deploy.config import (
    CodecRecord,
    DeployConfig,
    Files,
    HardwareRecord,
    Measured,
    Predicted,
    SentRecord,
    SplitRecord,
)
from explorer.deploy.parts import split_parts
from explorer.search.record import TrialRecord
from explorer.studies.search import ResolvedSearch
from netmodels.candidate import load_candidate
from netmodels.data import ImageDataset
from splitbase import ModelError, StudyError

MAX_BATCH = 65536


def _programs(module, data: ImageDataset, state_value: float, out: Path) -> bool:
    """Write device.pt2 and server.pt2 (dynamic batch); whether the encoder sends side information."""
    x = torch.zeros((2, *data.input_shape))
    state = torch.full((2,), state_value)
    probe_device, _ = split_parts(module, side_information=False)
    with torch.no_grad():
        sent = probe_device(x, state)
    side = isinstance(sent, tuple)
    device_part, server_part = split_parts(module, side_information=side)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    device_program = torch.export.export(device_part, (x, state), dynamic_shapes=({0: batch}, {0: batch}))
    server_inputs = sent if side else (sent,)
    server_program = torch.export.export(
        server_part, tuple(server_inputs),
        dynamic_shapes={name: {0: batch} for name in ("y", "lo", "span")[:len(server_inputs)]})
    out.mkdir(parents=True, exist_ok=True)
    torch.export.save(device_program, out / "device.pt2")
    torch.export.save(server_program, out / "server.pt2")
    return side


def export_trial(resolved: ResolvedSearch, trial: TrialRecord, out: Path, *, data_root: str | None = None) -> Path:
    """Write config.json, device.pt2 and server.pt2 of a trained trial into `out`."""
    weights = Path(trial.get("weights") or "")
    if not weights.is_file():
        raise StudyError(f"trial {trial.number}: its trained weights {weights} are not on this machine; "
                         "export where the search ran")
    try:
        candidate = load_candidate(weights)
    except ModelError as exc:
        raise StudyError(f"trial {trial.number}: {exc}") from None
    study, profile, spec = resolved.study, trial.get("profile"), candidate.spec
    data = study.dataset.load(data_root)
    side = _programs(candidate.module.eval(), data, spec.channel.state, out)
    config = DeployConfig(
        study=study.name, trial=trial.number, commit=git_commit(),
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"), model=study.model,
        dataset=study.dataset,
        input_shape=list(data.input_shape), num_classes=data.num_classes,
        normalisation={"mean": list(map(float, data.mean)), "std": list(map(float, data.std))},
        split=SplitRecord(profile["split_index"], profile["split_name"]), sparsity=spec.sparsity,
        method=spec.method, options=dict(spec.options), compression_ratio=profile["compression_ratio"],
        requested_compression_ratio=spec.compression_ratio,
        sent=SentRecord(list(profile["sent_shape"]), profile["bits_per_element"], profile["header_bits"],
                        profile["payload_bits"], side),
        codec=CodecRecord(profile["codec"], dict(trial.get("codec_options") or {})) if profile.get("codec") else None,
        channel=spec.channel.record(),
        hardware=HardwareRecord(resolved.hardware.device_name, resolved.hardware.link_name,
                                resolved.hardware.server_name),
        predicted=Predicted(*(trial.get(k) for k in ("latency_s", "energy_j", "throughput_fps", "head_macs",
                                                       "encoder_macs"))),
        measured=Measured(*(trial.get(k) for k in ("accuracy", "baseline_accuracy", "accuracy_drop_points"))),
        files=Files("device.pt2", "server.pt2"),
    )
    return config.write(out)
