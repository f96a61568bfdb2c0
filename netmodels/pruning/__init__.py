"""Communication-aware channel pruning of the on-device model (paper 001/003, section III.C).

Incremental network pruning: every prunable conv of the head has a binary mask over its output
channels, and the target sparsity s is reached step by step. In each training iteration,
(1) the mask is recomputed for the iteration's sparsity s_t: the channels whose weights have the
smallest l2 norm are masked (per layer, `pruned_count(s_t, C)` of its C channels); (2) the masked
weights are set to 0 for the forward pass, so only the unmasked ones are updated; (3) after the
optimiser step the masked weights are restored to their values at the start of the iteration.
s_t follows `SparsitySchedule` (linear, or the cubic ramp of Zhu & Gupta 2018, in a few
increments); at the last step the final masks are taken at s and kept. `ChannelPruner` does this
through the training loop's step hooks (netmodels.training.plugins.StepHooks).

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

MACs of a pruned head are counted like every other module's, by tracing it (netmodels.profiling).
"""
from __future__ import annotations

from netmodels.pruning.plan import ChannelKeep, CHANNELWISE, FeatureSelect, PrunableLayer, PruneStep, PruningPlan, ScheduleKind, Scope, SparsitySchedule, ZERO_PRESERVING, head_pruning_steps, plan_pruning, pruned_count, unit_shapes
from netmodels.pruning.select import ChannelScatter, ChannelSelect
from netmodels.pruning.pruner import ChannelPruner, one_shot_keep
from netmodels.pruning.physical import prune_physically, removed_channels

__all__ = ['CHANNELWISE', 'FeatureSelect', 'PrunableLayer', 'PruneStep', 'PruningPlan', 'ScheduleKind', 'Scope', 'SparsitySchedule', 'ZERO_PRESERVING', 'head_pruning_steps', 'plan_pruning', 'pruned_count', 'unit_shapes', 'ChannelScatter', 'ChannelSelect', 'ChannelKeep', 'ChannelPruner', 'one_shot_keep', 'prune_physically', 'removed_channels']
