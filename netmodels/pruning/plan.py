"""What can be pruned in a model and how far: sparsity schedules, pruning steps, the plan of prunable layers.

See netmodels.pruning for the method (paper 001/003, section III.C)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from torch import Tensor, nn

from netmodels.zoo import UnitModel
from netmodels.zoo.base import unit_shapes
from netmodels.zoo.resnet import BasicBlock, Bottleneck
from splitbase import ModelError

Scope = Literal["head", "network", "feature"]
ScheduleKind = Literal["linear", "cubic"]

# Element-wise layers with f(0) = 0: a zero channel stays zero through them.
ZERO_PRESERVING = (nn.ReLU, nn.ReLU6, nn.Identity, nn.Dropout)
# Layers that act on each channel alone (a zero channel stays zero, no channel is mixed in).
CHANNELWISE = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Flatten,
               *ZERO_PRESERVING)


def pruned_count(sparsity: float, channels: int) -> int:
    """Channels pruned of `channels` at `sparsity`: round(s C) (halves up), at most C - 1."""
    return min(channels - 1, math.floor(sparsity * channels + 0.5))


@dataclass(frozen=True)
class SparsitySchedule:
    """How the sparsity rises from 0 to the target over a pruning stage of T steps.

    Progress p = min(1, (t + 1) / ceil(ramp T)) is rounded down to `levels` equal increments,
    then s_t = s p (linear) or s (1 - (1 - p)^3) (cubic: fast first, gentle near the target;
    Zhu & Gupta 2018, eq. 1). After the ramp the target holds for the rest of the stage, so the
    network is retrained at its final sparsity.
    """

    kind: ScheduleKind = "cubic"
    ramp: float = 0.75
    levels: int = 8

    def __post_init__(self) -> None:
        if self.kind not in ("linear", "cubic"):
            raise ModelError(f"prune_schedule must be linear or cubic, got {self.kind!r}")
        if not 0 < self.ramp <= 1:
            raise ModelError(f"prune_ramp must be in (0, 1], got {self.ramp!r}")
        if isinstance(self.levels, bool) or not isinstance(self.levels, int) or self.levels < 1:
            raise ModelError(f"prune_levels must be a positive integer, got {self.levels!r}")

    def fraction(self, step: int, total_steps: int) -> float:
        """s_t / s at optimiser step `step` (0-based) of `total_steps`; 1 from the ramp's end on."""
        ramp_steps = max(1, math.ceil(self.ramp * total_steps))
        p = math.floor(min(1.0, (step + 1) / ramp_steps) * self.levels) / self.levels
        return p if self.kind == "linear" else 1.0 - (1.0 - p) ** 3


@dataclass(frozen=True)
class PruneStep:
    """One pruning stage: which channels (`scope`) and at what sparsities.

    scope "head": the head's prunable layers at `sparsity` and the feature at `feature_sparsity`
    (the three-step framework); "network": every prunable layer of head and tail, the feature
    excepted (2-step pruning, step 1); "feature": the feature only (2-step pruning, step 2).
    """

    name: str
    scope: Scope
    sparsity: float
    feature_sparsity: float


def head_pruning_steps(sparsity: float, feature_sparsity: float) -> tuple[PruneStep, ...]:
    """The default: one stage pruning the head, when either sparsity is above 0."""
    if sparsity <= 0 and feature_sparsity <= 0:
        return ()
    return (PruneStep("prune", "head", sparsity, feature_sparsity),)


@dataclass(frozen=True)
class PrunableLayer:
    """A conv whose output channels can be pruned, by module path in the model.

    bn: its BatchNorm (None without one). consumer: the conv or linear layer whose input
    channels shrink with it; None only for a feature layer whose consumer cannot shrink (the
    tail then starts with a ChannelScatter). block: the consumer's inputs per channel (1 for a
    conv, H W for a linear layer after a flatten). feature: its output is the feature sent.
    """

    conv: str
    bn: str | None
    channels: int
    unit: int
    consumer: str | None
    block: int = 1
    feature: bool = False


@dataclass(frozen=True)
class FeatureSelect:
    """Activation pruning after residual unit `unit` (the feature sent): `channels` channels
    ranked by the l2 norm of conv `score`'s output channels; `block` elements per channel in
    the feature (1 for a map, H W if flattened)."""

    unit: int
    score: str
    channels: int
    block: int = 1


@dataclass(frozen=True)
class PruningPlan:
    """The prunable layers of a model split at `split`, for one scope; `select` prunes the
    feature of a residual head. `feature_layer` is the chain layer whose output is sent (if any)."""

    split: int
    scope: Scope
    layers: tuple[PrunableLayer, ...]
    select: FeatureSelect | None = None

    @property
    def feature_layer(self) -> PrunableLayer | None:
        return next((layer for layer in self.layers if layer.feature), None)

    @property
    def has_feature(self) -> bool:
        return self.select is not None or self.feature_layer is not None

    @property
    def internal(self) -> tuple[PrunableLayer, ...]:
        return tuple(layer for layer in self.layers if not layer.feature)


