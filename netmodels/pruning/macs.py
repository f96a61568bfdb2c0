"""MACs of a forward pass counted from the layers that run (conv, transposed conv, linear).

See netmodels.pruning for the method (paper 001/003, section III.C)."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

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
