"""Losses that need more than (logits, labels): distillation from a teacher, and reconstruction.

BottleFit (paper 002, section III.C) trains with generalised head network distillation (GHND,
eq. 4), fine-tunes with knowledge distillation (KD, eq. 6-7), and compares against HND and an
autoencoder trained on reconstruction (section IV-C). The one training loop takes
`loss_fn(logits, labels)`, so these losses get what else they need (the input batch, outputs of
inner modules, the teacher's features) from forward hooks registered on the candidate's
SplitModel for the length of a stage, as torchdistill's ForwardHookManager does: no second
forward pass of the student.

- `ghnd_loss`, `kd_loss`: small pure functions of tensors, testable alone.
- `LossStage`: a `Stage` whose training loss is built by `loss(module, parts)`, a context
  manager yielding the loss_fn (its hooks live while the context is open);
  `stage_loss(stage, module, parts)` yields None for a plain Stage (cross-entropy).
- `DistillParts`: the MethodParts of a method with a teacher (kept outside the trained
  module, so no stage can train it and it is not in the candidate's state dict).
- objective factories: `ghnd_objective`, `hnd_objective`, `kd_objective`,
  `reconstruction_objective`.

Squared errors are means over elements (F.mse_loss), not the paper's sums: the loss then does not
scale with the batch or the feature size, so one learning rate serves every split point.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, ContextManager, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from netmodels.methods.base import MethodParts, Stage
from netmodels.modules import module_device
from netmodels.training.plugins import LossFn
from splitbase import ModelError

# (the candidate's SplitModel, its MethodParts) -> a context manager yielding the stage's loss_fn.
LossFactory = Callable[[nn.Module, MethodParts], ContextManager[LossFn]]


def ghnd_loss(student: Sequence[Tensor], teacher: Sequence[Tensor],
              weights: Sequence[float] | None = None) -> Tensor:
    """GHND, paper 002 eq. 4: sum_j lambda_j mse(s_j, t_j) over matched pairs (lambda_j = 1 by default).

    student / teacher: the j-th student and teacher outputs (same shapes, any dims); the first
    pair is the decoder output against the teacher's feature at the split (the lambda_ed term).
    Zero exactly when every pair is equal. Returns a scalar in the students' dtype (float32 at least).
    """
    if len(student) != len(teacher) or not student:
        raise ModelError(f"GHND needs matched, non-empty output lists, got {len(student)} student and "
                         f"{len(teacher)} teacher outputs")
    weights = [1.0] * len(student) if weights is None else list(weights)
    if len(weights) != len(student):
        raise ModelError(f"GHND: {len(weights)} weights for {len(student)} pairs")
    total = torch.zeros((), dtype=torch.float32, device=student[0].device)
    for w, s, t in zip(weights, student, teacher):
        if s.shape != t.shape:
            raise ModelError(f"GHND: student output {tuple(s.shape)} does not match the teacher's {tuple(t.shape)}")
        total = total + w * F.mse_loss(s.float(), t.float())
    return total


def kd_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor, *,
            alpha: float = 0.5, tau: float = 1.0) -> Tensor:
    """Knowledge distillation, paper 002 eq. 6-7 (Hinton et al. 2014):

        alpha CE(s, y) + (1 - alpha) tau^2 KL(p || q),  p = softmax(t / tau), q = softmax(s / tau),

    KL averaged over the batch. alpha = 0.5 and tau = 1 in the paper.
    """
    ce = F.cross_entropy(student_logits.float(), labels)
    log_q = F.log_softmax(student_logits.float() / tau, dim=1)
    log_p = F.log_softmax(teacher_logits.float() / tau, dim=1)
    kl = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)
    return alpha * ce + (1.0 - alpha) * tau * tau * kl


@dataclass(frozen=True, kw_only=True)
class LossStage(Stage):
    """A Stage trained with its own loss: `loss(module, parts)` is a context manager yielding
    loss_fn(logits, labels) (see LossFactory); used through `stage_loss`.
    """

    loss: LossFactory

    def __post_init__(self) -> None:
        super().__post_init__()
        if not callable(self.loss):
            raise ModelError(f"stage {self.name!r}: loss must be a loss factory, got {self.loss!r}")


@contextlib.contextmanager
def stage_loss(stage: Stage, module: nn.Module, parts: MethodParts) -> Iterator[LossFn | None]:
    """The stage's loss_fn for `train` while the context is open (None: the loop's cross-entropy)."""
    if not isinstance(stage, LossStage):
        yield None
        return
    with stage.loss(module, parts) as loss_fn:
        yield loss_fn


@dataclass
class DistillParts(MethodParts):
    """MethodParts with a teacher: `teacher` the base model (a UnitModel, frozen, not part of
    the SplitModel), `split_index` the split point k, `matched_units` the teacher units j > k
    whose outputs GHND matches with the student's tail units (the same units, fed by the
    student's restored feature).
    """

    teacher: nn.Module | None = None
    split_index: int = -1
    matched_units: tuple[int, ...] = ()


class _Recorder:
    """Forward hooks keeping the input of `root` and the last output of each of `points`."""

    def __init__(self, root: nn.Module, points: Sequence[nn.Module]) -> None:
        self.input: Tensor | None = None
        self.outputs: list[Tensor | None] = [None] * len(points)
        self._handles = [root.register_forward_pre_hook(self._keep_input)]
        self._handles += [p.register_forward_hook(self._keeper(i)) for i, p in enumerate(points)]

    def _keep_input(self, _module: nn.Module, args: tuple) -> None:
        self.input = args[0]

    def _keeper(self, index: int) -> Callable[[nn.Module, tuple, Tensor], None]:
        def keep(_module: nn.Module, _args: tuple, output: Tensor) -> None:
            self.outputs[index] = output
        return keep

    def take(self) -> tuple[Tensor, list[Tensor]]:
        """(input, outputs) of the last forward pass, then forgotten (no batch outlives its step)."""
        if self.input is None or any(o is None for o in self.outputs):
            raise ModelError("the distillation hooks saw no forward pass of the candidate before its loss")
        x, outs = self.input, list(self.outputs)
        self.input, self.outputs = None, [None] * len(self.outputs)
        return x, outs  # type: ignore[return-value]

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()


@contextlib.contextmanager
def recording(root: nn.Module, points: Sequence[nn.Module]) -> Iterator[_Recorder]:
    """Hooks on `root` (its input) and `points` (their outputs), removed on exit."""
    recorder = _Recorder(root, points)
    try:
        yield recorder
    finally:
        recorder.close()


def _with_teacher(parts: MethodParts) -> tuple[DistillParts, nn.Module]:
    """(parts, teacher) with the teacher frozen in eval mode; ModelError if the parts carry none."""
    if not isinstance(parts, DistillParts) or parts.teacher is None:
        raise ModelError("this stage distils from a teacher, but the candidate's parts carry none")
    parts.teacher.eval()
    parts.teacher.requires_grad_(False)
    return parts, parts.teacher


def _follow(teacher: nn.Module, x: Tensor) -> None:
    # The teacher lives outside the trained module, so `train` does not move it: follow the batch
    # (to its device, and to channels_last where the loop runs the student so on CUDA).
    if module_device(teacher) != x.device:
        teacher.to(x.device)
        if x.dim() == 4 and x.device.type == "cuda" and x.is_contiguous(memory_format=torch.channels_last):
            teacher.to(memory_format=torch.channels_last)


def teacher_features(teacher: nn.Module, x: Tensor, units: Sequence[int]) -> list[Tensor]:
    """Outputs of the teacher's units `units` (indices into teacher.units) for input x, no grad."""
    wanted = {u: i for i, u in enumerate(units)}
    found: list[Tensor | None] = [None] * len(units)
    _follow(teacher, x)
    out = x
    with torch.no_grad():
        for j, unit in enumerate(teacher.units[: max(units) + 1]):
            out = unit(out)
            if j in wanted:
                found[wanted[j]] = out
    return found  # type: ignore[return-value]


