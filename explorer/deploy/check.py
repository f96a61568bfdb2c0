"""Checking an export: the test set through device program -> link -> server program.

The link is what the config says runs between the programs: the codec's real round trip (e.g.
JPEG files), or the channel layer (its noise seeded). The accuracy must agree with the one the
search measured, within NOISY_TOLERANCE_POINTS where noise or a real codec replaces its training
proxy, EXACT_TOLERANCE_POINTS otherwise (exported programs may round differently from eager
PyTorch).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from explorer.deploy.config import read_config
from netmodels.channels import ChannelSpec
from netmodels.codecs import build_codec
from netmodels.data import eval_batches
from splitbase import ModelError, StudyError

NOISY_TOLERANCE_POINTS = 0.5   # a fresh draw of channel noise or a real codec vs its proxy
EXACT_TOLERANCE_POINTS = 0.1   # exported programs may round differently from eager PyTorch


@dataclass(frozen=True)
class CheckResult:
    accuracy: float
    recorded: float
    tolerance_points: float

    @property
    def agrees(self) -> bool:
        return abs(self.accuracy - self.recorded) * 100 <= self.tolerance_points


def _load_program(path: Path, role: str):
    if not path.is_file():
        raise StudyError(f"{path}: missing ({role} program)")
    try:
        return torch.export.load(path).module()
    except (RuntimeError, ValueError, KeyError, OSError) as exc:
        raise StudyError(f"{path}: not a loadable torch.export program ({str(exc).splitlines()[0]})") from None


def check_config(path: str | Path, *, data_root: str | None = None, batch_size: int = 500,
                 seed: int = 0) -> CheckResult:
    """Reload device and server programs and measure the test accuracy through the link."""
    path = Path(path)
    config = read_config(path)
    device = _load_program(path.parent / config.files.device, "device")
    server = _load_program(path.parent / config.files.server, "server")
    data = config.dataset.load(data_root)
    try:
        channel_spec = ChannelSpec.from_mapping(config.channel)
        codec = build_codec(config.codec.name, **config.codec.options) if config.codec else None
    except ModelError as exc:
        raise StudyError(f"{path}: {exc}") from None
    channel = channel_spec.build().eval()
    torch.manual_seed(seed)
    correct = total = 0
    with torch.no_grad():
        for x, labels in eval_batches(data, batch_size=batch_size):
            state = torch.full((x.shape[0],), channel_spec.state)
            sent = device(x, state)
            z, side = (sent[0], tuple(sent[1:])) if isinstance(sent, tuple) else (sent, ())
            if codec is not None:
                y = torch.stack([codec.decode(codec.encode(sample)) for sample in z.float()])
            else:
                y = channel(z.float(), state)
            correct += int((server(y, *side).argmax(1) == labels).sum())
            total += len(labels)
    noisy = codec is not None or channel_spec.channel_class.noisy
    return CheckResult(correct / total, float(config.measured.accuracy),
                       NOISY_TOLERANCE_POINTS if noisy else EXACT_TOLERANCE_POINTS)
