"""A trained candidate on disk: its spec and state dict, loaded with torch.load(weights_only=True).

The file holds plain values and tensors only ({"format", "spec", "input_shape", "num_classes",
"state_dict"}): loading runs no code from it, and moving or renaming a class of this package does
not break old files, because the module is rebuilt from the spec (build_candidate, its shapes
depend on the spec alone) and the weights are loaded into it strictly.
"""
from __future__ import annotations

from pathlib import Path

import torch

from netmodels.candidate.build import Candidate, build_candidate
from netmodels.candidate.spec import CandidateSpec
from netmodels.modules import UNREADABLE
from splitbase import ModelError
from splitbase.files import write_atomic

FORMAT = "split-explorer/candidate-1"


def save_candidate(path: str | Path, candidate: Candidate) -> Path:
    """Write `candidate` (its module's weights, on the CPU) to `path` atomically."""
    state = {name: tensor.detach().cpu() for name, tensor in candidate.module.state_dict().items()}
    payload = {"format": FORMAT, "spec": candidate.spec.record(), "input_shape": list(candidate.input_shape),
               "num_classes": candidate.num_classes, "state_dict": state}
    return write_atomic(path, lambda f: torch.save(payload, f))


def load_candidate(path: str | Path) -> Candidate:
    """The candidate saved at `path`, rebuilt from its spec and holding its trained weights (CPU)."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelError(f"{path}: no such trained candidate") from None
    except UNREADABLE as exc:
        raise ModelError(f"{path}: not a readable trained candidate ({str(exc).splitlines()[0]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path}: not a trained candidate of format {FORMAT}")
    spec = CandidateSpec.from_record(payload["spec"])
    candidate = build_candidate(spec, input_shape=tuple(payload["input_shape"]), num_classes=payload["num_classes"])
    try:
        candidate.module.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ModelError(f"{path}: its weights do not fit the candidate rebuilt from its spec "
                         f"({str(exc).splitlines()[0]})") from None
    return candidate