def _student_points(module: nn.Module, parts: DistillParts) -> list[nn.Module]:
    """The decoder (its output restores the feature at the split) and the matched tail units."""
    if module.decoder is None:
        raise ModelError("GHND matches the decoder's output, but the candidate has no decoder")
    k = parts.split_index
    return [module.decoder] + [module.tail[j - k - 1] for j in parts.matched_units]


@contextlib.contextmanager
def ghnd_objective(module: nn.Module, parts: MethodParts) -> Iterator[LossFn]:
    """Paper 002 stage 1: GHND between the student (head + decoder, then its frozen tail units)
    and the teacher, at the split and at `parts.matched_units`. The labels are not used.
    """
    parts, teacher = _with_teacher(parts)
    units = (parts.split_index, *parts.matched_units)
    with recording(module, _student_points(module, parts)) as rec:
        def loss(_logits: Tensor, _labels: Tensor) -> Tensor:
            x, student = rec.take()
            return ghnd_loss(student, teacher_features(teacher, x, units))
        yield loss


@contextlib.contextmanager
def hnd_objective(module: nn.Module, parts: MethodParts) -> Iterator[LossFn]:
    """Head network distillation (paper 002 section IV-A baseline, [17], [21]): the decoder's
    output matched to the teacher's feature at the split only.
    """
    parts, teacher = _with_teacher(parts)
    with recording(module, _student_points(module, parts)[:1]) as rec:
        def loss(_logits: Tensor, _labels: Tensor) -> Tensor:
            x, student = rec.take()
            return ghnd_loss(student, teacher_features(teacher, x, (parts.split_index,)))
        yield loss


@contextlib.contextmanager
def kd_objective(module: nn.Module, parts: MethodParts, *, alpha: float = 0.5,
                 tau: float = 1.0) -> Iterator[LossFn]:
    """`kd_loss` of the candidate's logits against the teacher's logits on the same batch."""
    _, teacher = _with_teacher(parts)
    with recording(module, ()) as rec:
        def loss(logits: Tensor, labels: Tensor) -> Tensor:
            x, _ = rec.take()
            _follow(teacher, x)
            with torch.no_grad():
                target = teacher(x)
            return kd_loss(logits, target, labels, alpha=alpha, tau=tau)
        yield loss


@contextlib.contextmanager
def reconstruction_objective(module: nn.Module, parts: MethodParts) -> Iterator[LossFn]:
    """Autoencoder training (paper 002 section IV-C): mse(decoder output, the head's feature).

    The head is frozen in that stage, so its output is a fixed target. The labels are not used.
    """
    if module.encoder is None or module.decoder is None:
        raise ModelError("reconstruction training needs an encoder and a decoder")
    with recording(module, (module.head, module.decoder)) as rec:
        def loss(_logits: Tensor, _labels: Tensor) -> Tensor:
            _, (feature, restored) = rec.take()
            return F.mse_loss(restored.float(), feature.detach().float())
        yield loss
