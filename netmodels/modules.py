"""Small helpers on torch modules that several packages need, stated once."""
from __future__ import annotations

import contextlib
import pickle
import struct
import zipfile
from typing import Iterator

import torch
from torch import nn


# What torch.load raises for a file that is not what it should be (truncated, garbage, another
# format): the loaders turn these into one clear error of their own.
UNREADABLE = (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError, struct.error, zipfile.BadZipFile)


@contextlib.contextmanager
def restored_modes(module: nn.Module) -> Iterator[None]:
    """Each submodule's training / eval mode as it was before the block, whatever the block sets."""
    modes = [(m, m.training) for m in module.modules()]
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Every submodule in eval mode inside; each one's own mode restored after."""
    with restored_modes(module):
        module.eval()
        yield


def module_device(module: nn.Module) -> torch.device:
    """The device of the module's first parameter (or buffer); the CPU for a module without any."""
    first = next(module.parameters(), None)
    if first is None:
        first = next(module.buffers(), None)
    return first.device if first is not None else torch.device("cpu")


def output_shape(module: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Shape (no batch dim) of module's output for one zero frame of `input_shape`, in eval mode
    without gradients, on the module's device."""
    with eval_mode(module), torch.no_grad():
        out = module(torch.zeros(1, *input_shape, device=module_device(module)))
    return tuple(out.shape[1:])
