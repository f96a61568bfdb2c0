"""Communication-aware channel pruning of the on-device model (paper 001/003, section III.C).

Incremental network pruning: every prunable conv of the head has a binary mask over its output
channels, and the target sparsity s is reached step by step. In each training iteration,
(1) the mask is recomputed for the iteration's sparsity s_t: the channels whose weights have the
smallest l2 norm are masked (per layer, `pruned_count(s_t, C)` of its C channels); (2) the masked
weights are set to 0 for the forward pass, so only the unmasked ones are updated; (3) after the
optimiser step the masked weights are restored to their values at the start of the iteration.
s_t follows `SparsitySchedule` (linear, or the cubic ramp of Zhu & Gupta 2018, in a few
increments); at the last step the final masks are taken at s and kept. `ChannelPruner` does this
through the training loop's step hooks (netmodels.training.loop.StepHooks).

What is prunable (`plan_pruning`), so that a masked channel is exactly zero downstream and can
be removed physically (conv out-channels, its BatchNorm, the consumer's in-channels):

- chains (VGG, small-cnn, AlexNet's BN-free convs): the output channels of a dense conv unit
  (conv [+ BN] + ReLU) whose output reaches, through pooling / dropout / flatten only, a dense
  conv or a linear layer (after a flatten, a channel is a block of H W inputs);
- ResNets: the internal channels of each block (outputs of every body conv but the last). The
  block output is shared with the shortcut, and the stem feeds identity shortcuts: neither is
  pruned. Convs feeding grouped/depthwise convs, LRN, dense blocks or inverted residuals are not
  prunable (their consumers mix or tie channels).

The feature sent (activation pruning of the last on-device layer, at `feature_sparsity`): in a
chain, the last conv before the split is pruned like any other layer and the tail's consumer
shrinks with it. For a residual block the output channel is shared with the shortcut, so the
feature is pruned by a channel selection after the block (`ChannelSelect`): a fixed index set
chosen by the l2 norm of the block's last conv's output channels (masked in training by a
forward hook, recomputed each iteration like the weight masks). The tail then starts with
`ChannelScatter`, which puts zeros back where channels were dropped, so the server's model is
unchanged. A scatter is also used when a chain's feature layer feeds a unit that cannot shrink.

Masked = physical: a masked channel has zero conv weights and bias and zero BN scale and shift,
so its output is exactly 0 after BN, ReLU and pooling in train and eval mode; removing it
changes nothing but float summation order (`prune_physically`).

MACs are counted by `forward_macs`, one multiply-accumulate per fused multiply-add (FLOPs = 2
MACs), as explorer.profile counts them: conv K (C/g) R S P Q, transposed conv C_in (C_out/g) R S
H W, linear in x out.
"""
from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass, field
from typing import Iterator, Literal, Sequence

import torch
from torch import Tensor, nn

from netmodels.zoo import UnitModel
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


def unit_shapes(model: UnitModel) -> list[tuple[int, ...]]:
    """Shapes (no batch dim) of the input and of every unit's output: len(units) + 1 entries."""
    first = next(model.parameters(), None)
    x = torch.zeros(1, *model.input_shape, device=first.device if first is not None else None)
    shapes = [tuple(x.shape[1:])]
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            for unit in model.units:
                x = unit(x)
                shapes.append(tuple(x.shape[1:]))
    finally:
        for m, mode in modes:
            m.training = mode
    return shapes


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


