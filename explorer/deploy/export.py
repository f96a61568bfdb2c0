"""Exporting a trained trial: config.json, the two halves as torch.export programs and ONNX
models, the standalone runner and a README, in one folder written whole or not at all.

The programs load with `torch.export.load(path).module()`, the ONNX models with onnxruntime, and
no code of this package; the config (explorer.deploy.config) says how to call them and what runs
between them; `split_runner.py` (explorer/deploy/runner) runs them over a socket.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import torch

from explorer.analysis.provenance import git_commit
from explorer.deploy import config as records
from explorer.deploy.check import tolerance_points
from explorer.deploy.onnx import OPSET, export_onnx
from explorer.deploy.parts import split_parts
from explorer.deploy.readme import write_readme
from explorer.deploy.runner import split_runner
from explorer.deploy.wire import wire_record
from explorer.search.record import TrialRecord
from explorer.studies.search import ResolvedSearch
from netmodels.candidate import load_candidate
from netmodels.data import ImageDataset
from splitbase import ModelError, StudyError

MAX_BATCH = 65536
ONNX_MAX_ABS = 1e-3   # float32 kernels of onnxruntime and PyTorch differ in summation order
RUNNER = Path(__file__).with_name("runner") / "split_runner.py"


@contextlib.contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """A fresh temporary sibling of `out` to fill; renamed to `out` (replacing it) when the block
    ends without an error, removed when it raises, so no half-written export is ever left."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; an export is for others to read
    try:
        yield tmp
        old = out.with_name(f".{out.name}.old") if out.exists() else None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _tensor(name: str, value: torch.Tensor) -> records.TensorRecord:
    return records.TensorRecord(name, ["batch", *value.shape[1:]], str(value.dtype).removeprefix("torch."))


def _programs(module, data: ImageDataset, state: float, out: Path) -> tuple[bool, records.Programs]:
    """Write device.pt2/.onnx and server.pt2/.onnx (dynamic batch); whether the encoder sends side
    information, and the programs' record."""
    x = torch.zeros((2, *data.input_shape))
    probe, _ = split_parts(module, side_information=False, state=state)
    with torch.no_grad():
        sent = probe(x)
    side = isinstance(sent, tuple)
    sent = sent if side else (sent,)
    device_part, server_part = split_parts(module, side_information=side, state=state)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    sent_names, server_names = ["z", "lo", "span"][:len(sent)], ["y", "lo", "span"][:len(sent)]
    device_program = torch.export.export(device_part, (x,), dynamic_shapes=({0: batch},))
    server_program = torch.export.export(server_part, tuple(sent),
                                         dynamic_shapes={name: {0: batch} for name in server_names})
    torch.export.save(device_program, out / "device.pt2")
    torch.export.save(server_program, out / "server.pt2")
    export_onnx(device_part, (x,), out / "device.onnx", input_names=["x"], output_names=sent_names, batch=batch)
    export_onnx(server_part, tuple(sent), out / "server.onnx", input_names=server_names,
                output_names=["logits"], batch=batch)
    with torch.no_grad():
        logits = server_part(*sent)
    returns = ", ".join(sent_names)
    return side, records.Programs(
        records.ProgramRecord(f"device(x) -> {returns if len(sent) == 1 else f'({returns})'}",
                              [_tensor("x", x)], [_tensor(n, t) for n, t in zip(sent_names, sent)]),
        records.ProgramRecord(f"server({', '.join(server_names)}) -> logits",
                              [_tensor(n, t) for n, t in zip(server_names, sent)], [_tensor("logits", logits)]),
        OPSET)


def _preprocessing(data: ImageDataset) -> records.Preprocessing:
    return records.Preprocessing(
        input_shape=list(data.input_shape), input_dtype="uint8", pad_value=0,
        pad="a smaller image is zero-padded, centred, to input_shape (fashion-mnist: 28x28 -> 32x32)",
        scale=1 / 255, mean=list(map(float, data.mean)), std=list(map(float, data.std)),
        channel_order="grey: 1 channel; colour: R, G, B", layout="NCHW", dtype="float32")


def export_trial(resolved: ResolvedSearch, trial: TrialRecord, out: Path, *, data_root: str | None = None) -> Path:
    """Write config.json, the programs, the runner and README.md of a trained trial into the
    (existing, empty) folder `out`; see `atomic_folder`."""
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
    side, programs = _programs(candidate.module.eval(), data, spec.channel.state, out)
    codec = records.CodecRecord(profile["codec"], dict(trial.get("codec_options") or {})) if profile.get("codec") else None
    shutil.copyfile(RUNNER, out / RUNNER.name)
    files = records.Files("device.pt2", "server.pt2", "device.onnx", "server.onnx", RUNNER.name, "README.md")
    config = records.DeployConfig(
        study=study.name, trial=trial.number, commit=git_commit(),
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"), model=study.model,
        dataset=study.dataset, input_shape=list(data.input_shape), num_classes=data.num_classes,
        preprocessing=_preprocessing(data),
        split=records.SplitRecord(profile["split_index"], profile["split_name"]), sparsity=spec.sparsity,
        method=spec.method, options=dict(spec.options), compression_ratio=profile["compression_ratio"],
        requested_compression_ratio=spec.compression_ratio,
        sent=records.SentRecord(list(profile["sent_shape"]), profile["bits_per_element"], profile["header_bits"],
                                profile["payload_bits"], side),
        codec=codec, channel=spec.channel.record(),
        hardware=records.HardwareRecord(resolved.hardware.device_name, resolved.hardware.link_name,
                                        resolved.hardware.server_name),
        predicted=records.Predicted(*(trial.get(k) for k in ("latency_s", "energy_j", "throughput_fps",
                                                             "head_macs", "encoder_macs"))),
        measured=records.Measured(*(trial.get(k) for k in ("accuracy", "baseline_accuracy", "accuracy_drop_points"))),
        files=files, programs=programs, wire=wire_record(codec, spec.channel, list(profile["sent_shape"])),
        channel_state=spec.channel.state,
        tolerance=records.Tolerance(tolerance_points(codec is not None, spec.channel), ONNX_MAX_ABS),
        sha256={name: split_runner.sha256(out / name) for name in (files.device, files.server, files.device_onnx,
                                                      files.server_onnx, files.runner)})
    write_readme(config, out / files.readme)
    return config.write(out)
