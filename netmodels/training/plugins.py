"""What plugs into the one training loop: a loss function and step hooks (netmodels.training.loop)."""
from __future__ import annotations

from typing import Callable, Protocol

from torch import Tensor

# loss_fn(logits, labels) -> scalar loss; the loop's default is cross-entropy.
LossFn = Callable[[Tensor, Tensor], Tensor]


class StepHooks(Protocol):
    """Optional callbacks of `train` around each optimiser step (e.g. netmodels.pruning's
    ChannelPruner, which masks weights before the forward pass and restores them after the step).

    before_step(step, total_steps) runs before the step's forward pass, after_step(step,
    total_steps) after optimizer.step() and the scheduler step; `step` is 0-based of the run's
    `total_steps`. Both run under the loop's grad mode, so in-place changes of parameters belong
    in torch.no_grad(). Batches replayed on a resume are not trained and call neither hook; a
    checkpoint is written after after_step, so what the hooks leave in the weights is what a
    resumed run starts from.
    """

    def before_step(self, step: int, total_steps: int) -> None: ...

    def after_step(self, step: int, total_steps: int) -> None: ...