def _runs(keep: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending channel indices as [start, stop) runs of consecutive channels."""
    runs: list[list[int]] = []
    for c in sorted(int(k) for k in keep):
        if runs and runs[-1][1] == c:
            runs[-1][1] = c + 1
        else:
            runs.append([c, c + 1])
    return [(a, b) for a, b in runs]


class _ChannelIndex(nn.Module):
    """Shared part of ChannelSelect / ChannelScatter: the kept channels as a buffer (saved with
    the weights) and as Python runs, refreshed on load, so forward needs no host sync and uses
    slices and one concatenation only (priced by explorer's profiler as the copy it is)."""

    def __init__(self, keep: Sequence[int], channels: int, block: int = 1) -> None:
        super().__init__()
        keep = sorted(int(k) for k in keep)
        if not keep or keep[0] < 0 or keep[-1] >= channels or len(set(keep)) != len(keep):
            raise ModelError(f"kept channels must be distinct indices in 0..{channels - 1}, got {keep}")
        self.channels, self.block = int(channels), int(block)
        self.register_buffer("keep", torch.tensor(keep, dtype=torch.long))
        self._runs = _runs(keep)

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - torch's signature
        super()._load_from_state_dict(*args, **kwargs)
        self._runs = _runs(self.keep.tolist())

    def extra_repr(self) -> str:
        return f"kept={self.keep.numel()}/{self.channels}, block={self.block}"


class ChannelSelect(_ChannelIndex):
    """(B, C, ...) -> (B, C', ...): the kept channels, in order; for a flat (B, C block) input,
    the kept blocks of `block` elements (activation pruning of the feature sent)."""

    def forward(self, x: Tensor) -> Tensor:
        b = self.block
        parts = [x[:, start * b:stop * b] for start, stop in self._runs]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


class ChannelScatter(_ChannelIndex):
    """(B, C', ...) -> (B, C, ...): the kept channels back at their places, zeros elsewhere,
    which is exactly what the masked model's tail saw (the server side of ChannelSelect)."""

    def forward(self, x: Tensor) -> Tensor:
        b, parts, pos, previous = self.block, [], 0, 0
        for start, stop in self._runs + [(self.channels, self.channels)]:
            if start > previous:
                parts.append(torch.zeros(x.shape[0], (start - previous) * b, *x.shape[2:],
                                         dtype=x.dtype, device=x.device))
            if stop > start:
                parts.append(x[:, pos * b:(pos + stop - start) * b])
                pos += stop - start
            previous = stop
        return torch.cat(parts, dim=1)


@dataclass
class ChannelKeep:
    """Kept output channels (ascending indices) per layer (by conv path) and of the feature
    selection of a residual head (None: no selection)."""

    layers: dict[str, Tensor] = field(default_factory=dict)
    select: Tensor | None = None


def _l2_order(weight: Tensor) -> Tensor:
    """Output channels of `weight` (C_out, ...) from the smallest l2 norm up (stable)."""
    return torch.argsort(weight.detach().float().flatten(1).norm(dim=1), stable=True)


def _kept(weight: Tensor, pruned: int) -> Tensor:
    return torch.sort(_l2_order(weight)[pruned:]).values


def _zeroable(conv: nn.Conv2d, bn: nn.BatchNorm2d | None) -> list[Tensor]:
    """The parameters zeroed for a masked channel: conv weights and bias, BN scale and shift."""
    tensors = [conv.weight] + ([conv.bias] if conv.bias is not None else [])
    return tensors + ([bn.weight, bn.bias] if bn is not None else [])


def _channel_state(conv: nn.Conv2d, bn: nn.BatchNorm2d | None) -> list[Tensor]:
    """Everything per output channel that training may change: parameters and BN statistics."""
    return _zeroable(conv, bn) + ([bn.running_mean, bn.running_var] if bn is not None else [])


class ChannelPruner:
    """Incremental channel pruning of `model` by `plan` (module docstring), as training-loop hooks.

    Use: `with pruner.attached(): train(model, data, config, hooks=pruner)`, then
    `pruner.physical_model()`. Layers are pruned towards `sparsity`, the feature (a chain's feature
    layer or a residual head's selection) towards `feature_sparsity`, both along `schedule`.
    `before_step` masks (zeroes) the smallest-norm channels for the step's sparsity, saving their
    values; `after_step` restores them (BN statistics too), except after the last step, where
    the final masks at the target sparsities are taken from the updated weights and kept zeroed.
    """

    def __init__(self, model: UnitModel, plan: PruningPlan, *, sparsity: float, feature_sparsity: float,
                 schedule: SparsitySchedule = SparsitySchedule()) -> None:
        self.model, self.plan, self.schedule = model, plan, schedule
        self._layers = []
        for layer in plan.layers:
            target = feature_sparsity if layer.feature else sparsity
            if target > 0:
                bn = model.get_submodule(layer.bn) if layer.bn is not None else None
                self._layers.append((layer, model.get_submodule(layer.conv), bn, target))
        self._select = None
        if plan.select is not None and feature_sparsity > 0:
            self._select = (plan.select, model.get_submodule(plan.select.score), feature_sparsity)
        self._mask: Tensor | None = None
        self._saved: list[tuple[Tensor, list[Tensor], list[Tensor]]] = []
        self.keep: ChannelKeep | None = None  # set after the last step

    def sparsity_at(self, step: int, total_steps: int, target: float) -> float:
        return target * self.schedule.fraction(step, total_steps)

    @contextlib.contextmanager
    def attached(self) -> Iterator[None]:
        """The feature selection's mask on the residual unit's output while inside (no-op for chains)."""
        if self._select is None:
            yield
            return
        select, score, _ = self._select
        unit = self.model.units[select.unit]
        self._mask = torch.ones(select.channels, device=score.weight.device)

        def mask_output(_module: nn.Module, _inputs: tuple, out: Tensor) -> Tensor:
            shape = (1, -1) + (1,) * (out.dim() - 2)
            return out * self._mask.to(device=out.device, dtype=out.dtype).view(shape)

        handle = unit.register_forward_hook(mask_output)
        try:
            yield
        finally:
            handle.remove()

    def before_step(self, step: int, total_steps: int) -> None:
        """Mask the step's smallest-norm channels (1)-(2); their values are kept for after_step."""
        with torch.no_grad():
            self._saved = []
            for layer, conv, bn, target in self._layers:
                n = pruned_count(self.sparsity_at(step, total_steps, target), layer.channels)
                if n == 0:
                    continue
                idx = _l2_order(conv.weight)[:n]
                state = _channel_state(conv, bn)
                self._saved.append((idx, state, [t.index_select(0, idx) for t in state]))
                for t in _zeroable(conv, bn):
                    t.index_fill_(0, idx, 0.0)
            if self._select is not None and self._mask is not None:
                select, score, target = self._select
                n = pruned_count(self.sparsity_at(step, total_steps, target), select.channels)
                if self._mask.device != score.weight.device:  # attached before train() moved the model
                    self._mask = self._mask.to(score.weight.device)
                self._mask.fill_(1.0)
                if n:
                    self._mask.index_fill_(0, _l2_order(score.weight)[:n], 0.0)

    def after_step(self, step: int, total_steps: int) -> None:
        """Restore the masked channels (3); after the last step, fix the final masks instead."""
        with torch.no_grad():
            for idx, state, values in self._saved:
                for t, v in zip(state, values):
                    t.index_copy_(0, idx, v)
            self._saved = []
        if step == total_steps - 1:
            self.finalize()

    def keep_at_target(self) -> ChannelKeep:
        """The channels kept at the target sparsities, ranked by the current weights' l2 norms."""
        keep = ChannelKeep()
        for layer, conv, _, target in self._layers:
            keep.layers[layer.conv] = _kept(conv.weight, pruned_count(target, layer.channels))
        if self._select is not None:
            select, score, target = self._select
            keep.select = _kept(score.weight, pruned_count(target, select.channels))
        return keep

    def finalize(self) -> ChannelKeep:
        """Zero the channels pruned at the targets for good (the masked model is now the pruned
        one) and return what is kept."""
        keep = self.keep_at_target()
        with torch.no_grad():
            for layer, conv, bn, _ in self._layers:
                dropped = _dropped(keep.layers[layer.conv], layer.channels)
                for t in _zeroable(conv, bn):
                    t.index_fill_(0, dropped, 0.0)
            if self._select is not None and self._mask is not None:
                mask = torch.zeros(self._select[0].channels, device=keep.select.device)
                self._mask = mask.index_fill_(0, keep.select, 1.0)
        self.keep = keep
        return keep

    def physical_model(self) -> UnitModel:
        """A copy of the model with the pruned channels removed (the final masks; a run resumed
        from a finished checkpoint never stepped, so its masks come from its final weights,
        whose pruned channels are zero)."""
        return prune_physically(self.model, self.plan, self.keep or self.keep_at_target())


def _dropped(keep: Tensor, channels: int) -> Tensor:
    mask = torch.ones(channels, dtype=torch.bool, device=keep.device)
    mask[keep] = False
    return mask.nonzero().flatten()


def _take(module: nn.Module, name: str, idx: Tensor, dim: int = 0) -> None:
    """Replace parameter or buffer `name` of `module` by its entries `idx` along `dim`."""
    tensor = getattr(module, name)
    if tensor is None:
        return
    new = tensor.detach().index_select(dim, idx.to(tensor.device)).clone()
    if isinstance(tensor, nn.Parameter):
        setattr(module, name, nn.Parameter(new, requires_grad=tensor.requires_grad))
    else:
        setattr(module, name, new)


def prune_physically(model: UnitModel, plan: PruningPlan, keep: ChannelKeep) -> UnitModel:
    """A copy of `model` without the channels `keep` drops: conv out-channels, BN, and the
    consumer's in-channels (a linear consumer loses the channel's block of inputs); a feature
    selection becomes ChannelSelect after its unit and ChannelScatter before the next one.
    In eval mode the copy computes what the masked model computes (module docstring)."""
    pruned = copy.deepcopy(model)
    shapes = unit_shapes(model)
    for layer in plan.layers:
        idx = keep.layers.get(layer.conv)
        if idx is None or len(idx) == layer.channels:
            continue
        conv = pruned.get_submodule(layer.conv)
        for name in ("weight", "bias"):
            _take(conv, name, idx)
        conv.out_channels = len(idx)
        if layer.bn is not None:
            bn = pruned.get_submodule(layer.bn)
            for name in ("weight", "bias", "running_mean", "running_var"):
                _take(bn, name, idx)
            bn.num_features = len(idx)
        if layer.consumer is None:  # a feature layer whose consumer cannot shrink
            at = plan.split + 1
            block = shapes[at][0] // layer.channels  # entries per channel along dim 1
            scatter = ChannelScatter(idx.tolist(), layer.channels, block).to(idx.device)
            pruned.units[at] = nn.Sequential(scatter, pruned.units[at])
            continue
        consumer = pruned.get_submodule(layer.consumer)
        if isinstance(consumer, nn.Conv2d):
            _take(consumer, "weight", idx, dim=1)
            consumer.in_channels = len(idx)
        else:
            cols = (idx.view(-1, 1) * layer.block + torch.arange(layer.block, device=idx.device)).flatten()
            _take(consumer, "weight", cols, dim=1)
            consumer.in_features = len(cols)
    select = plan.select
    if select is not None and keep.select is not None and len(keep.select) < select.channels:
        kept, device = keep.select.tolist(), keep.select.device
        pruned.units[select.unit] = nn.Sequential(
            pruned.units[select.unit], ChannelSelect(kept, select.channels, select.block).to(device))
        pruned.units[select.unit + 1] = nn.Sequential(
            ChannelScatter(kept, select.channels, select.block).to(device), pruned.units[select.unit + 1])
    return pruned


def one_shot_keep(model: UnitModel, plan: PruningPlan, *, sparsity: float, feature_sparsity: float) -> ChannelKeep:
    """What pruning the current weights at the targets in one shot keeps (the shapes are those of
    the incremental result: only which channels survive is decided by training)."""
    return ChannelPruner(model, plan, sparsity=sparsity, feature_sparsity=feature_sparsity).keep_at_target()


def removed_channels(plan: PruningPlan, keep: ChannelKeep, *, up_to_unit: int) -> int:
    """Output channels removed from units 0..up_to_unit (the head), the feature's included."""
    removed = sum(layer.channels - len(keep.layers[layer.conv]) for layer in plan.layers
                  if layer.unit <= up_to_unit and layer.conv in keep.layers)
    if plan.select is not None and keep.select is not None and plan.select.unit <= up_to_unit:
        removed += plan.select.channels - len(keep.select)
    return removed


def forward_macs(module: nn.Module, x: Tensor) -> tuple[int, Tensor]:
    """(MACs per sample, output) of module(x) in eval mode without gradients, from the shapes
    of every conv, transposed conv and linear layer it runs (module docstring's formulas)."""
    macs = 0

    def conv(m: nn.Conv2d, _inputs: tuple, out: Tensor) -> None:
        nonlocal macs
        macs += out.numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size)

    def deconv(m: nn.ConvTranspose2d, inputs: tuple, _out: Tensor) -> None:
        nonlocal macs
        macs += inputs[0].numel() * (m.out_channels // m.groups) * math.prod(m.kernel_size)

    def linear(m: nn.Linear, _inputs: tuple, out: Tensor) -> None:
        nonlocal macs
        macs += out.numel() * m.in_features

    hooks = {nn.Conv2d: conv, nn.ConvTranspose2d: deconv, nn.Linear: linear}
    handles = [m.register_forward_hook(hooks[type(m)]) for m in module.modules() if type(m) in hooks]
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            out = module(x)
    finally:
        for handle in handles:
            handle.remove()
        for m, mode in modes:
            m.training = mode
    return macs // max(1, x.shape[0]), out
