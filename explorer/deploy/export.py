"""Deployment configs: a chosen trial's head and tail as standalone files, and their check.

`export_trial` writes into one folder

    config.json   the deployment config (schema below, version 1)
    device.pt2    torch.export program of the device part: head (+ encoder)
    server.pt2    torch.export program of the server part: (decoder +) tail

Both programs load with `torch.export.load(path).module()` and no code of this package.
device(x, state) takes normalised float32 images [B, C, H, W] (mean/std in the config) and the
channel state [B] (ignored unless the encoder takes it) and returns the sent feature z, or
(z, lo, span) when `sent.side_information` is true (per-sample min and span, sent reliably).
server(y[, lo, span]) returns the logits. Between them the link: `codec` (a netmodels codec
coding z per sample, e.g. JPEG) or `channel` (none, awgn at psnr_db, bec/bsc at p with `bits`
per element). `check_config` runs the test set through device -> link -> server.

config.json fields: schema, version, study, trial, commit, date, model, dataset {name, root,
options}, input_shape, num_classes, normalisation {mean, std}, split {index, unit}, sparsity,
method, options, compression_ratio (achieved) and requested_compression_ratio, sent {shape,
bits_per_element, header_bits, payload_bits, side_information}, codec {name, options} or null,
channel {kind, psnr_db, p, bits}, hardware {device, link, server}, predicted {latency_s,
energy_j, throughput_fps, head_macs}, measured {accuracy, baseline_accuracy,
accuracy_drop_points}, files {device, server}.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from splitbase import StudyError
from explorer.analysis.provenance import git_commit
from explorer.studies.search import ResolvedSearch
from netmodels.candidate.build import ChannelSpec
from netmodels.codecs import build_codec
from netmodels.data import eval_batches, load_dataset

SCHEMA = "split-explorer/deploy-config"
VERSION = 1
ALIASES = {"latency": "latency_s", "energy": "energy_j", "throughput": "throughput_fps"}
NOISY_TOLERANCE_POINTS = 0.5   # a fresh draw of channel noise or a real codec vs its proxy
EXACT_TOLERANCE_POINTS = 0.1   # exported programs may round differently from eager PyTorch


class DevicePart(nn.Module):
    def __init__(self, head: nn.Module, encoder: nn.Module | None) -> None:
        super().__init__()
        self.head, self.encoder = head, encoder

    def forward(self, x: Tensor, state: Tensor):
        feature = self.head(x)
        if self.encoder is None:
            return feature
        out = self.encoder(feature, state)
        return (out[0], *out[1]) if isinstance(out, tuple) else out


class ServerPart(nn.Module):
    def __init__(self, decoder: nn.Module | None, tail: nn.Module, side: bool) -> None:
        super().__init__()
        self.decoder, self.tail, self.side = decoder, tail, side

    def forward(self, y: Tensor, lo: Tensor | None = None, span: Tensor | None = None) -> Tensor:
        if self.decoder is not None:
            y = self.decoder(y, (lo, span)) if self.side else self.decoder(y)
        return self.tail(y)


def pick_trial(frame: pd.DataFrame, expression: str) -> int:
    """The trial chosen by `expression`, e.g. "accuracy>=0.93; minimize latency": conditions
    (`name OP value`, OP one of >=, <=, >, <) keep feasible trials, then one `minimize NAME` or
    `maximize NAME` picks. Names: accuracy, latency, energy, throughput, sent_bits, head_macs."""
    rows = frame[frame["ok"] & frame["reused_from"].isna()]
    goal = None
    for clause in filter(None, (c.strip() for c in expression.split(";"))):
        match = re.fullmatch(r"(\w+)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)", clause)
        order = re.fullmatch(r"(minimize|maximize)\s+(\w+)", clause)
        if match:
            name, op, value = _column(match.group(1), frame), match.group(2), float(match.group(3))
            rows = rows[{">=": rows[name] >= value, "<=": rows[name] <= value,
                         ">": rows[name] > value, "<": rows[name] < value}[op]]
        elif order and goal is None:
            goal = (order.group(1), _column(order.group(2), frame))
        else:
            raise StudyError(f"--pick: cannot read {clause!r} (expected e.g. 'accuracy>=0.9' "
                             "or 'minimize latency', one minimize/maximize)")
    if goal is None:
        raise StudyError("--pick: name what to optimise, e.g. 'minimize latency'")
    if rows.empty:
        raise StudyError(f"--pick: no feasible trial meets {expression!r}")
    best = rows[goal[1]].idxmin() if goal[0] == "minimize" else rows[goal[1]].idxmax()
    return int(rows.loc[best, "number"])


def _column(name: str, frame: pd.DataFrame) -> str:
    column = ALIASES.get(name, name)
    if column not in frame.columns or column in ("state", "split", "method", "channel"):
        raise StudyError(f"--pick: unknown quantity {name!r} (accuracy, latency, energy, "
                         "throughput, sent_bits, head_macs)")
    return column


def _deployed(module: nn.Module | None) -> nn.Module | None:
    return getattr(module, "deployed", module)


def export_trial(resolved: ResolvedSearch, trial: Any, out: Path, *, data_root: str | None = None) -> Path:
    """Write config.json, device.pt2 and server.pt2 of a COMPLETE trial into `out`."""
    attrs = trial.user_attrs
    weights = Path(attrs.get("weights", ""))
    if not weights.is_file():
        raise StudyError(f"trial {trial.number}: its trained weights {weights} are not on this "
                         "machine; export where the search ran")
    module = torch.load(weights, weights_only=False, map_location="cpu").eval()
    profile = attrs["profile"]
    data = load_dataset(resolved.study.dataset.name, root=data_root or resolved.study.dataset.root,
                        **resolved.study.dataset.options)
    x = torch.zeros((2, *data.input_shape))
    state = torch.full((2,), float(module.channel.value if hasattr(module.channel, "value") else 0.0))
    device_part = DevicePart(module.head, module.encoder).eval()
    with torch.no_grad():
        sent = device_part(x, state)
    side = isinstance(sent, tuple)
    z = sent[0] if side else sent
    server_part = ServerPart(_deployed(module.decoder), module.tail, side).eval()
    batch = torch.export.Dim("batch", min=1, max=65536)
    out.mkdir(parents=True, exist_ok=True)
    device_program = torch.export.export(device_part, (x, state),
                                         dynamic_shapes=({0: batch}, {0: batch}))
    server_inputs = (z, *sent[1:]) if side else (z,)
    server_program = torch.export.export(
        server_part, server_inputs,
        dynamic_shapes={name: {0: batch} for name in ("y", "lo", "span")[:len(server_inputs)]})
    torch.export.save(device_program, out / "device.pt2")
    torch.export.save(server_program, out / "server.pt2")
    spec = attrs["candidate"]
    config = {
        "schema": SCHEMA, "version": VERSION, "study": resolved.study.name, "trial": trial.number,
        "commit": git_commit(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": resolved.study.model,
        "dataset": {"name": resolved.study.dataset.name, "root": resolved.study.dataset.root,
                    "options": resolved.study.dataset.options},
        "input_shape": list(data.input_shape), "num_classes": data.num_classes,
        "normalisation": {"mean": list(map(float, data.mean)), "std": list(map(float, data.std))},
        "split": {"index": profile["split_index"], "unit": profile["split_name"]},
        "sparsity": spec["sparsity"], "method": spec["method"], "options": spec["options"],
        "compression_ratio": profile["compression_ratio"],
        "requested_compression_ratio": spec["compression_ratio"],
        "sent": {"shape": profile["sent_shape"], "bits_per_element": profile["bits_per_element"],
                 "header_bits": profile["header_bits"], "payload_bits": profile["payload_bits"],
                 "side_information": side},
        "codec": ({"name": profile["codec"], "options": attrs.get("codec_options", {})}
                  if profile.get("codec") else None),
        "channel": spec["channel"],
        "hardware": {"device": resolved.hardware.device_name, "link": resolved.hardware.link_name,
                     "server": resolved.hardware.server_name},
        "predicted": {k: attrs[k] for k in ("latency_s", "energy_j", "throughput_fps", "head_macs")},
        "measured": {k: attrs[k] for k in ("accuracy", "baseline_accuracy", "accuracy_drop_points")},
        "files": {"device": "device.pt2", "server": "server.pt2"},
    }
    path = out / "config.json"
    path.write_text(json.dumps(config, indent=2, default=_plain) + "\n")
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


@dataclass(frozen=True)
class CheckResult:
    accuracy: float
    recorded: float
    tolerance_points: float

    @property
    def agrees(self) -> bool:
        return abs(self.accuracy - self.recorded) * 100 <= self.tolerance_points


def read_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise StudyError(f"{path}: no such config") from None
    except json.JSONDecodeError as exc:
        raise StudyError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(config, dict) or config.get("schema") != SCHEMA:
        raise StudyError(f"{path}: not a split-explorer deployment config (schema {SCHEMA!r})")
    if config.get("version") != VERSION:
        raise StudyError(f"{path}: config version {config.get('version')!r}, this tool reads {VERSION}")
    return config


def check_config(path: str | Path, *, data_root: str | None = None, batch_size: int = 500,
                 seed: int = 0) -> CheckResult:
    """Reload device and server programs and measure the test accuracy through the link."""
    path = Path(path)
    config = read_config(path)
    folder = path.parent
    for role in ("device", "server"):
        if not (folder / config["files"][role]).is_file():
            raise StudyError(f"{folder / config['files'][role]}: missing ({role} program)")
    device = torch.export.load(folder / config["files"]["device"]).module()
    server = torch.export.load(folder / config["files"]["server"]).module()
    dataset = config["dataset"]
    data = load_dataset(dataset["name"], root=data_root or dataset["root"], **dataset["options"])
    channel_spec = ChannelSpec(**{k: tuple(v) if isinstance(v, list) else v
                                  for k, v in config["channel"].items()})
    channel = channel_spec.build().eval()
    codec = build_codec(config["codec"]["name"], **config["codec"]["options"]) if config["codec"] else None
    torch.manual_seed(seed)
    correct = total = 0
    with torch.no_grad():
        for x, labels in eval_batches(data, batch_size=batch_size):
            state = torch.full((x.shape[0],), float(getattr(channel, "value", 0.0)))
            sent = device(x, state)
            z, side = (sent[0], tuple(sent[1:])) if isinstance(sent, tuple) else (sent, ())
            if codec is not None:
                y = torch.stack([codec.decode(codec.encode(sample)) for sample in z.float()])
            else:
                y = channel(z.float(), state)
            logits = server(y, *side)
            correct += int((logits.argmax(1) == labels).sum())
            total += len(labels)
    noisy = codec is not None or channel_spec.kind != "none"
    return CheckResult(correct / total, float(config["measured"]["accuracy"]),
                       NOISY_TOLERANCE_POINTS if noisy else EXACT_TOLERANCE_POINTS)
