"""Checking an export: the test set through device -> link -> server, in PyTorch or onnxruntime.

The link is what the config says runs between the halves: the codec's real round trip (e.g.
JPEG files), or the channel layer (its noise seeded). With `runtime="torch"` the torch.export
programs run and the netmodels codec codes; with `runtime="onnxruntime"` the ONNX parts run and
the export's own runner (numpy) codes the wire format, the channel's noise then applied by the
channel layer, and the ONNX parts are compared with the torch programs on one batch. The accuracy
must agree with the one the search measured within the config's tolerance: NOISY_TOLERANCE_POINTS
where noise or a real codec replaces its training proxy, EXACT_TOLERANCE_POINTS otherwise.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from explorer.deploy.config import DeployConfig, read_config
from explorer.deploy.runner import split_runner
from netmodels.channels import ChannelSpec
from netmodels.codecs import build_codec
from netmodels.data import ImageDataset, eval_batches
from netmodels.modules import UNREADABLE
from splitbase import ModelError, StudyError

NOISY_TOLERANCE_POINTS = 0.5   # a fresh draw of channel noise or a real codec vs its proxy
EXACT_TOLERANCE_POINTS = 0.1   # exported programs may round differently from eager PyTorch
COMPARE_BATCH = 64             # inputs on which the ONNX parts are compared with the torch programs
Runtime = Literal["torch", "onnxruntime"]
FORCE_WEIGHTS_ONLY = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"  # read by torch.load at each call (torch >= 2.4)


def tolerance_points(codec: bool, channel: ChannelSpec) -> float:
    """The accuracy tolerance (points) of an export with a codec or over `channel`."""
    return NOISY_TOLERANCE_POINTS if codec or channel.channel_class.noisy else EXACT_TOLERANCE_POINTS


@dataclass(frozen=True)
class CheckResult:
    accuracy: float
    recorded: float
    tolerance_points: float
    runtime: str = "torch"
    onnx_max_abs: float | None = None       # the largest |ONNX - torch| over boundary tensors and logits
    onnx_tolerance: float | None = None

    @property
    def agrees(self) -> bool:
        close = self.onnx_max_abs is None or self.onnx_max_abs <= self.onnx_tolerance
        return close and abs(self.accuracy - self.recorded) * 100 <= self.tolerance_points


@contextlib.contextmanager
def _weights_only():
    """Every torch.load inside forced to weights_only=True: torch.export.load unpickles some
    weights and constants with weights_only=False, so a crafted .pt2 could run code."""
    before = os.environ.get(FORCE_WEIGHTS_ONLY)
    os.environ[FORCE_WEIGHTS_ONLY] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ[FORCE_WEIGHTS_ONLY]
        else:
            os.environ[FORCE_WEIGHTS_ONLY] = before


def _load_program(path: Path, role: str):
    if not path.is_file():
        raise StudyError(f"{path}: missing ({role} program)")
    try:
        with _weights_only():
            return torch.export.load(path).module()
    except (*UNREADABLE, KeyError) as exc:
        raise StudyError(f"{path}: not a loadable torch.export program ({str(exc).splitlines()[0]})") from None


def _as_tuple(sent) -> tuple:
    return tuple(sent) if isinstance(sent, (tuple, list)) else (sent,)


def _link(config: DeployConfig, path: Path):
    try:
        channel_spec = ChannelSpec.from_mapping(config.channel)
        codec = build_codec(config.codec.name, **config.codec.options) if config.codec else None
    except ModelError as exc:
        raise StudyError(f"{path}: {exc}") from None
    return channel_spec.build().eval(), codec


def _torch_accuracy(config: DeployConfig, folder: Path, data: ImageDataset, batch_size: int) -> float:
    device = _load_program(folder / config.files.device, "device")
    server = _load_program(folder / config.files.server, "server")
    channel, codec = _link(config, folder / "config.json")
    correct = 0
    with torch.no_grad():
        for x, labels in eval_batches(data, batch_size=batch_size):
            z, *side = _as_tuple(device(x))
            y = (torch.stack([codec.decode(codec.encode(s)) for s in z.float()]) if codec is not None
                 else channel(z.float(), torch.full((x.shape[0],), config.channel_state)))
            correct += int((server(y, *side).argmax(1) == labels).sum())
    return correct / len(data.test_labels)


def _onnx_received(export: split_runner.Export, sent: list[np.ndarray], channel, codec_given: bool) -> list:
    """The server's inputs for a batch: every sample through the runner's wire coding, then (no
    codec) the channel's noise."""
    frames = [export.uncode_frame(*export.code_frame(sent, i)) for i in range(len(sent[0]))]
    received = [np.concatenate(parts) for parts in zip(*frames)]
    if not codec_given:
        y = torch.from_numpy(received[0])
        received[0] = channel(y, torch.full((y.shape[0],), export.config["channel_state"])).numpy()
    return received


def _onnx_accuracy(config: DeployConfig, folder: Path, data: ImageDataset, batch_size: int) -> tuple[float, float]:
    """(accuracy, max |ONNX - torch| over the boundary tensors and logits of COMPARE_BATCH inputs)."""
    try:
        export = split_runner.Export.load(folder)
    except (OSError, KeyError, ValueError) as exc:
        raise StudyError(f"{folder}: cannot load the ONNX parts ({exc})") from None
    channel, _ = _link(config, folder / "config.json")
    images = data.test_images.numpy()
    labels = data.test_labels.numpy()
    correct = 0
    for start in range(0, len(images), batch_size):
        x = split_runner.preprocess(images[start:start + batch_size], export.config["preprocessing"])
        received = _onnx_received(export, export.run_device(x), channel, config.codec is not None)
        correct += int((export.run_server(received).argmax(1) == labels[start:start + batch_size]).sum())
    x = split_runner.preprocess(images[:COMPARE_BATCH], export.config["preprocessing"])
    device = _load_program(folder / config.files.device, "device")
    server = _load_program(folder / config.files.server, "server")
    sent = export.run_device(x)
    with torch.no_grad():
        torch_sent = _as_tuple(device(torch.from_numpy(x)))
        torch_logits = server(*(torch.from_numpy(s) for s in sent)).numpy()
    pairs = [*zip(sent, (t.numpy() for t in torch_sent)), (export.run_server(sent), torch_logits)]
    return correct / len(labels), max(float(np.abs(a - b).max()) for a, b in pairs)


def check_config(path: str | Path, *, data_root: str | None = None, batch_size: int = 500, seed: int = 0,
                 runtime: Runtime = "torch") -> CheckResult:
    """Run the test set through the export's halves and link (module docstring) and compare."""
    path = Path(path)
    config = read_config(path)
    data = config.dataset.load(data_root)
    torch.manual_seed(seed)
    if runtime == "torch":
        accuracy, max_abs, tolerance = _torch_accuracy(config, path.parent, data, batch_size), None, None
    else:
        accuracy, max_abs = _onnx_accuracy(config, path.parent, data, batch_size)
        tolerance = config.tolerance.onnx_max_abs
    return CheckResult(accuracy, float(config.measured.accuracy), config.tolerance.accuracy_points, runtime,
                       max_abs, tolerance)
