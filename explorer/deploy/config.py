"""The deployment config (config.json, schema version 1): a typed record, written and read here.

Beside it in the export folder: `device.pt2` (head + encoder) and `server.pt2` (decoder + tail),
torch.export programs (explorer.deploy.export). The device program takes normalised float32
images [B, C, H, W] (`normalisation`: per-channel mean and std on the 0..1 scale) and the channel
state [B] (ignored unless the encoder takes it) and returns the sent feature z, or (z, lo, span)
when `sent.side_information` is true (per-sample min and span, sent reliably). The server program
takes y[, lo, span] and returns the logits. Between them the link: `codec` (a CODECS codec coding
z per sample, e.g. JPEG) or `channel` (a ChannelSpec record: none, awgn at psnr_db, bec/bsc at p
with `bits` per element). `explorer.deploy.check` replays the test set through all three.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.studies.common import DatasetSpec
from splitbase import StudyError
from splitbase.schema import parse

SCHEMA = "split-explorer/deploy-config"
VERSION = 1


@dataclass(frozen=True)
class SplitRecord:
    index: int
    unit: str


@dataclass(frozen=True)
class SentRecord:
    """What one frame sends: shape of z, bits counted per element and of side information, the
    payload in bits (measured for a codec of data-dependent size), and whether (lo, span) travel."""

    shape: list[int]
    bits_per_element: int
    header_bits: int
    payload_bits: float
    side_information: bool


@dataclass(frozen=True)
class CodecRecord:
    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HardwareRecord:
    device: str
    link: str
    server: str


@dataclass(frozen=True)
class Predicted:
    """The search's prediction on the study's hardware: latency (s), device energy per frame (J),
    throughput (frames/s), MACs of the head alone and of the encoder after it."""

    latency_s: float
    energy_j: float
    throughput_fps: float
    head_macs: float
    encoder_macs: float | None = None


@dataclass(frozen=True)
class Measured:
    accuracy: float
    baseline_accuracy: float
    accuracy_drop_points: float


@dataclass(frozen=True)
class Files:
    device: str
    server: str


@dataclass(frozen=True)
class DeployConfig:
    """config.json: the exported trial, what it needs to run (input, normalisation, split, link)
    and what was predicted and measured for it."""

    study: str
    trial: int
    commit: str
    date: str
    model: str
    dataset: DatasetSpec
    input_shape: list[int]
    num_classes: int
    normalisation: dict[str, list[float]]
    split: SplitRecord
    sparsity: float
    method: str
    options: dict[str, Any]
    compression_ratio: float
    requested_compression_ratio: float | None
    sent: SentRecord
    codec: CodecRecord | None
    channel: dict[str, Any]
    hardware: HardwareRecord
    predicted: Predicted
    measured: Measured
    files: Files
    schema: str = SCHEMA
    version: int = VERSION

    def to_json(self) -> str:
        return json.dumps({"schema": self.schema, "version": self.version,
                           **{f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                              if f.name not in ("schema", "version")}}, indent=2) + "\n"

    def write(self, folder: Path) -> Path:
        path = folder / "config.json"
        path.write_text(self.to_json())
        return path

    def check_result(self, folder: Path) -> dict[str, Any] | None:
        """The check.json `split-explorer check` wrote beside the config, if any."""
        path = folder / "check.json"
        return json.loads(path.read_text()) if path.is_file() else None


def _plain(value: Any) -> Any:
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def read_config(path: str | Path) -> DeployConfig:
    """config.json as a DeployConfig; StudyError for a file that is missing, not JSON, not ours,
    of another version, or malformed (naming the field)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise StudyError(f"{path}: no such config") from None
    except IsADirectoryError:
        raise StudyError(f"{path}: is a folder, not a config") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudyError(f"{path}: not JSON ({getattr(exc, 'msg', exc)})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise StudyError(f"{path}: not a split-explorer deployment config (schema {SCHEMA!r})")
    if data.get("version") != VERSION:
        raise StudyError(f"{path}: config version {data.get('version')!r}, this tool reads {VERSION}")
    try:
        return parse(DeployConfig, data, "")
    except StudyError as exc:
        raise StudyError(f"{path}: {exc}") from None
