"""The deployment config (config.json, schema version 2): a typed record, written and read here.

Beside it in the export folder (explorer.deploy.export): `device.pt2` / `device.onnx` (head +
encoder) and `server.pt2` / `server.onnx` (decoder + tail), as torch.export programs and ONNX
models of the same halves; `split_runner.py`, which runs the ONNX halves over a socket with numpy
and onnxruntime alone; `README.md`. The config says everything needed to call them without this
package: `preprocessing` (uint8 image -> float32 device input), `programs` (each half's call and
its named input and output tensors; the device's outputs are the boundary tensors), `wire` (how
the sent tensor is coded, explorer.deploy.wire), `channel_state` (the state the device program's
encoder was exported with), `sha256` of every artifact, and `tolerance` (what `check` accepts).
The simulated link (`codec` or `channel`: a ChannelSpec record) is what `check` replays.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.studies.common import DatasetSpec
from splitbase import StudyError
from splitbase.files import write_atomic
from splitbase.schema import parse

SCHEMA = "split-explorer/deploy-config"
VERSION = 2


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
    device_onnx: str
    server_onnx: str
    runner: str
    readme: str


@dataclass(frozen=True)
class Preprocessing:
    """From a uint8 image (C x h x w, h <= H, w <= W; grey: C = 1, colour: RGB) to the device input:
    zero-pad (pad_value) centred to input_shape (C, H, W) (Fashion-MNIST: 28x28 -> 32x32, 2 pixels
    each side), multiply by `scale` (1/255: 0..1), subtract `mean` and divide by `std` per channel,
    as `dtype` in `layout` (a batch first)."""

    input_shape: list[int]
    input_dtype: str
    pad_value: int
    pad: str
    scale: float
    mean: list[float]
    std: list[float]
    channel_order: str
    layout: str
    dtype: str


@dataclass(frozen=True)
class TensorRecord:
    """A named input or output of a program: its shape ("batch" the dynamic first dimension)."""

    name: str
    shape: list[int | str]
    dtype: str


@dataclass(frozen=True)
class ProgramRecord:
    call: str
    inputs: list[TensorRecord]
    outputs: list[TensorRecord]


@dataclass(frozen=True)
class Programs:
    device: ProgramRecord
    server: ProgramRecord
    onnx_opset: int


@dataclass(frozen=True)
class Tolerance:
    """What `check` accepts: the accuracy within `accuracy_points` of the recorded one (noise or a
    real codec replaces its training proxy: 0.5, else 0.1), and the ONNX parts' outputs within
    `onnx_max_abs` of the torch programs' on the same inputs."""

    accuracy_points: float
    onnx_max_abs: float


@dataclass(frozen=True)
class DeployConfig:
    """config.json: the exported trial, what it needs to run (preprocessing, programs, wire)
    and what was predicted and measured for it."""

    study: str
    trial: int
    commit: str
    date: str
    model: str
    dataset: DatasetSpec
    input_shape: list[int]
    num_classes: int
    preprocessing: Preprocessing
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
    programs: Programs
    wire: dict[str, Any]
    channel_state: float
    tolerance: Tolerance
    sha256: dict[str, str]
    schema: str = SCHEMA
    version: int = VERSION

    def to_json(self) -> str:
        return json.dumps({"schema": self.schema, "version": self.version,
                           **{f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                              if f.name not in ("schema", "version")}}, indent=2) + "\n"

    def write(self, folder: Path) -> Path:
        return write_atomic(folder / "config.json", lambda f: f.write(self.to_json().encode()))

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
