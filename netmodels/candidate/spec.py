"""A point of the design space as data: model, data set, split point, sparsity, ratio, method, channel."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from netmodels.channels import ChannelSpec
from netmodels.pruning import ScheduleKind
from splitbase import ModelError
from splitbase.schema import Sparsity, parse


@dataclass(frozen=True)
class CandidateSpec:
    """One point of the design space: model, data set, split point, sparsity, requested
    compression ratio (raw bits / bits sent; None for a method that sizes nothing), method,
    channel and options (the method's own, see each method's Options, and the pruning options
    of PruningOptions). A mapping is accepted for `channel` (a study file's form).
    """

    model: str
    dataset: str
    split: int | str
    sparsity: float = 0.0
    compression_ratio: float | None = None
    method: str = "none"
    channel: ChannelSpec = field(default_factory=ChannelSpec)
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if isinstance(self.channel, Mapping):
            object.__setattr__(self, "channel", ChannelSpec.from_mapping(self.channel))
        if isinstance(self.sparsity, bool) or not isinstance(self.sparsity, (int, float)) \
                or not 0.0 <= self.sparsity < 1.0:
            raise ModelError(f"sparsity must be in [0, 1), got {self.sparsity!r}")
        if self.compression_ratio is not None and not (
                isinstance(self.compression_ratio, (int, float)) and self.compression_ratio > 0
                and math.isfinite(self.compression_ratio)):
            raise ModelError(f"compression_ratio must be a positive number, got {self.compression_ratio!r}")
        object.__setattr__(self, "options", dict(self.options))

    def record(self) -> dict[str, Any]:
        """JSON-ready: every field, the channel as its mapping; `from_record` reads it back."""
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "channel": self.channel.record(),
                "options": dict(self.options)}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "CandidateSpec":
        return cls(**{**record, "channel": ChannelSpec.from_mapping(record["channel"])})

    def split_options(self) -> tuple["PruningOptions", dict[str, Any]]:
        """(the pruning options, parsed; the method's own options, as given)."""
        names = {f.name for f in fields(PruningOptions)}
        pruning = parse(PruningOptions, {k: v for k, v in self.options.items() if k in names},
                        "pruning options", error=ModelError)
        return pruning, {k: v for k, v in self.options.items() if k not in names}


@dataclass(frozen=True)
class PruningOptions:
    """Options of the pruning stages, taken by every method (papers 001/003, step 2): the
    feature's sparsity (default: the candidate's sparsity), the schedule of the rising
    sparsity, the fraction of the stage it rises over, its increments, and the stage's lr scale."""

    feature_sparsity: Sparsity | None = None
    prune_schedule: ScheduleKind = "cubic"
    prune_ramp: float = 0.75    # in (0, 1]: SparsitySchedule checks it, and the levels
    prune_levels: int = 8
    prune_lr_scale: float = 1.0  # > 0: the Stage checks it
