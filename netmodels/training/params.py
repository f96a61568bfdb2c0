"""Which parameters a training stage updates, and the module modes that go with it."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, Union

from torch import nn

from netmodels.modules import restored_modes
from splitbase import ModelError

# What `train(trainable=...)` takes: None (every parameter), a predicate of the qualified name
# and the parameter, or the parameters (or their qualified names) themselves.
Trainable = Union[None, Callable[[str, nn.Parameter], bool], Iterable[Union[nn.Parameter, str]]]


def select_trainable(module: nn.Module, trainable: Trainable) -> list[tuple[str, nn.Parameter]]:
    """(qualified name, parameter) of every parameter `trainable` selects, in module order."""
    named = list(module.named_parameters())
    if trainable is None:
        chosen = named
    elif callable(trainable):
        chosen = [(n, p) for n, p in named if trainable(n, p)]
    else:
        wanted = list(trainable)
        ids = {id(w) for w in wanted if isinstance(w, nn.Parameter)}
        names = {w for w in wanted if isinstance(w, str)}
        unknown = sorted(names - {n for n, _ in named})
        if unknown:
            raise ModelError(f"trainable parameters not in the module: {', '.join(unknown)}")
        chosen = [(n, p) for n, p in named if id(p) in ids or n in names]
        if len(chosen) < len(ids) + len(names):
            raise ModelError("some trainable parameters are not parameters of the module being trained")
    if not chosen:
        raise ModelError("nothing to train: the trainable selection picks no parameter")
    return chosen


def _all_frozen(module: nn.Module) -> bool:
    params = list(module.parameters(recurse=False))
    return bool(params) and not any(p.requires_grad for p in params)


@contextmanager
def training_modes(module: nn.Module, chosen: list[tuple[str, nn.Parameter]]) -> Iterator[None]:
    """Train only `chosen`: requires_grad on exactly them, module in training mode except
    batch-norm layers whose parameters are all frozen, which stay in eval mode so their running
    statistics do not move either (BottleNet++ step 2: "fixing other parameters in the DNN").
    requires_grad flags and every submodule's mode are restored on exit.
    """
    flags = {id(p): p.requires_grad for p in module.parameters()}
    chosen_ids = {id(p) for _, p in chosen}
    with restored_modes(module):
        try:
            for p in module.parameters():
                p.requires_grad_(id(p) in chosen_ids)
            module.train()
            for m in module.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm) and _all_frozen(m):
                    m.eval()
            yield
        finally:
            for p in module.parameters():
                p.requires_grad_(flags[id(p)])