def _conv_unit(module: nn.Module) -> tuple[nn.Conv2d, nn.BatchNorm2d | None] | None:
    """(conv, bn) of a dense conv [+ BN] [+ ReLU...] unit, else None."""
    parts = list(module) if isinstance(module, nn.Sequential) else [module]
    if not parts or not isinstance(parts[0], nn.Conv2d) or parts[0].groups != 1:
        return None
    bn = parts[1] if len(parts) > 1 and isinstance(parts[1], nn.BatchNorm2d) else None
    if bn is not None and not bn.affine:
        return None
    rest = parts[2:] if bn is not None else parts[1:]
    return (parts[0], bn) if all(isinstance(m, ZERO_PRESERVING) for m in rest) else None


def _linear_unit(module: nn.Module) -> nn.Linear | None:
    """The linear layer of a [flatten] linear [ReLU] [dropout] unit, else None."""
    parts = list(module) if isinstance(module, nn.Sequential) else [module]
    while parts and isinstance(parts[0], nn.Flatten):
        parts = parts[1:]
    if not parts or not isinstance(parts[0], nn.Linear):
        return None
    return parts[0] if all(isinstance(m, ZERO_PRESERVING) for m in parts[1:]) else None


def _channelwise(module: nn.Module) -> bool:
    if isinstance(module, nn.Sequential):
        return all(_channelwise(m) for m in module)
    return isinstance(module, CHANNELWISE)


@dataclass
class _Producer:
    """A chain conv being followed through the walk: what consumes its output."""

    conv: nn.Conv2d
    bn: nn.BatchNorm2d | None
    unit: int
    consumer: nn.Module | None = None
    block: int = 1
    dead: bool = False  # its output meets a unit that cannot shrink


def plan_pruning(model: UnitModel, split: int, *, scope: Scope) -> PruningPlan:
    """The prunable layers of `model` cut after unit `split` (module docstring), for `scope`."""
    shapes = unit_shapes(model)
    paths = {id(m): name for name, m in model.named_modules()}
    found: list[_Producer | PrunableLayer] = []  # in model order
    flowing: _Producer | int | None = None  # the chain conv, or the residual unit, whose output flows on
    at_split: _Producer | int | None = None
    for i, unit in enumerate(model.units):
        producer = flowing if isinstance(flowing, _Producer) else None
        if _channelwise(unit):
            pass  # what flows, flows on, channel by channel
        elif (conv_bn := _conv_unit(unit)) is not None:
            if producer is not None:
                producer.consumer = conv_bn[0]
            flowing = _Producer(*conv_bn, unit=i)
            found.append(flowing)
        elif (linear := _linear_unit(unit)) is not None:
            if producer is not None:
                producer.consumer, producer.block = linear, math.prod(shapes[i]) // producer.conv.out_channels
            flowing = None
        else:
            if producer is not None:
                producer.dead = True  # a residual stream (identity shortcuts), or channels mixed or tied
            flowing = None
            if isinstance(unit, (BasicBlock, Bottleneck)):
                body = [_conv_unit(part) for part in unit.body]
                found += [PrunableLayer(paths[id(conv)], paths.get(id(bn)), conv.out_channels, i, paths[id(nxt[0])])
                          for (conv, bn), nxt in zip(body, body[1:])]
                flowing = i
        if i == split:
            at_split = flowing
    feature = at_split if 0 <= split < model.last_split else None
    layers: list[PrunableLayer] = []
    for item in found:
        if isinstance(item, PrunableLayer):
            layers.append(item)
            continue
        shrinks = item.consumer is not None and not item.dead
        if shrinks or item is feature:
            layers.append(PrunableLayer(paths[id(item.conv)], paths.get(id(item.bn)), item.conv.out_channels,
                                        item.unit, paths[id(item.consumer)] if shrinks else None,
                                        item.block if shrinks else 1, feature=item is feature))
    select = None
    if isinstance(feature, int) and scope != "network":
        score = _conv_unit(model.units[feature].body[-1])[0]
        channels = score.out_channels
        select = FeatureSelect(feature, paths[id(score)], channels, shapes[split + 1][0] // channels)
    wanted = {"head": lambda layer: layer.unit <= split, "network": lambda layer: not layer.feature,
              "feature": lambda layer: layer.feature}[scope]
    return PruningPlan(split, scope, tuple(filter(wanted, layers)), select)


@dataclass
class ChannelKeep:
    """Kept output channels (ascending indices) per layer (by conv path) and of the feature
    selection of a residual head (None: no selection)."""

    layers: dict[str, Tensor] = field(default_factory=dict)
    select: Tensor | None = None
