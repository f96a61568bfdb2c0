"""Incremental channel pruning during training: l2-norm masks raised step by step, masked weights restored.

See netmodels.pruning for the method (paper 001/003, section III.C)."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import Tensor, nn

from netmodels.pruning.physical import _dropped, prune_physically
from netmodels.pruning.plan import ChannelKeep, PruningPlan, SparsitySchedule, pruned_count
from netmodels.zoo import UnitModel


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


def one_shot_keep(model: UnitModel, plan: PruningPlan, *, sparsity: float, feature_sparsity: float) -> ChannelKeep:
    """What pruning the current weights at the targets in one shot keeps (the shapes are those of
    the incremental result: only which channels survive is decided by training)."""
    return ChannelPruner(model, plan, sparsity=sparsity, feature_sparsity=feature_sparsity).keep_at_target()
